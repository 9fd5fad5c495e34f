import Foundation

/// A problem reading or writing a model file. Every message is one line that names the file and says
/// what was expected and what was found.
public enum PersistenceError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file could not be read at all (missing, permissions, …).
    case readFailed(file: String, reason: String)
    /// The file could not be written; the previous file, if any, is unchanged.
    case writeFailed(path: String, reason: String)
    /// Fewer than the 8 bytes that hold the header length.
    case fileTooShort(file: String, size: Int)
    /// The header length is larger than the file or than the 100 MB sanity limit.
    case headerTooLarge(file: String, headerLength: UInt64, fileSize: Int)
    /// The header is not UTF-8 JSON, or not a JSON object, or `__metadata__` is not string → string.
    case invalidHeader(file: String, reason: String)
    /// A tensor entry lacks `dtype`, `shape` or `data_offsets`, or one of them has the wrong type.
    case invalidEntry(file: String, tensor: String, reason: String)
    /// A dtype this reader does not convert (it reads F32, F64, F16 and BF16).
    case unsupportedDType(file: String, tensor: String, dtype: String)
    /// A shape with a negative dimension.
    case negativeDimension(file: String, tensor: String, shape: [Int])
    /// The byte span given by `data_offsets` does not match the element count × dtype size.
    case sizeMismatch(file: String, tensor: String, shape: [Int], dtype: String, expectedBytes: Int?, spanBytes: Int)
    /// `data_offsets` is not `[begin, end]` with `0 ≤ begin ≤ end`.
    case offsetsOutOfRange(file: String, tensor: String, begin: Int, end: Int)
    /// Two tensors claim the same bytes.
    case overlappingTensors(file: String, first: String, second: String)
    /// Bytes of the data buffer that no tensor claims (a gap between tensors, or trailing bytes).
    case uncoveredData(file: String, from: Int, to: Int)
    /// The same tensor name twice.
    case duplicateName(file: String, tensor: String)
    /// The data buffer is shorter than the header says.
    case truncated(file: String, expectedBytes: Int, actualBytes: Int)

    public var description: String {
        switch self {
        case let .readFailed(file, reason):
            return "\(file): \(reason)"
        case let .writeFailed(path, reason):
            return "\(path): cannot save the file (any previous file is unchanged): \(reason)"
        case let .fileTooShort(file, size):
            return "\(file): not a safetensors file: \(size) bytes, shorter than the 8-byte header length"
        case let .headerTooLarge(file, length, size):
            return "\(file): not a safetensors file: header length \(length) bytes exceeds the file size "
                + "(\(size) bytes) or the 100 MB limit"
        case let .invalidHeader(file, reason):
            return "\(file): invalid safetensors header: \(reason)"
        case let .invalidEntry(file, tensor, reason):
            return "\(file): tensor \"\(tensor)\": \(reason)"
        case let .unsupportedDType(file, tensor, dtype):
            return "\(file): tensor \"\(tensor)\" has dtype \(dtype); supported dtypes are F32, F64, F16, BF16"
        case let .negativeDimension(file, tensor, shape):
            return "\(file): tensor \"\(tensor)\" has a negative dimension in shape \(shape)"
        case let .sizeMismatch(file, tensor, shape, dtype, expected, span):
            let expectedText = expected.map { "\($0) bytes" } ?? "an overflowing size"
            return "\(file): tensor \"\(tensor)\" of shape \(shape) and dtype \(dtype) needs \(expectedText), "
                + "but its data_offsets span \(span) bytes"
        case let .offsetsOutOfRange(file, tensor, begin, end):
            return "\(file): tensor \"\(tensor)\" has data_offsets [\(begin), \(end)]; expected 0 ≤ begin ≤ end"
        case let .overlappingTensors(file, first, second):
            return "\(file): tensors \"\(first)\" and \"\(second)\" overlap in the data buffer"
        case let .uncoveredData(file, from, to):
            return "\(file): bytes \(from)..<\(to) of the data buffer belong to no tensor"
        case let .duplicateName(file, tensor):
            return "\(file): tensor name \"\(tensor)\" appears twice in the header"
        case let .truncated(file, expected, actual):
            return "\(file): file truncated: the header describes \(expected) data bytes but only \(actual) follow"
        }
    }
}

/// Named Float32 tensors and string metadata in the safetensors format, the model file format.
///
/// Layout (all integers little-endian):
/// ```
/// [8 bytes: u64 header length N][N bytes: UTF-8 JSON header, space-padded to a multiple of 8][data]
/// header = {"__metadata__": {String: String}, "<name>": {"dtype": "F32", "shape": [d0, d1, …],
///           "data_offsets": [begin, end]}, …}
/// ```
/// `data_offsets` are relative to the start of the data buffer; tensors tile the buffer exactly,
/// without gaps or overlaps. This type writes F32 only and reads F32, F64, F16 and BF16 (converted to
/// Float). Reading validates every field and reports problems as `PersistenceError`; no byte sequence
/// makes it crash. See https://github.com/huggingface/safetensors for the format.
public struct SafeTensorsFile: Sendable {
    /// The tensors in file order (the order of their data in the buffer).
    public var tensors: [(name: String, tensor: Tensor)]
    /// Free-form string metadata (the header's `__metadata__`).
    public var metadata: [String: String]

    /// The largest header this reader accepts, a guard against absurd lengths in damaged files.
    public static let maximumHeaderLength = 100_000_000

    public init(tensors: [(name: String, tensor: Tensor)] = [], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// The tensor names in order.
    public var names: [String] { tensors.map(\.name) }

    /// The tensor called `name`, if any.
    public subscript(name: String) -> Tensor? {
        tensors.first { $0.name == name }?.tensor
    }

    /// Appends a tensor; names must be unique when the file is written.
    public mutating func append(_ tensor: Tensor, named name: String) {
        tensors.append((name: name, tensor: tensor))
    }

    // MARK: Writing

    /// The file's bytes: header length, space-padded JSON header, then each tensor's Float32 values
    /// (little-endian) in order.
    ///
    /// - Throws: `PersistenceError.duplicateName` when two tensors share a name, or when a tensor is
    ///   named `__metadata__`.
    public func encoded(fileName: String = "<memory>") throws -> Data {
        var seen = Set<String>()
        for (name, _) in tensors {
            if name == "__metadata__" || !seen.insert(name).inserted {
                throw PersistenceError.duplicateName(file: fileName, tensor: name)
            }
        }
        var header = "{"
        var entries: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0] ?? ""))" }
            entries.append("\"__metadata__\":{" + pairs.joined(separator: ",") + "}")
        }
        var offset = 0
        for (name, tensor) in tensors {
            let bytes = tensor.count * 4
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            entries.append("\(jsonString(name)):{\"dtype\":\"F32\",\"shape\":[\(shape)],"
                + "\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        header += entries.joined(separator: ",") + "}"
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }

        var data = Data(capacity: 8 + headerBytes.count + offset)
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: headerBytes)
        for (_, tensor) in tensors where tensor.count > 0 {
            if isLittleEndianHost {
                data.append(UnsafeBufferPointer(start: tensor.pointer, count: tensor.count))
            } else {
                for index in 0..<tensor.count {
                    withUnsafeBytes(of: tensor.pointer[index].bitPattern.littleEndian) { data.append(contentsOf: $0) }
                }
            }
        }
        return data
    }

    /// Saves the file atomically (see `AtomicFile`): an existing file at `url` is replaced only when
    /// the new one is completely on disk.
    public func write(to url: URL) throws {
        try AtomicFile.write(encoded(fileName: url.path), to: url)
    }

    // MARK: Reading

    /// Reads and validates a safetensors file.
    public static func read(from url: URL) throws -> SafeTensorsFile {
        let bytes: [UInt8]
        do {
            bytes = try InputFile.read(url.path)
        } catch let problem as InputFile.Problem {
            throw PersistenceError.readFailed(file: url.path, reason: "\(problem)")
        }
        return try bytes.withUnsafeBytes { try parse($0, file: url.path) }
    }

    /// Parses and validates safetensors bytes; `name` is used in error messages.
    public static func read(data: Data, name: String = "<memory>") throws -> SafeTensorsFile {
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            try parse(raw, file: name)
        }
    }

    private struct Entry {
        let name: String
        let dtype: String
        let elementSize: Int
        let shape: [Int]
        let begin: Int
        let end: Int
        let order: Int
    }

    private static func parse(_ bytes: UnsafeRawBufferPointer, file: String) throws -> SafeTensorsFile {
        guard bytes.count >= 8 else { throw PersistenceError.fileTooShort(file: file, size: bytes.count) }
        var length: UInt64 = 0
        for index in 0..<8 { length |= UInt64(bytes[index]) << (8 * UInt64(index)) }
        guard length <= UInt64(maximumHeaderLength), Int(length) <= bytes.count - 8 else {
            throw PersistenceError.headerTooLarge(file: file, headerLength: length, fileSize: bytes.count)
        }
        let headerLength = Int(length)
        let headerBytes = UnsafeRawBufferPointer(rebasing: bytes[8..<(8 + headerLength)])

        // The header must be UTF-8: a NUL byte or a byte-order mark would let Foundation read it as another
        // encoding (UTF-16/32), which the format does not allow.
        guard !headerBytes.contains(0), !headerBytes.starts(with: [0xEF, 0xBB, 0xBF]) else {
            throw PersistenceError.invalidHeader(file: file, reason: "not UTF-8 JSON (a NUL byte or a byte-order mark)")
        }
        let header: Any
        do {
            header = try JSONSerialization.jsonObject(with: Data(headerBytes))
        } catch {
            let reason = (error as NSError).userInfo[NSDebugDescriptionErrorKey].map { "\($0)" } ?? "\(error)"
            throw PersistenceError.invalidHeader(file: file, reason: "not valid JSON: \(reason)")
        }
        guard let members = header as? [String: Any] else {
            throw PersistenceError.invalidHeader(file: file, reason: "expected a JSON object")
        }
        // Foundation keeps the last of repeated keys and forgets the order of the others; the names in text
        // order come from a scan of the text, which also refuses what Foundation is lenient about.
        let names = try HeaderScan.topLevelKeys(headerBytes, file: file)

        var metadata: [String: String] = [:]
        var entries: [Entry] = []
        var seen = Set<String>()
        for (order, name) in names.enumerated() {
            guard seen.insert(name).inserted else { throw PersistenceError.duplicateName(file: file, tensor: name) }
            guard let value = members[name] else {
                throw PersistenceError.invalidHeader(file: file, reason: "key \"\(name)\" could not be read back")
            }
            if name == "__metadata__" {
                metadata = try parseMetadata(value, file: file)
                continue
            }
            entries.append(try parseEntry(name: name, value: value, order: order, file: file))
        }

        // The tensors must tile the data buffer: sorted by offsets, each begins where the last ended.
        let dataStart = 8 + headerLength
        let available = bytes.count - dataStart
        entries.sort { ($0.begin, $0.end, $0.order) < ($1.begin, $1.end, $1.order) }
        var position = 0
        var previous: String?
        for entry in entries {
            if entry.begin < position, let previous {
                throw PersistenceError.overlappingTensors(file: file, first: previous, second: entry.name)
            }
            if entry.begin > position {
                throw PersistenceError.uncoveredData(file: file, from: position, to: entry.begin)
            }
            position = entry.end
            previous = entry.name
        }
        if position > available {
            throw PersistenceError.truncated(file: file, expectedBytes: position, actualBytes: available)
        }
        if position < available {
            throw PersistenceError.uncoveredData(file: file, from: position, to: available)
        }

        var tensors: [(name: String, tensor: Tensor)] = []
        tensors.reserveCapacity(entries.count)
        for entry in entries {
            let tensor = Tensor(shape: entry.shape)
            let source = UnsafeRawBufferPointer(rebasing: bytes[(dataStart + entry.begin)..<(dataStart + entry.end)])
            convert(source, dtype: entry.dtype, into: tensor)
            tensors.append((name: entry.name, tensor: tensor))
        }
        return SafeTensorsFile(tensors: tensors, metadata: metadata)
    }

    private static func parseMetadata(_ value: Any, file: String) throws -> [String: String] {
        if value is NSNull { return [:] }
        guard let pairs = value as? [String: Any] else {
            throw PersistenceError.invalidHeader(file: file, reason: "__metadata__ must be an object of strings")
        }
        var result: [String: String] = [:]
        for key in pairs.keys.sorted() {
            guard let text = pairs[key] as? String else {
                throw PersistenceError.invalidHeader(
                    file: file, reason: "__metadata__ value for \"\(key)\" must be a string")
            }
            result[key] = text
        }
        return result
    }

    private static func parseEntry(name: String, value: Any, order: Int, file: String) throws -> Entry {
        guard let fields = value as? [String: Any] else {
            throw PersistenceError.invalidEntry(file: file, tensor: name, reason: "expected an object with dtype, shape and data_offsets")
        }
        func field(_ key: String) throws -> Any {
            guard let found = fields[key] else {
                throw PersistenceError.invalidEntry(file: file, tensor: name, reason: "missing \"\(key)\"")
            }
            return found
        }
        guard let dtype = try field("dtype") as? String else {
            throw PersistenceError.invalidEntry(file: file, tensor: name, reason: "\"dtype\" must be a string")
        }
        guard let shapeValues = try field("shape") as? [Any], let shape = integers(shapeValues) else {
            throw PersistenceError.invalidEntry(file: file, tensor: name, reason: "\"shape\" must be an array of integers")
        }
        guard let offsetValues = try field("data_offsets") as? [Any], let offsets = integers(offsetValues),
              offsets.count == 2 else {
            throw PersistenceError.invalidEntry(
                file: file, tensor: name, reason: "\"data_offsets\" must be an array of two integers")
        }
        let elementSize: Int
        switch dtype {
        case "F32": elementSize = 4
        case "F64": elementSize = 8
        case "F16", "BF16": elementSize = 2
        default: throw PersistenceError.unsupportedDType(file: file, tensor: name, dtype: dtype)
        }
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw PersistenceError.negativeDimension(file: file, tensor: name, shape: shape)
        }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin >= 0, end >= begin else {
            throw PersistenceError.offsetsOutOfRange(file: file, tensor: name, begin: begin, end: end)
        }
        var expected: Int? = elementSize
        for dimension in shape {
            guard let current = expected else { break }
            let (product, overflow) = current.multipliedReportingOverflow(by: dimension)
            expected = overflow ? nil : product
        }
        guard let expectedBytes = expected, expectedBytes == end - begin else {
            throw PersistenceError.sizeMismatch(
                file: file, tensor: name, shape: shape, dtype: dtype, expectedBytes: expected, spanBytes: end - begin)
        }
        return Entry(name: name, dtype: dtype, elementSize: elementSize, shape: shape, begin: begin, end: end, order: order)
    }

    /// The values as `Int`s, or nil unless every one is a JSON integer that fits: Foundation hands numbers
    /// over as `NSNumber`, which would also convert `true`, `2.0` or `1e2`, so the stored type is checked.
    private static func integers(_ values: [Any]) -> [Int]? {
        var result: [Int] = []
        result.reserveCapacity(values.count)
        for value in values {
            guard let number = value as? NSNumber, !(number is NSDecimalNumber),
                  ["s", "i", "l", "q", "S", "I", "L", "Q"].contains(String(cString: number.objCType)),
                  let integer = Int(exactly: number.int64Value), number.stringValue == String(integer) else { return nil }
            result.append(integer)
        }
        return result
    }

    /// Decodes little-endian elements of `dtype` into the tensor (sizes already validated).
    private static func convert(_ source: UnsafeRawBufferPointer, dtype: String, into tensor: Tensor) {
        let count = tensor.count
        guard count > 0, let base = source.baseAddress else { return }
        switch dtype {
        case "F32":
            if isLittleEndianHost {
                UnsafeMutableRawPointer(tensor.pointer).copyMemory(from: base, byteCount: count * 4)
            } else {
                for index in 0..<count {
                    let bits = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self))
                    tensor.pointer[index] = Float(bitPattern: bits)
                }
            }
        case "F64":
            for index in 0..<count {
                let bits = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self))
                tensor.pointer[index] = Float(Double(bitPattern: bits))
            }
        case "BF16":
            for index in 0..<count {
                let bits = UInt16(littleEndian: base.loadUnaligned(fromByteOffset: index * 2, as: UInt16.self))
                tensor.pointer[index] = Float(bitPattern: UInt32(bits) << 16)
            }
        default: // "F16"
            for index in 0..<count {
                let bits = UInt16(littleEndian: base.loadUnaligned(fromByteOffset: index * 2, as: UInt16.self))
                tensor.pointer[index] = floatFromHalf(bits)
            }
        }
    }
}

private let isLittleEndianHost = 1.littleEndian == 1

/// IEEE 754 binary16 → binary32, exact (every half value is a float). Written out by hand because
/// `Float16` is unavailable on macOS x86-64.
func floatFromHalf(_ bits: UInt16) -> Float {
    let sign: UInt32 = UInt32(bits & 0x8000) << 16
    let exponent = Int((bits >> 10) & 0x1F)
    let mantissa = UInt32(bits & 0x03FF)
    if exponent == 0x1F { // infinity or NaN: keep the payload
        return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
    }
    if exponent == 0 { // zero or subnormal: mantissa × 2⁻²⁴
        let magnitude = Float(mantissa) * 0x1p-24
        return sign != 0 ? -magnitude : magnitude
    }
    return Float(bitPattern: sign | (UInt32(exponent - 15 + 127) << 23) | (mantissa << 13))
}

/// A JSON string literal with the characters JSON requires escaped.
private func jsonString(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        case "\n": result += "\\n"
        case "\r": result += "\\r"
        case "\t": result += "\\t"
        default:
            if scalar.value < 0x20 {
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
    }
    return result + "\""
}

/// The top-level keys of a safetensors header in text order, repeats included: Foundation's
/// `JSONSerialization` (which parses the header) keeps only the last of repeated keys and no order, and no
/// reader here reports them, hence this scan. It also refuses what `JSONSerialization` lets through but
/// the format does not: trailing commas, and nesting deeper than `maximumDepth`.
enum HeaderScan {
    /// The deepest nesting a header may have; a tensor entry needs 3.
    static let maximumDepth = 64

    /// The keys of the object in `text`, which `JSONSerialization` has already parsed as one.
    static func topLevelKeys(_ text: UnsafeRawBufferPointer, file: String) throws -> [String] {
        func fail(_ reason: String, at index: Int) -> PersistenceError {
            PersistenceError.invalidHeader(file: file, reason: "not valid JSON: \(reason) at byte \(index)")
        }
        let (quote, backslash) = (UInt8(ascii: "\""), UInt8(ascii: "\\"))
        var keys: [String] = []
        var depth = 0, index = 0
        var previous: UInt8 = 0  // the last byte outside strings that is not whitespace
        while index < text.count {
            let byte = text[index]
            switch byte {
            case quote:
                let start = index
                index += 1
                while index < text.count && text[index] != quote { index += text[index] == backslash ? 2 : 1 }
                guard index < text.count else { throw fail("unterminated string", at: start) }
                if depth == 1 && (previous == UInt8(ascii: "{") || previous == UInt8(ascii: ",")) {
                    let literal = Data(UnsafeRawBufferPointer(rebasing: text[start...index]))
                    guard let key = try? JSONSerialization.jsonObject(with: literal, options: .fragmentsAllowed) as? String else {
                        throw fail("unreadable key", at: start)
                    }
                    keys.append(key)
                }
                previous = quote
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                guard depth <= maximumDepth else { throw fail("nesting deeper than \(maximumDepth)", at: index) }
                previous = byte
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                guard previous != UInt8(ascii: ",") else { throw fail("trailing comma", at: index) }
                depth -= 1
                previous = byte
            case 0x20, 0x09, 0x0A, 0x0D:
                break
            default:
                previous = byte
            }
            index += 1
        }
        return keys
    }
}
