import BNN
import Foundation

/// Reads an image file for `bnn predict`, choosing the decoder from the file's first bytes.
///
/// PNG (`89 50 4E 47 …`) goes to `PNGDecoder`, PGM (`P5` binary, `P2` ASCII) to `PGMDecoder`; anything
/// else is refused with a `DataError` naming the file and, when recognised, the format found.
public enum ImageFile {
    /// Decodes the image at `path` into grey values in [0, 1].
    public static func load(_ path: String) throws -> GreyImage {
        let bytes = try DataError.readFile(path, hint: "expected a PNG or PGM image file")
        return try decode(bytes, path: path)
    }

    /// Decodes image bytes; `path` names the file in errors.
    public static func decode(_ bytes: [UInt8], path: String) throws -> GreyImage {
        if bytes.starts(with: PNGDecoder.signature) { return try PNGDecoder.decode(bytes, path: path) }
        if isPGM(bytes) { return try PGMDecoder.decode(bytes, path: path) }
        throw DataError.unsupportedImageFormat(path: path, found: sniff(bytes), hint: "convert it to PNG or PGM")
    }

    /// Whether `bytes` (at least the first 8 of a file) start like a PNG or PGM image.
    static func isSupported(_ bytes: [UInt8]) -> Bool {
        bytes.starts(with: PNGDecoder.signature) || isPGM(bytes)
    }

    /// `P5` (binary) or `P2` (ASCII) PGM.
    static func isPGM(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == UInt8(ascii: "P") && (bytes[1] == UInt8(ascii: "5") || bytes[1] == UInt8(ascii: "2"))
    }

    /// A short name for a format recognised by its magic bytes.
    static func sniff(_ bytes: [UInt8]) -> String {
        if bytes.isEmpty { return "an empty file" }
        if bytes.starts(with: [0xff, 0xd8, 0xff]) { return "JPEG" }
        if bytes.starts(with: Array("GIF8".utf8)) { return "GIF" }
        if bytes.starts(with: Array("BM".utf8)) { return "BMP" }
        if bytes.count >= 12 && bytes.starts(with: Array("RIFF".utf8)) && Array(bytes[8..<12]) == Array("WEBP".utf8) { return "WebP" }
        if bytes.starts(with: [0x49, 0x49, 0x2a, 0]) || bytes.starts(with: [0x4d, 0x4d, 0, 0x2a]) { return "TIFF" }
        if bytes.count >= 2 && bytes[0] == UInt8(ascii: "P"), let kind = ["1": "PBM", "3": "PPM (colour)", "4": "PBM", "6": "PPM (colour)"][String(UnicodeScalar(bytes[1]))] {
            return "Netpbm \(kind)"
        }
        if bytes.starts(with: [0, 0, 8]) { return "an IDX file (an image set, read as a data set rather than as one image)" }
        let hex = bytes.prefix(4).map { String(format: "%02x", $0) }.joined(separator: " ")
        return "unknown leading bytes \(hex)"
    }
}
