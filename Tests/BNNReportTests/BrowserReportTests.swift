import Foundation
import Testing
@testable import BNNReport

/// Opens the report in a real headless browser and requires a non-trivial screenshot.
///
/// Skipped when no Chromium is on PATH, unless `BNN_REQUIRE_BROWSER=1` (CI), which makes a missing
/// browser a failure. The screenshot stays at a fixed path under the temporary folder for people to look at.
@Suite struct BrowserReportTests {
    static func which(_ program: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for folder in path.split(separator: ":") {
            let candidate = "\(folder)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    static var browser: String? {
        ["chromium", "chromium-browser", "google-chrome"].lazy.compactMap(which).first
    }

    static var browserRequired: Bool { ProcessInfo.processInfo.environment["BNN_REQUIRE_BROWSER"] == "1" }

    // Reported as skipped (not silently passed) when there is no browser and none is required.
    @Test(.enabled(if: browser != nil || browserRequired, "no chromium on PATH (BNN_REQUIRE_BROWSER=1 makes this a failure)"))
    func reportRendersInHeadlessChromium() throws {
        guard let browser = Self.browser else {
            Issue.record("BNN_REQUIRE_BROWSER=1 but no chromium, chromium-browser or google-chrome on PATH: apt-get install chromium")
            return
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bnn-report-tests")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let report = folder.appendingPathComponent("report.html")
        let screenshot = folder.appendingPathComponent("report-screenshot.png")
        try? FileManager.default.removeItem(at: screenshot)
        try HTMLReport.write(try ReportFixtures.content(), to: report)

        // A profile of our own: another test may be running Chromium at the same time.
        let profile = folder.appendingPathComponent("profile-\(getpid())")
        defer { try? FileManager.default.removeItem(at: profile) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: browser)
        process.arguments = ["--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
                             "--user-data-dir=\(profile.path)", "--screenshot=\(screenshot.path)", "--window-size=1280,2000",
                             report.absoluteString]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.2) }
        if process.isRunning {
            process.terminate()
            Issue.record("\(browser) did not finish within 120 s")
            return
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: screenshot.path)[.size] as? Int) ?? 0
        print("report screenshot: \(screenshot.path) (\(size) bytes)")
        #expect(size > 10_000, "screenshot \(screenshot.path) is \(size) bytes (exit status \(process.terminationStatus))")
        if let data = try? Data(contentsOf: screenshot) {
            #expect(data.starts(with: [0x89, 0x50, 0x4E, 0x47]), "not a PNG")
        }
    }
}
