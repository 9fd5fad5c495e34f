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

        let header: JSONValue
        do {
            var parser = MinimalJSONParser(bytes: headerBytes)
            header = try parser.parseDocument()
        } catch let error as MinimalJSONParser.ParseError {
            throw PersistenceError.invalidHeader(file: file, reason: "not valid JSON: \(error.message)")
        }
        guard case let .object(members) = header else {
            throw PersistenceError.invalidHeader(file: file, reason: "expected a JSON object")
        }

        var metadata: [String: String] = [:]
        var entries: [Entry] = []
        var seen = Set<String>()
        for (order, (name, value)) in members.enumerated() {
            guard seen.insert(name).inserted else { throw PersistenceError.duplicateName(file: file, tensor: name) }
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

    private static func parseMetadata(_ value: JSONValue, file: String) throws -> [String: String] {
        if case .null = value { return [:] }
        guard case let .object(pairs) = value else {
            throw PersistenceError.invalidHeader(file: file, reason: "__metadata__ must be an object of strings")
        }
        var result: [String: String] = [:]
        for (key, item) in pairs {
            guard case let .string(text) = item else {
                throw PersistenceError.invalidHeader(
                    file: file, reason: "__metadata__ value for \"\(key)\" must be a string")
            }
            guard result.updateValue(text, forKey: key) == nil else {
                throw PersistenceError.invalidHeader(file: file, reason: "__metadata__ key \"\(key)\" appears twice")
            }
        }
        return result
    }

    private static func parseEntry(name: String, value: JSONValue, order: Int, file: String) throws -> Entry {
        guard case let .object(fields) = value else {
            throw PersistenceError.invalidEntry(file: file, tensor: name, reason: "expected an object with dtype, shape and data_offsets")
        }
        func field(_ key: String) throws -> JSONValue {
            guard let found = fields.first(where: { $0.0 == key }) else {
                throw PersistenceError.invalidEntry(file: file, tensor: name, reason: "missing \"\(key)\"")
            }
            return found.1
        }
        guard case let .string(dtype) = try field("dtype") else {
            throw PersistenceError.invalidEntry(file: file, tensor: name, reason: "\"dtype\" must be a string")
        }
        guard case let .array(shapeValues) = try field("shape"), let shape = integers(shapeValues) else {
            throw PersistenceError.invalidEntry(file: file, tensor: name, reason: "\"shape\" must be an array of integers")
        }
        guard case let .array(offsetValues) = try field("data_offsets"), let offsets = integers(offsetValues),
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

    private static func integers(_ values: [JSONValue]) -> [Int]? {
        var result: [Int] = []
        result.reserveCapacity(values.count)
        for value in values {
            guard case let .integer(number) = value else { return nil }
            result.append(number)
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

// MARK: - A small JSON parser

/// The JSON values a safetensors header uses. Objects keep their members in order, including
/// duplicates, so that the reader can report duplicate tensor names (Foundation's parser drops them).
enum JSONValue: Equatable {
    case null
    case bool(Bool)
    case integer(Int)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.integer(a), .integer(b)): return a == b
        case let (.number(a), .number(b)): return a == b
        case let (.string(a), .string(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }
}

/// A strict RFC 8259 parser over bytes, with a nesting limit so that hostile input cannot exhaust
/// the stack. Integers that fit in `Int` become `.integer`; other numbers `.number`.
struct MinimalJSONParser {
    struct ParseError: Error {
        let message: String
    }

    private let bytes: UnsafeRawBufferPointer
    private var index = 0
    private var depth = 0
    private static let maximumDepth = 64

    init(bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// Parses one value followed only by whitespace.
    mutating func parseDocument() throws -> JSONValue {
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        guard index == bytes.count else { throw fail("unexpected content after the JSON value") }
        return value
    }

    private func fail(_ message: String) -> ParseError {
        ParseError(message: "\(message) at byte \(index)")
    }

    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
    }

    private mutating func expect(_ literal: String) throws {
        for byte in literal.utf8 {
            guard current == byte else { throw fail("expected \"\(literal)\"") }
            index += 1
        }
    }

    private mutating func parseValue() throws -> JSONValue {
        guard let byte = current else { throw fail("unexpected end of input") }
        switch byte {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw fail("unexpected character")
        }
    }

    private mutating func enter() throws {
        depth += 1
        guard depth <= Self.maximumDepth else { throw fail("nesting deeper than \(Self.maximumDepth)") }
    }

    private mutating func parseObject() throws -> JSONValue {
        try enter()
        defer { depth -= 1 }
        index += 1
        var members: [(String, JSONValue)] = []
        skipWhitespace()
        if current == UInt8(ascii: "}") { index += 1; return .object(members) }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { throw fail("expected a string key") }
            let key = try parseString()
            skipWhitespace()
            try expect(":")
            skipWhitespace()
            members.append((key, try parseValue()))
            skipWhitespace()
            if current == UInt8(ascii: ",") { index += 1; continue }
            if current == UInt8(ascii: "}") { index += 1; return .object(members) }
            throw fail("expected \",\" or \"}\"")
        }
    }

    private mutating func parseArray() throws -> JSONValue {
        try enter()
        defer { depth -= 1 }
        index += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") { index += 1; return .array(elements) }
        while true {
            skipWhitespace()
            elements.append(try parseValue())
            skipWhitespace()
            if current == UInt8(ascii: ",") { index += 1; continue }
            if current == UInt8(ascii: "]") { index += 1; return .array(elements) }
            throw fail("expected \",\" or \"]\"")
        }
    }

    private mutating func parseHex4() throws -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = current else { throw fail("unexpected end of input in \\u escape") }
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw fail("invalid hex digit in \\u escape")
            }
            value = value * 16 + digit
            index += 1
        }
        return value
    }

    private mutating func parseString() throws -> String {
        index += 1 // opening quote
        var utf8: [UInt8] = []
        while true {
            guard let byte = current else { throw fail("unterminated string") }
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let text = String(bytes: utf8, encoding: .utf8) else { throw fail("string is not valid UTF-8") }
                return text
            case UInt8(ascii: "\\"):
                guard let escape = current else { throw fail("unterminated escape") }
                index += 1
                switch escape {
                case UInt8(ascii: "\""): utf8.append(0x22)
                case UInt8(ascii: "\\"): utf8.append(0x5C)
                case UInt8(ascii: "/"): utf8.append(0x2F)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"):
                    var code = try parseHex4()
                    if (0xD800..<0xDC00).contains(code) {
                        guard current == UInt8(ascii: "\\") else { throw fail("unpaired surrogate") }
                        index += 1
                        guard current == UInt8(ascii: "u") else { throw fail("unpaired surrogate") }
                        index += 1
                        let low = try parseHex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw fail("unpaired surrogate") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(code) else { throw fail("invalid \\u escape") }
                    utf8.append(contentsOf: String(Character(scalar)).utf8)
                default: throw fail("invalid escape")
                }
            case 0x00..<0x20:
                throw fail("control character in string")
            default:
                utf8.append(byte)
            }
        }
    }

    private mutating func parseNumber() throws -> JSONValue {
        let start = index
        var isInteger = true
        if current == UInt8(ascii: "-") { index += 1 }
        func digits() throws {
            guard let byte = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else {
                throw fail("expected a digit")
            }
            while let byte = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { index += 1 }
        }
        if current == UInt8(ascii: "0") {
            index += 1
        } else {
            try digits()
        }
        if current == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            try digits()
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
            try digits()
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        if isInteger, let value = Int(text) { return .integer(value) }
        guard let value = Double(text) else { throw fail("invalid number") }
        return .number(value)
    }
}
