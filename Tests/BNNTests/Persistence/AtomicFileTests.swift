import Foundation
import Testing
@testable import BNN
import BNNData

@Suite struct AtomicFileTests {
    @Test func createsAndReplacesWithoutLeftovers() throws {
        let directory = try makePersistenceTestDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("model.bin")
        try AtomicFile.write(Data("first".utf8), to: url)
        #expect(try Data(contentsOf: url) == Data("first".utf8))
        try AtomicFile.write(Data("second, longer".utf8), to: url)
        #expect(try Data(contentsOf: url) == Data("second, longer".utf8))
        try AtomicFile.write(Data(), to: url)
        #expect(try Data(contentsOf: url).isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["model.bin"])
    }

    /// A failure after the new bytes are on disk but before the rename (as a crash would be) leaves
    /// the good file untouched and removes the temporary file.
    @Test func failureBeforeRenameKeepsTheOldFile() throws {
        struct SimulatedCrash: Error {}
        let directory = try makePersistenceTestDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("model.safetensors")
        try AtomicFile.write(Data("good".utf8), to: url)
        var temporary = ""
        #expect(throws: PersistenceError.self) {
            try AtomicFile.write(Data("bad".utf8), to: url) { path in
                temporary = path
                // The temporary file is complete and beside the target.
                #expect(FileManager.default.contents(atPath: path) == Data("bad".utf8))
                #expect(URL(fileURLWithPath: path).deletingLastPathComponent().standardizedFileURL.path
                    == directory.standardizedFileURL.path)
                throw SimulatedCrash()
            }
        }
        #expect(!temporary.isEmpty && !FileManager.default.fileExists(atPath: temporary))
        #expect(try Data(contentsOf: url) == Data("good".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["model.safetensors"])
    }

    /// Renaming a file onto a non-empty directory fails even as root: the directory and its content
    /// survive, the error names the path, and no temporary file remains.
    @Test func renameOntoADirectoryFailsCleanly() throws {
        let directory = try makePersistenceTestDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let target = directory.appendingPathComponent("occupied")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: false)
        let inner = target.appendingPathComponent("keep.txt")
        try Data("keep".utf8).write(to: inner)
        do {
            try SafeTensorsFile(tensors: [(name: "a", tensor: Tensor(shape: [1]))]).write(to: target)
            Issue.record("wrote over a directory")
        } catch let error as PersistenceError {
            guard case let .writeFailed(path, _) = error else { Issue.record("wrong error \(error)"); return }
            #expect(path == target.standardizedFileURL.path)
            #expect(error.description.hasPrefix(path + ": "))
        }
        #expect(try Data(contentsOf: inner) == Data("keep".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["occupied"])
    }

    @Test func missingDirectoryIsAnError() throws {
        let url = URL(fileURLWithPath: "/nonexistent-\(UUID().uuidString)/model.bin")
        #expect(throws: PersistenceError.self) { try AtomicFile.write(Data("x".utf8), to: url) }
    }
}

/// Temporary files are named `.<name>.tmp-<pid>-<random>` beside the target; a save removes those of the
/// same target left by processes that are gone (killed mid-save), and leaves everything else alone.
@Suite struct AtomicFileLeftoverTests {
    /// A process id that no running process has.
    static func deadProcessID() -> Int32 {
        var pid: Int32 = 4_000_000
        while kill(pid, 0) == 0 || errno != ESRCH { pid -= 1 }
        return pid
    }

    @Test func staleTemporaryFilesOfTheSameTargetAreRemoved() throws {
        let directory = try makePersistenceTestDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let stale = ".model.safetensors.tmp-\(Self.deadProcessID())-x1y2"
        let live = ".model.safetensors.tmp-\(getpid())-inprogress"
        let other = ".other.safetensors.tmp-\(Self.deadProcessID())-x1y2"
        for name in [stale, live, other] {
            try Data("partial".utf8).write(to: directory.appendingPathComponent(name))
        }
        try AtomicFile.write(Data("model".utf8), to: directory.appendingPathComponent("model.safetensors"))
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: directory.path))
        #expect(names == ["model.safetensors", live, other])
    }

    /// The temporary file is named recognisably beside the target.
    @Test func temporaryFileIsNamedAfterTheTarget() throws {
        let directory = try makePersistenceTestDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var temporary = ""
        try AtomicFile.write(Data("x".utf8), to: directory.appendingPathComponent("report.html")) { temporary = $0 }
        let name = URL(fileURLWithPath: temporary).lastPathComponent
        #expect(name.hasPrefix(".report.html.tmp-\(getpid())-"), "\(name)")
        #expect(URL(fileURLWithPath: temporary).deletingLastPathComponent().standardizedFileURL == directory.standardizedFileURL)
    }

    /// Data files go through the same routine (IDX files written by tests and by the MNIST download).
    @Test func idxFilesAreWrittenThroughAtomicFile() throws {
        let directory = try makePersistenceTestDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let stale = ".images.idx.tmp-\(Self.deadProcessID())-abc"
        try Data("partial".utf8).write(to: directory.appendingPathComponent(stale))
        try IDXFile(dimensions: [2], bytes: [1, 2]).write(to: directory.appendingPathComponent("images.idx"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["images.idx"])
    }
}
