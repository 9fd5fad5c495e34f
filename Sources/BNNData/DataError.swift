import BNN

/// A problem with a data or image file: missing, truncated, malformed or not what was expected.
///
/// Every case names the file and renders as one line of the form
/// `<file>: <what went wrong>: expected …, found … (hint)`, for example
/// `t10k-images-idx3-ubyte.gz: truncated: header says 10000 images of 28×28 (7840000 bytes) but only 1200 bytes follow`.
public enum DataError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A file or folder that does not exist (or cannot be read); `hint` says how to fix it.
    case missingFile(path: String, hint: String)
    /// A file that could not be read or written for a system reason.
    case unreadable(path: String, reason: String)
    /// A file that ends before its header says it should.
    case truncated(path: String, expected: String, found: String)
    /// A file with bytes after the end its header announces.
    case trailingBytes(path: String, expected: String, found: String)
    /// A file whose leading "magic" bytes are not those of the expected format.
    case badMagic(path: String, expected: String, found: String)
    /// A gzip (or zlib) stream that is damaged or cut short.
    case corruptGzip(path: String, reason: String)
    /// An image file in a format (or a variant of a format) that is not supported.
    case unsupportedImageFormat(path: String, found: String, hint: String)
    /// An image file that is recognised but malformed.
    case badImage(path: String, reason: String)
    /// Content whose SHA-256 is not the published one.
    case checksumMismatch(path: String, expected: String, found: String)
    /// A file whose dimensions (or count) are not those required.
    case wrongDimensions(path: String, expected: String, found: String)
    /// An MNIST download that failed from every mirror (the description says how to provide the files by hand).
    case downloadFailed(path: String, reason: String)
    /// A file (or its decompressed content) larger than it may be.
    case tooLarge(path: String, reason: String)
    /// A data set (a CSV table, a folder of class folders, an IDX pair) that is malformed or does not fit
    /// what reads it: `reason` says what was expected and what was found.
    case badDataSet(path: String, reason: String)

    /// The bytes of the data or image file at `path` (`InputFile.read`), with its problems as
    /// `missingFile` (with `hint`) when nothing is there and `unreadable` otherwise.
    static func readFile(_ path: String, hint: String) throws -> [UInt8] {
        do {
            return try InputFile.read(path)
        } catch InputFile.Problem.missing {
            throw DataError.missingFile(path: path, hint: hint)
        } catch let problem as InputFile.Problem {
            throw DataError.unreadable(path: path, reason: "\(problem)")
        }
    }

    /// The file (or folder) the error is about.
    public var path: String {
        switch self {
        case .missingFile(let path, _), .unreadable(let path, _), .truncated(let path, _, _),
             .trailingBytes(let path, _, _), .badMagic(let path, _, _), .corruptGzip(let path, _),
             .unsupportedImageFormat(let path, _, _), .badImage(let path, _),
             .checksumMismatch(let path, _, _), .wrongDimensions(let path, _, _), .downloadFailed(let path, _),
             .tooLarge(let path, _), .badDataSet(let path, _):
            return path
        }
    }

    public var description: String {
        switch self {
        case .missingFile(let path, let hint):
            return "\(path): not found (\(hint))"
        case .unreadable(let path, let reason):
            return "\(path): \(reason)"
        case .truncated(let path, let expected, let found):
            return "\(path): truncated: \(expected) but \(found)"
        case .trailingBytes(let path, let expected, let found):
            return "\(path): unexpected trailing bytes: \(expected) but \(found)"
        case .badMagic(let path, let expected, let found):
            return "\(path): bad magic number: expected \(expected), found \(found)"
        case .corruptGzip(let path, let reason):
            return "\(path): corrupt gzip/zlib stream: \(reason) (re-download or re-compress the file)"
        case .unsupportedImageFormat(let path, let found, let hint):
            return "\(path): unsupported image format: found \(found) (\(hint))"
        case .badImage(let path, let reason):
            return "\(path): bad image: \(reason)"
        case .checksumMismatch(let path, let expected, let found):
            return "\(path): SHA-256 mismatch: expected \(expected), found \(found)"
        case .wrongDimensions(let path, let expected, let found):
            return "\(path): wrong dimensions: expected \(expected), found \(found)"
        case .downloadFailed(let path, let reason):
            return "\(path): download failed: \(reason) (no network? \(MNIST.missingFilesHint))"
        case .tooLarge(let path, let reason):
            return "\(path): too large: \(reason)"
        case .badDataSet(let path, let reason):
            return "\(path): \(reason)"
        }
    }
}
