import Foundation
import Testing
@testable import BNN

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
