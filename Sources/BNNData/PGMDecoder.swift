import BNN
import Foundation

/// Decodes PGM (Netpbm grey map) images: `P5` (binary) and `P2` (ASCII).
///
/// Header: magic, width, height, maxval (1…65535), separated by whitespace, with `#` comments to the
/// end of a line. P5 data follows a single whitespace byte: one byte per pixel when maxval < 256,
/// else two bytes big-endian. Values are divided by maxval; a sample above maxval, too few samples,
/// or extra bytes (other than trailing whitespace) are errors.
public enum PGMDecoder {
    /// Decodes PGM bytes; `path` names the file in errors.
    public static func decode(_ bytes: [UInt8], path: String) throws -> GreyImage {
        guard bytes.count >= 2, bytes[0] == UInt8(ascii: "P"), bytes[1] == UInt8(ascii: "5") || bytes[1] == UInt8(ascii: "2") else {
            let found = bytes.prefix(2).map { String(format: "%02x", $0) }.joined(separator: " ")
            throw DataError.badMagic(path: path, expected: "\"P5\" or \"P2\" (PGM)", found: found.isEmpty ? "an empty file" : found)
        }
        let binary = bytes[1] == UInt8(ascii: "5")
        var reader = Reader(bytes: bytes, position: 2, path: path)
        let width = try reader.integer(named: "width")
        let height = try reader.integer(named: "height")
        let maxValue = try reader.integer(named: "maxval")
        guard width > 0, height > 0 else {
            throw DataError.badImage(path: path, reason: "width and height must be positive, found \(width)×\(height)")
        }
        guard width <= 1 << 16, height <= 1 << 16, width * height <= 1 << 26 else {
            throw DataError.badImage(path: path, reason: "image of \(width)×\(height) is too large (at most 2^26 pixels)")
        }
        guard maxValue >= 1, maxValue <= 65535 else {
            throw DataError.badImage(path: path, reason: "maxval must be 1…65535, found \(maxValue)")
        }
        let count = width * height
        let scale = 1 / Float(maxValue)
        var pixels = [Float](repeating: 0, count: count)
        if binary {
            // Exactly one whitespace byte separates the header from the data.
            guard reader.position < bytes.count, Reader.isSpace(bytes[reader.position]) else {
                throw DataError.truncated(path: path, expected: "a whitespace byte and \(count) pixels after the header",
                                          found: "the file ends after the header")
            }
            let start = reader.position + 1
            let sampleSize = maxValue < 256 ? 1 : 2
            let available = bytes.count - start
            guard available >= count * sampleSize else {
                throw DataError.truncated(
                    path: path, expected: "\(width)×\(height) pixels need \(count * sampleSize) bytes",
                    found: "only \(available) bytes follow")
            }
            if let extra = bytes[(start + count * sampleSize)...].firstIndex(where: { !Reader.isSpace($0) }) {
                throw DataError.trailingBytes(
                    path: path, expected: "\(count * sampleSize) bytes of pixels", found: "more data at byte \(extra)")
            }
            for index in 0..<count {
                let value = sampleSize == 1 ? Int(bytes[start + index])
                    : Int(bytes[start + 2 * index]) << 8 | Int(bytes[start + 2 * index + 1])
                guard value <= maxValue else {
                    throw DataError.badImage(path: path, reason: "pixel \(index) is \(value), above maxval \(maxValue)")
                }
                pixels[index] = Float(value) * scale
            }
        } else {
            for index in 0..<count {
                guard let value = try reader.optionalInteger(named: "pixel \(index)") else {
                    throw DataError.truncated(path: path, expected: "\(width)×\(height) = \(count) pixel values",
                                              found: "only \(index) are present")
                }
                guard value <= maxValue else {
                    throw DataError.badImage(path: path, reason: "pixel \(index) is \(value), above maxval \(maxValue)")
                }
                pixels[index] = Float(value) * scale
            }
            if try reader.optionalInteger(named: "extra value") != nil {
                throw DataError.trailingBytes(path: path, expected: "\(count) pixel values", found: "more values follow")
            }
        }
        return GreyImage(width: width, height: height, pixels: pixels)
    }

    /// A cursor over the ASCII parts of a PGM file.
    struct Reader {
        let bytes: [UInt8]
        var position: Int
        let path: String

        static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (byte >= 0x09 && byte <= 0x0d) }

        /// Skips whitespace and comments.
        mutating func skipSpace() {
            while position < bytes.count {
                if Reader.isSpace(bytes[position]) {
                    position += 1
                } else if bytes[position] == UInt8(ascii: "#") {
                    while position < bytes.count && bytes[position] != 0x0a && bytes[position] != 0x0d { position += 1 }
                } else {
                    return
                }
            }
        }

        /// The next decimal integer, or nil at the end of the file.
        mutating func optionalInteger(named name: String) throws -> Int? {
            skipSpace()
            guard position < bytes.count else { return nil }
            var value = 0
            var digits = 0
            while position < bytes.count, bytes[position] >= 0x30, bytes[position] <= 0x39 {
                value = value * 10 + Int(bytes[position] - 0x30)
                digits += 1
                position += 1
                guard value <= 1 << 31 else { throw DataError.badImage(path: path, reason: "\(name) is too large") }
            }
            guard digits > 0 else {
                throw DataError.badImage(
                    path: path, reason: "expected a decimal number for \(name), found byte 0x\(String(format: "%02x", bytes[position])) at \(position)")
            }
            if position < bytes.count && !Reader.isSpace(bytes[position]) && bytes[position] != UInt8(ascii: "#") {
                throw DataError.badImage(path: path, reason: "\(name) is followed by byte 0x\(String(format: "%02x", bytes[position])) instead of whitespace")
            }
            return value
        }

        /// The next decimal integer; the end of the file is a truncation.
        mutating func integer(named name: String) throws -> Int {
            guard let value = try optionalInteger(named: name) else {
                throw DataError.truncated(path: path, expected: "a PGM header with width, height and maxval",
                                          found: "the file ends before the \(name)")
            }
            return value
        }
    }
}
