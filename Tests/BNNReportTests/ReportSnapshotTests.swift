import BNN
import BNNData
import Foundation
import Testing
@testable import BNNReport

/// The HTML of the fixture MNIST report with the run-dependent parts (timings, core count) fixed, so that
/// two renderings of the same evaluation can be compared byte for byte.
enum ReportSnapshot {
    static func normalisedMNISTReport() throws -> String {
        var content = try ReportFixtures.content()
        content.result.seconds = 12.5
        content.trainingSeconds = 10
        return HTMLReport.render(content)
            .replacingOccurrences(of: "\(ProcessInfo.processInfo.activeProcessorCount) cores", with: "N cores")
    }
}

@Suite struct HTMLReportSnapshotTests {
    /// Writes the normalised MNIST report to the file named by `BNN_REPORT_SNAPSHOT` (for comparing the
    /// page before and after a change to the report code); does nothing without it.
    @Test func writeMNISTSnapshotWhenAsked() throws {
        guard let path = ProcessInfo.processInfo.environment["BNN_REPORT_SNAPSHOT"] else { return }
        try ReportSnapshot.normalisedMNISTReport().write(toFile: path, atomically: true, encoding: .utf8)
    }
}
