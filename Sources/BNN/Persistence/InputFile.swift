#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads whole input files (a model, an image, a data set), saying in a few words what is wrong when it
/// cannot: the path is missing, a folder, a FIFO or device, or the system refused (with its reason).
///
/// The file type is checked with `stat` before the file is opened, so a FIFO never blocks the reader, and
/// the reason for a failure is the system's own (`strerror`), so "permission denied" is said only when
/// that is what happened.
public enum InputFile {
    /// Why a path cannot be read as a file.
    public enum Problem: Error, Equatable, CustomStringConvertible, Sendable {
        /// Nothing exists at the path.
        case missing
        /// The path is a folder.
        case folder
        /// The path is something other than a regular file or folder ("a FIFO (named pipe)", "a device", "a socket").
        case special(String)
        /// The system refused: its message and errno, e.g. "Permission denied (errno 13)".
        case system(String)

        /// A phrase to follow the path: "is a folder, not a file", "not found", ….
        public var description: String {
            switch self {
            case .missing: return "not found"
            case .folder: return "is a folder, not a file"
            case .special(let kind): return "is \(kind), not a regular file"
            case .system(let reason): return "cannot be read: \(reason)"
            }
        }
    }

    /// The bytes of the regular file at `path`.
    ///
    /// - Throws: `InputFile.Problem`.
    public static func read(_ path: String) throws -> [UInt8] {
        var status = stat()
        guard stat(path, &status) == 0 else {
            let code = errno
            throw code == ENOENT ? Problem.missing : Problem.system(systemError(code))
        }
        try checkType(status)
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else { throw Problem.system(systemError(errno)) }
        defer { close(descriptor) }
        // Check again on the open file: the path may have been replaced since `stat`.
        guard fstat(descriptor, &status) == 0 else { throw Problem.system(systemError(errno)) }
        try checkType(status)
        var bytes = [UInt8]()
        bytes.reserveCapacity(Int(status.st_size))
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = chunk.withUnsafeMutableBytes { readSystemCall(descriptor, $0.baseAddress!, $0.count) }
            if count == 0 { return bytes }
            if count < 0 {
                if errno == EINTR { continue }
                throw Problem.system(systemError(errno))
            }
            bytes.append(contentsOf: chunk[0..<count])
        }
    }

    /// Nothing, or the problem when `status` is not that of a regular file.
    private static func checkType(_ status: stat) throws {
        switch status.st_mode & S_IFMT {
        case S_IFREG: return
        case S_IFDIR: throw Problem.folder
        case S_IFIFO: throw Problem.special("a FIFO (named pipe)")
        case S_IFSOCK: throw Problem.special("a socket")
        case S_IFCHR, S_IFBLK: throw Problem.special("a device")
        default: throw Problem.special("an unknown kind of file")
        }
    }

    /// The system's message for `code`, with the number: "Permission denied (errno 13)".
    static func systemError(_ code: Int32) -> String {
        String(cString: strerror(code)) + " (errno \(code))"
    }
}

/// `read(2)`, outside `InputFile`, whose own `read` would hide it.
private func readSystemCall(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(descriptor, buffer, count)
}
