#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fast reader for the common shape of a `POST /api/predict` JSON body — one object with `"pixels"` (an
/// array of numbers), and optionally `"samples"` (a number) and `"normalize"` (a boolean), in any order,
/// with any JSON whitespace — that gives the same `Body` as `JSONDecoder` (numbers read by the C library's
/// correctly rounded `strtod`, as JSON's grammar allows them).
///
/// Anything else (another key, a repeated key, a string escape, `null`, a number outside JSON's grammar,
/// malformed JSON) returns nil, and `PredictionInput.parseJSON` asks `JSONDecoder`, which also words the
/// error. `JSONDecoder` cost more than the rest of a request (docs/performance.md, round seven).
enum PredictionBodyScanner {
    static func scan(_ bytes: UnsafeRawBufferPointer) -> PredictionInput.Body? {
        var scanner = Scanner(bytes: bytes.bindMemory(to: UInt8.self))
        return scanner.body()
    }

    private struct Scanner {
        let bytes: UnsafeBufferPointer<UInt8>
        var at = 0

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        mutating func body() -> PredictionInput.Body? {
            var pixels: [Double]?, samples: Double?, normalize: Bool?
            guard consume(UInt8(ascii: "{")) else { return nil }
            if peek() == UInt8(ascii: "}") { return nil } // no "pixels": JSONDecoder words the error
            repeat {
                // A key seen before (its value already set) goes to JSONDecoder too.
                guard let key = plainString(), consume(UInt8(ascii: ":")) else { return nil }
                switch key {
                case "pixels" where pixels == nil: guard let value = numbers() else { return nil }; pixels = value
                case "samples" where samples == nil: guard let value = number() else { return nil }; samples = value
                case "normalize" where normalize == nil: guard let value = boolean() else { return nil }; normalize = value
                default: return nil
                }
            } while consume(UInt8(ascii: ","))
            guard consume(UInt8(ascii: "}")), peek() == nil, let pixels else { return nil }
            return PredictionInput.Body(pixels: pixels, samples: samples, normalize: normalize)
        }

        /// The next byte after whitespace, nil at the end.
        mutating func peek() -> UInt8? {
            while at < bytes.count {
                switch bytes[at] {
                case 0x20, 0x09, 0x0A, 0x0D: at += 1
                default: return bytes[at]
                }
            }
            return nil
        }

        mutating func consume(_ byte: UInt8) -> Bool {
            guard peek() == byte else { return false }
            at += 1
            return true
        }

        /// A string of printable ASCII without escapes.
        mutating func plainString() -> String? {
            guard consume(UInt8(ascii: "\"")) else { return nil }
            let start = at
            while at < bytes.count, bytes[at] != UInt8(ascii: "\"") {
                guard bytes[at] >= 0x20, bytes[at] < 0x7F, bytes[at] != UInt8(ascii: "\\") else { return nil }
                at += 1
            }
            guard at < bytes.count else { return nil }
            at += 1
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<(at - 1)]), as: UTF8.self)
        }

        mutating func numbers() -> [Double]? {
            guard consume(UInt8(ascii: "[")) else { return nil }
            var values: [Double] = []
            values.reserveCapacity(784)
            if consume(UInt8(ascii: "]")) { return values }
            repeat {
                guard let value = number() else { return nil }
                values.append(value)
            } while consume(UInt8(ascii: ","))
            return consume(UInt8(ascii: "]")) ? values : nil
        }

        mutating func boolean() -> Bool? {
            _ = peek()
            for (word, value) in [("true", true), ("false", false)] where bytes[at...].starts(with: word.utf8) {
                at += word.utf8.count
                return value
            }
            return nil
        }

        /// A number in JSON's grammar, -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, that a byte other than
        /// part of a number follows, converted by strtod.
        mutating func number() -> Double? {
            guard peek() != nil else { return nil }
            let start = at
            func digit(_ i: Int) -> Bool { i < bytes.count && bytes[i] >= UInt8(ascii: "0") && bytes[i] <= UInt8(ascii: "9") }
            var i = at
            if i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard digit(i) else { return nil }
            if bytes[i] == UInt8(ascii: "0") { i += 1 } else { while digit(i) { i += 1 } }
            if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
                i += 1
                guard digit(i) else { return nil }
                while digit(i) { i += 1 }
            }
            if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
                i += 1
                if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
                guard digit(i) else { return nil }
                while digit(i) { i += 1 }
            }
            // strtod reads up to the first byte that cannot continue a number; the grammar above ends the
            // token before such a byte, which must exist (a body never ends in a number) and not be a digit.
            guard i < bytes.count, !digit(i), i - start <= 64 else { return nil }
            let value = withUnsafeTemporaryAllocation(of: CChar.self, capacity: i - start + 1) { token in
                for j in start..<i { token[j - start] = CChar(bitPattern: bytes[j]) }
                token[i - start] = 0
                return strtod(token.baseAddress!, nil)
            }
            guard value.isFinite else { return nil }
            at = i
            return value
        }
    }
}
