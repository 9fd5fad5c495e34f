import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Crash-safe whole-file writes.
///
/// `write(_:to:)` writes the bytes to a new temporary file in the target's directory, flushes it to
/// disk (`fsync`), then renames it over the target with POSIX `rename`, which replaces the directory
/// entry atomically. A reader sees either the complete old file or the complete new one; a crash or an
/// error mid-save never leaves a half-written target, and the temporary file is removed on failure.
///
/// The temporary file is named `.<name>.tmp-<pid>-<random>` beside the target, so that one left behind by
/// a killed process is recognisable; each save removes those of the same target whose process is gone.
/// This is the one routine every file this project writes goes through.
public enum AtomicFile {
    /// Atomically replaces (or creates) the file at `url` with `data`.
    ///
    /// - Throws: `PersistenceError.writeFailed` naming the path and the system error.
    public static func write(_ data: Data, to url: URL) throws {
        try write(data, to: url, beforeRename: nil)
    }

    /// The implementation, with a hook that tests use to simulate a failure (a crash) after the
    /// temporary file is complete but before it replaces the target.
    static func write(_ data: Data, to url: URL, beforeRename: ((String) throws -> Void)?) throws {
        let target = url.standardizedFileURL
        let path = target.path
        let directory = target.deletingLastPathComponent().path
        let base = target.lastPathComponent
        guard !base.isEmpty, base != "/" else {
            throw PersistenceError.writeFailed(path: path, reason: "not a file path")
        }

        removeStaleTemporaryFiles(directory: directory, base: base)

        // A unique name in the same directory (rename is only atomic within one file system).
        var descriptor: Int32 = -1
        var temporaryPath = ""
        for _ in 0..<16 {
            let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 36)
            temporaryPath = directory + "/" + temporaryPrefix(base) + "\(getpid())-" + suffix
            descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if descriptor >= 0 || errno != EEXIST { break }
        }
        guard descriptor >= 0 else {
            throw PersistenceError.writeFailed(
                path: path, reason: "cannot create a temporary file in \(directory): \(InputFile.systemError(errno))")
        }

        var closed = false
        do {
            try data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
                var offset = 0
                while offset < bytes.count {
                    let written = systemWrite(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        throw PersistenceError.writeFailed(path: path, reason: "write failed: \(InputFile.systemError(errno))")
                    }
                    offset += written
                }
            }
            if fsync(descriptor) != 0 {
                throw PersistenceError.writeFailed(path: path, reason: "fsync failed: \(InputFile.systemError(errno))")
            }
            closed = true
            if close(descriptor) != 0 {
                throw PersistenceError.writeFailed(path: path, reason: "close failed: \(InputFile.systemError(errno))")
            }
            try beforeRename?(temporaryPath)
            if rename(temporaryPath, path) != 0 {
                throw PersistenceError.writeFailed(path: path, reason: "rename failed: \(InputFile.systemError(errno))")
            }
        } catch {
            if !closed { close(descriptor) }
            unlink(temporaryPath)
            if error is PersistenceError { throw error }
            throw PersistenceError.writeFailed(path: path, reason: "\(error)")
        }

        // Make the rename itself durable; failing to sync the directory does not undo the save.
        let directoryDescriptor = open(directory, O_RDONLY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            _ = fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }

    /// Checks, before any long work, that `write(_:to:)` could save to `url`: its folder exists and the
    /// process may create files in it (tried by creating and removing an empty temporary file), and `url`
    /// is not a folder.
    ///
    /// - Throws: `PersistenceError.writeFailed` naming the path and the reason.
    public static func checkWritable(_ url: URL) throws {
        let target = url.standardizedFileURL
        let path = target.path
        let directory = target.deletingLastPathComponent().path
        var status = stat()
        if stat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFDIR {
            throw PersistenceError.writeFailed(path: path, reason: "is a folder")
        }
        guard stat(directory, &status) == 0 else {
            throw PersistenceError.writeFailed(path: path, reason: "the folder \(directory) cannot be used: \(InputFile.systemError(errno))")
        }
        guard status.st_mode & S_IFMT == S_IFDIR else {
            throw PersistenceError.writeFailed(path: path, reason: "\(directory) is not a folder")
        }
        let probe = directory + "/" + temporaryPrefix(target.lastPathComponent) + "\(getpid())-probe"
        let descriptor = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw PersistenceError.writeFailed(path: path, reason: "cannot create files in \(directory): \(InputFile.systemError(errno))")
        }
        close(descriptor)
        unlink(probe)
    }

    /// Creates the folder at `url` and any missing parents (nothing when it exists).
    ///
    /// - Throws: `PersistenceError.writeFailed` naming the folder and the system's reason (`mkdir`'s
    ///   errno: Foundation says only "NSCocoaErrorDomain error 512" or "You don't have permission").
    public static func createFolder(_ url: URL) throws {
        let path = url.standardizedFileURL.path
        var current = ""
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw PersistenceError.writeFailed(path: path, reason: "cannot create the folder: \(InputFile.systemError(errno))")
            }
        }
        var status = stat()
        guard stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFDIR else {
            throw PersistenceError.writeFailed(path: path, reason: "cannot create the folder: a file of that name exists")
        }
    }

    /// The start of the names of `base`'s temporary files: `.<base>.tmp-`.
    static func temporaryPrefix(_ base: String) -> String { "." + base + ".tmp-" }

    /// Removes the temporary files of `base` in `directory` left by processes that no longer run (killed
    /// mid-save). Those of running processes (a save in progress) are left alone; failures are ignored,
    /// since a leftover file costs only space.
    static func removeStaleTemporaryFiles(directory: String, base: String) {
        let prefix = temporaryPrefix(base)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names where name.hasPrefix(prefix) {
            guard let pid = Int32(name.dropFirst(prefix.count).prefix { $0 != "-" }), pid > 0 else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { unlink(directory + "/" + name) }
        }
    }

    private static func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
        #if canImport(Glibc)
        return Glibc.write(fd, buffer, count)
        #else
        return Darwin.write(fd, buffer, count)
        #endif
    }
}
