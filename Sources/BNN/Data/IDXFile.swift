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
        let path = url.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw DataError.missingFile(path: path, hint: "set --data-dir or BNN_DATA_DIR")
        }
        guard !isDirectory.boolValue else {
            throw DataError.unreadable(path: path, reason: "is a folder, expected an IDX file")
        }
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw DataError.unreadable(path: path, reason: "\(error.localizedDescription)")
        }
        let raw = [UInt8](data)
        return Zlib.isGzip(raw) ? try Zlib.decompress(raw, format: .gzip, path: path) : raw
    }

    /// Reads and parses the IDX file at `url` (gzip or raw).
    public static func read(from url: URL) throws -> IDXFile {
        try IDXFile(parsing: readContent(of: url), path: url.path)
    }

    /// Parses decompressed IDX content; `path` names the file in errors.
    public init(parsing content: [UInt8], path: String) throws {
        guard content.count >= 4 else {
            throw DataError.truncated(
                path: path, expected: "an IDX header needs at least 4 bytes",
                found: content.isEmpty ? "the file is empty" : "only \(content.count) bytes are present")
        }
        guard content[0] == 0, content[1] == 0, content[2] == 0x08, content[3] >= 1 else {
            let found = content[0..<4].map { String(format: "%02x", $0) }.joined()
            throw DataError.badMagic(
                path: path, expected: "0x000008NN (unsigned-byte IDX, e.g. 0x00000803 images, 0x00000801 labels)",
                found: "0x\(found)")
        }
        let dimensionCount = Int(content[3])
        let headerSize = 4 + 4 * dimensionCount
        guard content.count >= headerSize else {
            throw DataError.truncated(
                path: path, expected: "a header of \(headerSize) bytes for \(dimensionCount) dimensions",
                found: "only \(content.count) bytes are present")
        }
        var dimensions: [Int] = []
        var expected = 1
        var overflow = false
        for index in 0..<dimensionCount {
            let at = 4 + 4 * index
            let size = Int(content[at]) << 24 | Int(content[at + 1]) << 16 | Int(content[at + 2]) << 8 | Int(content[at + 3])
            dimensions.append(size)
            let (product, didOverflow) = expected.multipliedReportingOverflow(by: size)
            overflow = overflow || didOverflow
            expected = product
        }
        let available = content.count - headerSize
        let described = IDXFile.describe(dimensions: dimensions)
        guard !overflow, available >= expected else {
            throw DataError.truncated(
                path: path, expected: "header says \(described) (\(overflow ? "too many" : "\(expected)") bytes)",
                found: "only \(available) bytes follow")
        }
        guard available == expected else {
            throw DataError.trailingBytes(
                path: path, expected: "header says \(described) (\(expected) bytes)",
                found: "\(available) bytes follow (\(available - expected) extra)")
        }
        self.dimensions = dimensions
        self.bytes = Array(content[headerSize...])
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

    /// Writes the file to `url`, gzip-compressed when `compressed` is true.
    public func write(to url: URL, compressed: Bool = false) throws {
        let content = compressed ? Zlib.compress(encoded(), format: .gzip) : encoded()
        do {
            try Data(content).write(to: url, options: .atomic)
        } catch {
            throw DataError.unreadable(path: url.path, reason: "cannot write: \(error.localizedDescription)")
        }
    }

    /// An IDX image file (count × rows × columns) from a tensor of shape [count, rows·columns] with
    /// values in [0, 1]; each value is rounded to the nearest of 0…255 (values outside are clamped).
    public init(images: Tensor, rows: Int, columns: Int) {
        precondition(images.shape.count == 2 && images.shape[1] == rows * columns,
                     "Expected images of shape [count, \(rows * columns)], got \(images.shape)")
        let count = images.count
        let source = images.pointer
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            for index in 0..<count {
                let value = source[index] * 255
                buffer[index] = value.isNaN || value <= 0 ? 0 : value >= 255 ? 255 : UInt8(value.rounded())
            }
            initialized = count
        }
        self.init(dimensions: [images.shape[0], rows, columns], bytes: bytes)
    }

    // MARK: Conversion

    /// `i / 255` for every byte value: exact, and a table lookup is faster than a division.
    static let byteToUnit: [Float] = (0...255).map { Float($0) / 255 }

    /// The data as Float values in [0, 1] (byte / 255), shaped [dimensions[0], product of the rest].
    public func unitTensor() -> Tensor { unitTensor(rows: 0..<(dimensions.first ?? 0)) }

    /// Items `rows` (along the first dimension) as values in 0…1, `[rows.count, item size]`.
    public func unitTensor(rows: Range<Int>) -> Tensor {
        let columns = dimensions.dropFirst().reduce(1, *)
        precondition(rows.lowerBound >= 0 && rows.upperBound <= (dimensions.first ?? 0), "rows \(rows) out of range")
        let tensor = Tensor(shape: [rows.count, columns])
        let destination = tensor.pointer
        IDXFile.byteToUnit.withUnsafeBufferPointer { table in
            bytes.withUnsafeBufferPointer { source in
                guard let table = table.baseAddress, let source = source.baseAddress else { return }
                let first = source + rows.lowerBound * columns
                for index in 0..<rows.count * columns {
                    destination[index] = table[Int(first[index])]
                }
            }
        }
        return tensor
    }
}
