import BNN
import CZlib

/// zlib and gzip compression through the system zlib, one buffer in, one buffer out.
///
/// Decompression is streaming (the output grows as data arrives, up to a limit), refuses streams that
/// stop before their end marker or whose check value is wrong, and refuses bytes after the end of the
/// stream (except further gzip members, which `gzip` allows to be concatenated).
public enum Zlib {
    /// The container around a deflate stream.
    public enum Format: Sendable {
        /// RFC 1950 (zlib header and Adler-32), as in PNG `IDAT`.
        case zlib
        /// RFC 1952 (gzip header and CRC-32), as in `.gz` files.
        case gzip
        /// Either, detected from the header (decompression only; compresses as gzip).
        case automatic
    }

    /// Why a stream could not be decompressed.
    enum Failure: Error, Equatable {
        case empty
        case truncated(produced: Int)
        case corrupt(String)
        case trailing(Int)
        /// The output would pass `limit` bytes; `declared` when the limit is the size the content itself declares.
        case tooLarge(limit: Int, declared: Bool)
    }

    /// The most bytes `decompress` produces when the caller states no smaller limit (1 GiB): far more than
    /// any data set or image here needs, and small enough that a decompression bomb fails before it
    /// exhausts memory.
    public static let maximumOutputBytes = 1 << 30

    /// True when `bytes` start with the gzip magic `1f 8b`.
    public static func isGzip(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b
    }

    /// Decompresses `input`, throwing a `DataError` naming `path` on any damage.
    ///
    /// The output buffer grows as data arrives; the size the gzip trailer claims is never trusted.
    ///
    /// - Parameters:
    ///   - limit: the most bytes the output may hold; more is `DataError.tooLarge`.
    ///   - declaredSize: reads the output so far and returns the total size its content declares (for
    ///     example from a file header), or nil while too little has arrived to tell; may throw to refuse
    ///     the content early. Once known, the output may not pass it either, so a stream that inflates
    ///     beyond what its own header needs stops at once.
    public static func decompress(
        _ input: [UInt8], format: Format = .automatic, path: String, limit: Int = maximumOutputBytes,
        declaredSize: ((ArraySlice<UInt8>) throws -> Int?)? = nil
    ) throws -> [UInt8] {
        do {
            return try inflateAll(input, format: format, limit: limit, declaredSize: declaredSize)
        } catch let failure as Failure {
            switch failure {
            case .empty: throw DataError.corruptGzip(path: path, reason: "the compressed stream is empty")
            case .truncated(let produced):
                throw DataError.corruptGzip(
                    path: path, reason: "the stream ends early (cut short after \(produced) decompressed bytes)")
            case .corrupt(let message): throw DataError.corruptGzip(path: path, reason: message)
            case .trailing(let count):
                throw DataError.corruptGzip(path: path, reason: "\(count) unexpected bytes after the end of the stream")
            case .tooLarge(let limit, let declared):
                throw DataError.tooLarge(
                    path: path,
                    reason: declared ? "decompresses to more than the \(limit) bytes its content declares (a damaged file or a decompression bomb)"
                        : "decompresses to more than \(limit) bytes, the most accepted")
            }
        }
    }

    /// The decompression loop; throws `Failure`, or what `declaredSize` throws.
    static func inflateAll(
        _ input: [UInt8], format: Format, limit: Int = maximumOutputBytes,
        declaredSize: ((ArraySlice<UInt8>) throws -> Int?)? = nil
    ) throws -> [UInt8] {
        guard !input.isEmpty else { throw Failure.empty }
        let windowBits: Int32
        switch format {
        case .zlib: windowBits = 15
        case .gzip: windowBits = 15 + 16
        case .automatic: windowBits = 15 + 32
        }
        var stream = z_stream()
        guard inflateInit2_(&stream, windowBits, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw Failure.corrupt("zlib could not be initialised")
        }
        defer { inflateEnd(&stream) }

        // The buffer holds at most `allowed + 1` bytes: one byte past the limit is how an oversize stream shows.
        var allowed = min(max(0, limit), Int.max - 1)
        var declared = false
        var output = [UInt8](repeating: 0, count: min(allowed + 1, 1 << 16))
        var produced = 0
        var consumed = 0
        let chunk = 1 << 30

        try input.withUnsafeBufferPointer { source in
            guard let sourceBase = source.baseAddress else { throw Failure.empty }
            while true {
                if produced == output.count {
                    let grown = min(allowed + 1, output.count > allowed / 2 ? allowed + 1 : output.count * 2)
                    output.append(contentsOf: repeatElement(0, count: grown - output.count))
                }
                let given = min(source.count - consumed, chunk)
                let room = min(output.count - produced, chunk)
                stream.next_in = UnsafeMutablePointer(mutating: sourceBase + consumed)
                stream.avail_in = UInt32(given)
                let status: Int32 = output.withUnsafeMutableBufferPointer { destination in
                    stream.next_out = destination.baseAddress! + produced
                    stream.avail_out = UInt32(room)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                consumed += given - Int(stream.avail_in)
                produced += room - Int(stream.avail_out)
                // The buffer keeps growing by doubling: a declared size is a limit, never an allocation.
                if !declared, let declaredSize, let size = try declaredSize(output[0..<produced]) {
                    declared = size <= allowed
                    allowed = min(allowed, max(0, size))
                }
                if produced > allowed { throw Failure.tooLarge(limit: allowed, declared: declared) }
                switch status {
                case Z_STREAM_END:
                    guard consumed < source.count else { return }
                    // Another gzip member may follow (concatenated .gz files are valid gzip).
                    if format != .zlib, source.count - consumed >= 2,
                       source[consumed] == 0x1f, source[consumed + 1] == 0x8b {
                        guard inflateReset(&stream) == Z_OK else { throw Failure.corrupt("zlib reset failed") }
                        continue
                    }
                    throw Failure.trailing(source.count - consumed)
                case Z_OK, Z_BUF_ERROR:
                    // Output space left but no more input: the stream was cut short.
                    if consumed == source.count && stream.avail_out > 0 { throw Failure.truncated(produced: produced) }
                case Z_NEED_DICT:
                    throw Failure.corrupt("the stream needs a preset dictionary")
                case Z_MEM_ERROR:
                    throw Failure.corrupt("out of memory")
                default:
                    let message = stream.msg.map { String(cString: $0) } ?? "status \(status)"
                    throw Failure.corrupt(message)
                }
            }
        }
        output.removeSubrange(produced...)
        return output
    }

    /// Compresses `input` as a zlib or gzip stream (`.automatic` means gzip).
    public static func compress(_ input: [UInt8], format: Format = .gzip, level: Int32 = 6) -> [UInt8] {
        let windowBits: Int32 = format == .zlib ? 15 : 15 + 16
        var stream = z_stream()
        let status = deflateInit2_(
            &stream, level, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY, zlibVersion(),
            Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK, "zlib deflateInit2 failed with status \(status)")
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))) + 64)
        var produced = 0
        var consumed = 0
        input.withUnsafeBufferPointer { source in
            while true {
                if produced == output.count { output.append(contentsOf: repeatElement(0, count: output.count)) }
                let given = min(source.count - consumed, 1 << 30)
                let room = min(output.count - produced, 1 << 30)
                stream.next_in = source.baseAddress.map { UnsafeMutablePointer(mutating: $0 + consumed) }
                stream.avail_in = UInt32(given)
                let flush = consumed + given == source.count ? Z_FINISH : Z_NO_FLUSH
                let result: Int32 = output.withUnsafeMutableBufferPointer { destination in
                    stream.next_out = destination.baseAddress! + produced
                    stream.avail_out = UInt32(room)
                    return deflate(&stream, flush)
                }
                consumed += given - Int(stream.avail_in)
                produced += room - Int(stream.avail_out)
                if result == Z_STREAM_END { return }
                precondition(result == Z_OK || result == Z_BUF_ERROR, "zlib deflate failed with status \(result)")
            }
        }
        output.removeSubrange(produced...)
        return output
    }

    /// The CRC-32 (ISO 3309, as used by PNG and gzip) of `bytes`, continuing from `initial`.
    public static func crc32(_ bytes: UnsafeRawBufferPointer, initial: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return initial }
        var crc = uLong(initial)
        var offset = 0
        while offset < bytes.count {
            let length = min(bytes.count - offset, 1 << 30)
            crc = CZlib.crc32(crc, base.assumingMemoryBound(to: Bytef.self) + offset, uInt(length))
            offset += length
        }
        return UInt32(truncatingIfNeeded: crc)
    }

    /// The CRC-32 of a byte array.
    public static func crc32(_ bytes: [UInt8], initial: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { crc32($0, initial: initial) }
    }
}
