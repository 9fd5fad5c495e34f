import BNN
import Foundation

/// An IDX file of unsigned bytes, the format of MNIST (LeCun et al.): a big-endian header, then data.
///
/// Header: two zero bytes, a type byte (`0x08` = unsigned byte, the only type supported), the number
/// of dimensions `d`, then `d` big-endian 32-bit sizes. MNIST images are `0x00000803` (count × rows ×
/// columns), labels `0x00000801` (count). The data must be exactly the product of the sizes: fewer
/// bytes is a truncated file, more is refused too. Files may be gzip-compressed (detected by the
/// `1f 8b` magic) or raw.
public struct IDXFile: Sendable, Equatable {
    /// The size of each dimension, outermost first.
    public let dimensions: [Int]
    /// The data bytes in row-major order (`dimensions.reduce(1, *)` of them).
    public let bytes: [UInt8]

    /// Creates a file from dimensions and matching data.
    public init(dimensions: [Int], bytes: [UInt8]) {
        precondition(!dimensions.isEmpty && dimensions.count <= 255 && dimensions.allSatisfy { $0 >= 0 && $0 <= Int(UInt32.max) },
                     "IDX dimensions must be 1–255 sizes below 2^32, got \(dimensions)")
        precondition(dimensions.reduce(1, *) == bytes.count,
                     "IDX dimensions \(dimensions) need \(dimensions.reduce(1, *)) bytes, got \(bytes.count)")
        self.dimensions = dimensions
        self.bytes = bytes
    }

    // MARK: Reading

    /// Reads the whole file at `url`, decompressing it if it is gzip.
    ///
    /// - Returns: the decompressed content (what checksums are computed over).
    public static func readContent(of url: URL) throws -> [UInt8] {
        let raw = try DataError.readFile(url.path, hint: "expected an IDX file, raw or gzip-compressed")
        return try decompressIfNeeded(raw, path: url.path)
    }

    /// `raw` itself, or its gzip content, which may not grow past the size its IDX header declares (nor
    /// past `Zlib.maximumOutputBytes`): a stream that inflates beyond it stops as soon as it does.
    public static func decompressIfNeeded(_ raw: [UInt8], path: String) throws -> [UInt8] {
        guard Zlib.isGzip(raw) else { return raw }
        return try Zlib.decompress(raw, format: .gzip, path: path) { prefix in
            try Header(prefix, path: path).map { $0.size + $0.dataSize }
        }
    }

    /// Reads and parses the IDX file at `url` (gzip or raw).
    public static func read(from url: URL) throws -> IDXFile {
        try IDXFile(parsing: readContent(of: url), path: url.path)
    }

    /// The header at the start of IDX content: its size in bytes, the dimensions and the data size they
    /// state (checked arithmetic).
    struct Header {
        var dimensions: [Int]
        var size: Int
        var dataSize: Int

        /// The header of `content`, nil when `content` is too short to hold all of it.
        ///
        /// - Throws: `DataError.badMagic` when the first four bytes are not an unsigned-byte IDX magic,
        ///   `DataError.tooLarge` when the dimensions' product does not fit in memory.
        init?(_ content: some Collection<UInt8>, path: String) throws {
            let bytes = Array(content.prefix(4 + 4 * 255))
            guard bytes.count >= 4 else { return nil }
            guard bytes[0] == 0, bytes[1] == 0, bytes[2] == 0x08, bytes[3] >= 1 else {
                let found = bytes[0..<4].map { String(format: "%02x", $0) }.joined()
                throw DataError.badMagic(
                    path: path, expected: "0x000008NN (unsigned-byte IDX, e.g. 0x00000803 images, 0x00000801 labels)",
                    found: "0x\(found)")
            }
            let dimensionCount = Int(bytes[3])
            size = 4 + 4 * dimensionCount
            guard bytes.count >= size else { return nil }
            dimensions = (0..<dimensionCount).map { index in
                bytes[4 + 4 * index..<8 + 4 * index].reduce(0) { $0 << 8 | Int($1) }
            }
            var product = 1
            for dimension in dimensions {
                let (next, overflow) = product.multipliedReportingOverflow(by: dimension)
                guard !overflow, next <= Int.max - size else {
                    throw DataError.tooLarge(
                        path: path, reason: "the header says \(IDXFile.describe(dimensions: dimensions)), more bytes than any memory holds")
                }
                product = next
            }
            dataSize = product
        }
    }

    /// Parses decompressed IDX content; `path` names the file in errors.
    public init(parsing content: [UInt8], path: String) throws {
        guard let header = try Header(content, path: path) else {
            throw DataError.truncated(
                path: path,
                expected: content.count < 4 ? "an IDX header needs at least 4 bytes"
                    : "a header of \(4 + 4 * Int(content[3])) bytes for \(content[3]) dimensions",
                found: content.isEmpty ? "the file is empty" : "only \(content.count) bytes are present")
        }
        let available = content.count - header.size
        let expected = header.dataSize
        let described = IDXFile.describe(dimensions: header.dimensions)
        guard available >= expected else {
            throw DataError.truncated(
                path: path, expected: "header says \(described) (\(expected) bytes)", found: "only \(available) bytes follow")
        }
        guard available == expected else {
            throw DataError.trailingBytes(
                path: path, expected: "header says \(described) (\(expected) bytes)",
                found: "\(available) bytes follow (\(available - expected) extra)")
        }
        self.dimensions = header.dimensions
        self.bytes = Array(content[header.size...])
    }

    /// "10000 images of 28×28" for 3-D, "60000 labels" for 1-D, "2×3×4 values" otherwise.
    static func describe(dimensions: [Int]) -> String {
        switch dimensions.count {
        case 1: return "\(dimensions[0]) labels"
        case 3: return "\(dimensions[0]) images of \(dimensions[1])×\(dimensions[2])"
        default: return dimensions.map(String.init).joined(separator: "×") + " values"
        }
    }

    // MARK: Writing

    /// The file's bytes: header then data, uncompressed.
    public func encoded() -> [UInt8] {
        var result: [UInt8] = [0, 0, 0x08, UInt8(dimensions.count)]
        result.reserveCapacity(4 + 4 * dimensions.count + bytes.count)
        for size in dimensions {
            let value = UInt32(size)
            result += [UInt8(value >> 24), UInt8((value >> 16) & 0xff), UInt8((value >> 8) & 0xff), UInt8(value & 0xff)]
        }
        result += bytes
        return result
    }

    /// Writes the file to `url` atomically (`AtomicFile`), gzip-compressed when `compressed` is true.
    ///
    /// - Throws: `PersistenceError.writeFailed` naming the path and the system error.
    public func write(to url: URL, compressed: Bool = false) throws {
        try AtomicFile.write(Data(compressed ? Zlib.compress(encoded(), format: .gzip) : encoded()), to: url)
    }

    /// An IDX image file (count × rows × columns) from a tensor of shape [count, rows·columns] with
    /// values in [0, 1]; each value is rounded to the nearest of 0…255 (values outside are clamped).
    public init(images: Tensor, rows: Int, columns: Int) {
        precondition(images.shape.count == 2 && images.shape[1] == rows * columns,
                     "Expected images of shape [count, \(rows * columns)], got \(images.shape)")
        let bytes = GreyLevels.quantize(images.pointer, count: images.count)
        self.init(dimensions: [images.shape[0], rows, columns], bytes: bytes)
    }

    // MARK: Conversion

    /// The data as Float values in [0, 1] (byte / 255), shaped [dimensions[0], product of the rest].
    public func unitTensor() -> Tensor { unitTensor(rows: 0..<(dimensions.first ?? 0)) }

    /// Item `item` (along the first dimension) as values in 0…1.
    public func unitValues(item: Int) -> [Float] {
        let size = dimensions.dropFirst().reduce(1, *)
        precondition(item >= 0 && item < (dimensions.first ?? 0), "item \(item) out of range")
        return bytes[(item * size)..<((item + 1) * size)].map { GreyLevels.values[Int($0)] }
    }

    /// Items `rows` (along the first dimension) as values in 0…1, `[rows.count, item size]`.
    public func unitTensor(rows: Range<Int>) -> Tensor {
        let columns = dimensions.dropFirst().reduce(1, *)
        precondition(rows.lowerBound >= 0 && rows.upperBound <= (dimensions.first ?? 0), "rows \(rows) out of range")
        let tensor = Tensor(shape: [rows.count, columns])
        GreyLevels.expand(bytes, from: rows.lowerBound * columns, count: rows.count * columns, into: tensor.pointer)
        return tensor
    }
}
