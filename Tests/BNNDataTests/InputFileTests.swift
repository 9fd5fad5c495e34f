import Foundation
import Testing
@testable import BNN
@testable import BNNData

/// A folder, a FIFO, a missing file and an unreadable file each get one line naming the path and the
/// problem; a FIFO is refused without opening it (which would block).
@Suite struct InputFileTests {
    @Test func folderIsSaidToBeAFolder() throws {
        let folder = try TemporaryFolder()
        let image = dataError { _ = try ImageFile.load(folder.url.path) }
        #expect(image == .unreadable(path: folder.url.path, reason: "is a folder, not a file"))
        #expect(image?.description == "\(folder.url.path): is a folder, not a file")
        let idx = dataError { _ = try IDXFile.read(from: folder.url) }
        #expect(idx == .unreadable(path: folder.url.path, reason: "is a folder, not a file"))
        #expect(throws: PersistenceError.readFailed(file: folder.url.path, reason: "is a folder, not a file")) {
            _ = try BayesianClassifier.load(from: folder.url)
        }
    }

    @Test func fifoIsRefusedWithoutBlocking() throws {
        let folder = try TemporaryFolder()
        let path = folder.url.appendingPathComponent("pipe.png").path
        try #require(mkfifo(path, 0o600) == 0)
        let image = dataError { _ = try ImageFile.load(path) }
        #expect(image?.description == "\(path): is a FIFO (named pipe), not a regular file")
        #expect(throws: PersistenceError.readFailed(file: path, reason: "is a FIFO (named pipe), not a regular file")) {
            _ = try BayesianClassifier.load(from: URL(fileURLWithPath: path))
        }
    }

    /// A folder that cannot be made gets the system's reason, not Foundation's "You don't have permission"
    /// (which it says for any failure, as root too).
    @Test func folderThatCannotBeMadeGivesTheSystemsReason() throws {
        let folder = try TemporaryFolder()
        let file = try folder.write([1], to: "a-file")
        let inside = file.appendingPathComponent("models")
        #expect(throws: PersistenceError.writeFailed(path: inside.path, reason: "cannot create the folder: Not a directory (errno \(ENOTDIR))")) {
            try AtomicFile.createFolder(inside)
        }
    }

    @Test func missingFileIsNotFound() throws {
        let folder = try TemporaryFolder()
        let path = folder.url.appendingPathComponent("nothing.png").path
        #expect(dataError { _ = try ImageFile.load(path) } == .missingFile(path: path, hint: "expected a PNG or PGM image file"))
        #expect(throws: InputFile.Problem.missing) { _ = try InputFile.read(path) }
    }

    /// The system's own reason, never Foundation's "NSCocoaErrorDomain error 256"; "permission" only when the
    /// system said so (root may read anything, so this part runs only for other users).
    @Test func unreadableFileGivesTheSystemsReason() throws {
        let folder = try TemporaryFolder()
        let url = try folder.write([1, 2, 3], to: "locked.png")
        try #require(chmod(url.path, 0) == 0)
        defer { chmod(url.path, 0o600) }
        if getuid() == 0 {
            #expect(try InputFile.read(url.path) == [1, 2, 3])
        } else {
            #expect(dataError { _ = try ImageFile.load(url.path) }?.description
                    == "\(url.path): cannot be read: Permission denied (errno \(EACCES))")
        }
        let notDirectory = url.appendingPathComponent("inside.png").path
        let error = dataError { _ = try ImageFile.load(notDirectory) }
        #expect(error?.description == "\(notDirectory): cannot be read: Not a directory (errno \(ENOTDIR))")
        #expect(error?.description.contains("NSCocoaErrorDomain") == false)
    }
}
