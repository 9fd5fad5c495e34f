import Foundation
import Testing
@testable import BNN

/// Bytes of a safetensors file built by hand: header length (or `length` if given), header, data.
private func rawFile(_ header: String, data: [UInt8] = [], length: UInt64? = nil) -> Data {
    let headerBytes = Array(header.utf8)
    var result = Data()
    withUnsafeBytes(of: (length ?? UInt64(headerBytes.count)).littleEndian) { result.append(contentsOf: $0) }
    result.append(contentsOf: headerBytes)
    result.append(contentsOf: data)
    return result
}

private func floatBytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
}

/// A fresh empty directory under the system temporary directory.
func makePersistenceTestDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("swift-bnn-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

@Suite struct SafeTensorsTests {
    private func sample() -> SafeTensorsFile {
        let awkward: [Float] = [0, -0.0, Float(bitPattern: 1), -3.4028235e38, .infinity, -.infinity, 0.1, 1.0 / 3.0]
        return SafeTensorsFile(
            tensors: [
                (name: "layers.0.weight.mu", tensor: Tensor(shape: [2, 4], values: awkward)),
                (name: "layers.0.weight.rho", tensor: Tensor(shape: [2, 4], values: awkward.reversed())),
                (name: "empty", tensor: Tensor(shape: [0, 3])),
                (name: "scalar", tensor: Tensor(shape: [], values: [42.5])),
                (name: "naïve \"quoted\"\n", tensor: Tensor(shape: [3], values: [1, 2, 3])),
            ],
            metadata: ["format": "swift-bnn", "settings": "{\"epochs\": 5}", "ünïcode": "✓"])
    }

    private func expectSameContent(_ read: SafeTensorsFile, _ original: SafeTensorsFile) {
        #expect(read.names == original.names)
        #expect(read.metadata == original.metadata)
        for ((_, a), (_, b)) in zip(read.tensors, original.tensors) {
            #expect(a.shape == b.shape)
            #expect(a.array.map(\.bitPattern) == b.array.map(\.bitPattern))
        }
    }

    @Test func roundTripInMemoryIsBitExact() throws {
        let original = sample()
        let data = try original.encoded()
        let read = try SafeTensorsFile.read(data: data)
        expectSameContent(read, original)
        // NaN payloads survive too.
        let nan = Tensor(shape: [1], values: [Float(bitPattern: 0x7FC0_1234)])
        let back = try SafeTensorsFile.read(data: SafeTensorsFile(tensors: [(name: "n", tensor: nan)]).encoded())
        #expect(back["n"]?.pointer[0].bitPattern == 0x7FC0_1234)
    }

    @Test func layoutMatchesTheFormat() throws {
        let file = SafeTensorsFile(tensors: [(name: "a", tensor: Tensor(shape: [2], values: [1, 2]))])
        let data = try file.encoded()
        let length = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        #expect(length % 8 == 0)
        #expect(data.count == 8 + Int(length) + 8)
        let header = String(decoding: data[8..<(8 + Int(length))], as: UTF8.self)
        #expect(header.trimmingCharacters(in: .whitespaces)
            == "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}")
        #expect(Array(data.suffix(8)) == floatBytes([1, 2]))
    }

    @Test func roundTripThroughAFile() throws {
        let directory = try makePersistenceTestDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("model.safetensors")
        let original = sample()
        try original.write(to: url)
        expectSameContent(try SafeTensorsFile.read(from: url), original)
        // Overwriting replaces the content and leaves no temporary file behind.
        let second = SafeTensorsFile(tensors: [(name: "x", tensor: Tensor(shape: [1], values: [5]))])
        try second.write(to: url)
        expectSameContent(try SafeTensorsFile.read(from: url), second)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["model.safetensors"])
    }

    @Test func emptyFileWithNoTensors() throws {
        let read = try SafeTensorsFile.read(data: try SafeTensorsFile().encoded())
        #expect(read.tensors.isEmpty && read.metadata.isEmpty)
    }

    @Test func readsTensorsInDataOrderAndConvertsOtherDTypes() throws {
        // "b" is listed first in the header but its data comes second.
        let half: [UInt8] = [0x00, 0x3C, 0x00, 0xC1, 0xFF, 0x7B, 0x01, 0x00] // 1, -2.5, 65504, 2^-24
        let bf16: [UInt8] = [0x80, 0x3F, 0x20, 0xC0] // 1, -2.5
        let f64 = withUnsafeBytes(of: (0.1 as Double).bitPattern.littleEndian) { Array($0) }
        let header = """
            {"b":{"dtype":"F16","shape":[4],"data_offsets":[4,12]},\
            "a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},\
            "c":{"dtype":"BF16","shape":[2,1],"data_offsets":[12,16]},\
            "d":{"dtype":"F64","shape":[1],"data_offsets":[16,24]}}
            """
        let read = try SafeTensorsFile.read(data: rawFile(header, data: floatBytes([3]) + half + bf16 + f64))
        #expect(read.names == ["a", "b", "c", "d"])
        #expect(read["a"]?.shape == [] && read["a"]?.array == [3])
        #expect(read["b"]?.array == [1, -2.5, 65504, 0x1p-24])
        #expect(read["c"]?.shape == [2, 1] && read["c"]?.array == [1, -2.5])
        #expect(read["d"]?.array == [Float(0.1 as Double)])
    }

    @Test func halfConversionCoversSpecials() {
        #expect(floatFromHalf(0x0000).bitPattern == 0)
        #expect(floatFromHalf(0x8000).bitPattern == (-0.0 as Float).bitPattern)
        #expect(floatFromHalf(0x7C00) == .infinity)
        #expect(floatFromHalf(0xFC00) == -.infinity)
        #expect(floatFromHalf(0x7E00).isNaN)
        #expect(floatFromHalf(0x03FF) == 1023 * 0x1p-24) // largest subnormal
        #expect(floatFromHalf(0x0400) == 0x1p-14)        // smallest normal
        #expect(floatFromHalf(0x3555) == 0.333251953125)
    }

    // MARK: Bad files

    private func failure(_ data: Data) -> PersistenceError? {
        do {
            _ = try SafeTensorsFile.read(data: data, name: "bad.safetensors")
            return nil
        } catch let error as PersistenceError {
            #expect(error.description.hasPrefix("bad.safetensors: "))
            #expect(!error.description.contains("\n"))
            return error
        } catch {
            Issue.record("unexpected error type: \(error)")
            return nil
        }
    }

    private let file = "bad.safetensors"
    private let good = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#

    @Test func shortFiles() {
        #expect(failure(Data()) == .fileTooShort(file: file, size: 0))
        #expect(failure(Data([1, 0, 0])) == .fileTooShort(file: file, size: 3))
    }

    @Test func headerLengthLargerThanFileOrAbsurd() {
        #expect(failure(rawFile("{}", length: 3)) == .headerTooLarge(file: file, headerLength: 3, fileSize: 10))
        #expect(failure(rawFile("{}", length: UInt64.max))
            == .headerTooLarge(file: file, headerLength: UInt64.max, fileSize: 10))
        var huge = rawFile("{}", length: 200_000_000)
        huge.append(Data(count: 16))
        #expect(failure(huge) == .headerTooLarge(file: file, headerLength: 200_000_000, fileSize: 26))
    }

    @Test func headerNotJSONOrNotAnObject() {
        for text in ["", "{", "not json", "{\"a\":1,}", "[1,2]", "\"x\"", "{} x", "{\"a\":\"\u{01}\"}",
                     String(repeating: "[", count: 10_000), "{\"a\":\"\\ud800\"}"] {
            guard case .invalidHeader = failure(rawFile(text)) else {
                Issue.record("expected invalidHeader for \(text.prefix(20))")
                continue
            }
        }
        var invalidUTF8 = rawFile("{\"\u{00}\":1}")
        invalidUTF8[10] = 0xFF
        guard case .invalidHeader = failure(invalidUTF8) else { Issue.record("invalid UTF-8 accepted"); return }
        guard case .invalidHeader = failure(rawFile(#"{"__metadata__":{"a":1}}"#)) else {
            Issue.record("non-string metadata accepted"); return
        }
    }

    @Test func metadataIsRead() throws {
        let read = try SafeTensorsFile.read(data: rawFile(#"{"__metadata__":{"k":"v\u00e9\n"}}   "#))
        #expect(read.metadata == ["k": "vé\n"])
        #expect(read.tensors.isEmpty)
    }

    @Test func entriesMissingFields() {
        let data = floatBytes([1, 2])
        for (header, reasonPart) in [
            (#"{"a":{"shape":[2],"data_offsets":[0,8]}}"#, "dtype"),
            (#"{"a":{"dtype":"F32","data_offsets":[0,8]}}"#, "shape"),
            (#"{"a":{"dtype":"F32","shape":[2]}}"#, "data_offsets"),
            (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}}"#, "data_offsets"),
            (#"{"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}"#, "shape"),
            (#"{"a":{"dtype":32,"shape":[2],"data_offsets":[0,8]}}"#, "dtype"),
            (#"{"a":[1]}"#, "object"),
        ] {
            guard case let .invalidEntry(_, tensor, reason) = failure(rawFile(header, data: data)) else {
                Issue.record("expected invalidEntry for \(header)")
                continue
            }
            #expect(tensor == "a")
            #expect(reason.contains(reasonPart))
        }
    }

    @Test func unknownDType() {
        #expect(failure(rawFile(#"{"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#, data: Array(repeating: 0, count: 8)))
            == .unsupportedDType(file: file, tensor: "a", dtype: "I64"))
    }

    @Test func negativeDimensions() {
        #expect(failure(rawFile(#"{"a":{"dtype":"F32","shape":[-2,-1],"data_offsets":[0,8]}}"#, data: floatBytes([1, 2])))
            == .negativeDimension(file: file, tensor: "a", shape: [-2, -1]))
    }

    @Test func sizeDoesNotMatchTheOffsetSpan() {
        #expect(failure(rawFile(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: floatBytes([1, 2])))
            == .sizeMismatch(file: file, tensor: "a", shape: [3], dtype: "F32", expectedBytes: 12, spanBytes: 8))
        let overflowing = #"{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}}"#
        #expect(failure(rawFile(overflowing, data: floatBytes([1, 2])))
            == .sizeMismatch(file: file, tensor: "a", shape: [4611686018427387904, 4], dtype: "F32",
                             expectedBytes: nil, spanBytes: 8))
    }

    @Test func offsetsOutOfRange() {
        #expect(failure(rawFile(#"{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}"#, data: floatBytes([1, 2])))
            == .offsetsOutOfRange(file: file, tensor: "a", begin: 8, end: 0))
        #expect(failure(rawFile(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}"#))
            == .offsetsOutOfRange(file: file, tensor: "a", begin: -8, end: 0))
        // An offset beyond any Int.
        guard case .invalidEntry = failure(rawFile(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,99999999999999999999]}}"#)) else {
            Issue.record("expected invalidEntry"); return
        }
    }

    @Test func overlappingTensors() {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        #expect(failure(rawFile(header, data: floatBytes([1, 2, 3])))
            == .overlappingTensors(file: file, first: "a", second: "b"))
    }

    @Test func buffersNotCovered() {
        let gap = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#
        #expect(failure(rawFile(gap, data: floatBytes([1, 2, 3]))) == .uncoveredData(file: file, from: 4, to: 8))
        #expect(failure(rawFile(good, data: floatBytes([1, 2, 3]))) == .uncoveredData(file: file, from: 8, to: 12))
        let late = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        #expect(failure(rawFile(late, data: floatBytes([1, 2]))) == .uncoveredData(file: file, from: 0, to: 4))
    }

    /// What Foundation's JSON parser lets through and the header reader must still refuse or keep: trailing
    /// commas, deep nesting, booleans and whole-valued floats as integers, the order of tensors that share
    /// an offset.
    @Test func foundationLeniencyIsRefused() throws {
        for text in [#"{"a":{"dtype":"F32","shape":[2,],"data_offsets":[0,8]}}"#, #"{"__metadata__":{"k":"v",}}"#,
                     "{\"a\":" + String(repeating: "[", count: 64) + String(repeating: "]", count: 64) + "}"] {
            guard case .invalidHeader = failure(rawFile(text, data: floatBytes([1, 2]))) else {
                Issue.record("expected invalidHeader for \(text.prefix(60))")
                continue
            }
        }
        for shape in ["[true]", "[2.0]", "[2e0]", "[\"2\"]", "[18446744073709551615]"] {
            let header = #"{"a":{"dtype":"F32","shape":"# + shape + #","data_offsets":[0,8]}}"#
            guard case .invalidEntry = failure(rawFile(header, data: floatBytes([1, 2]))) else {
                Issue.record("expected invalidEntry for shape \(shape)")
                continue
            }
        }
        let empty = #"{"z":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"y":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"#
            + #""x":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}"#
        #expect(try SafeTensorsFile.read(data: rawFile(empty)).names == ["z", "y", "x"])
    }

    @Test func duplicateNames() {
        let header = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        #expect(failure(rawFile(header, data: floatBytes([1, 2]))) == .duplicateName(file: file, tensor: "a"))
        let twice = SafeTensorsFile(tensors: [(name: "x", tensor: Tensor(shape: [1])), (name: "x", tensor: Tensor(shape: [1]))])
        #expect(throws: PersistenceError.duplicateName(file: "<memory>", tensor: "x")) { try twice.encoded() }
    }

    @Test func truncatedFile() {
        #expect(failure(rawFile(good, data: floatBytes([1]))) == .truncated(file: file, expectedBytes: 8, actualBytes: 4))
        let valid = (try? sample().encoded()) ?? Data()
        for cut in stride(from: 1, to: 40, by: 7) {
            #expect(failure(valid.dropLast(cut)) != nil)
        }
    }

    /// Random and mutated byte sequences must produce errors or files, never a crash.
    @Test func neverCrashesOnDamagedBytes() throws {
        var generator = RandomGenerator(seed: 7)
        let valid = try sample().encoded()
        for _ in 0..<2_000 {
            var bytes = valid
            for _ in 0..<(1 + Int(generator.next() % 4)) {
                let position = Int(generator.next() % UInt64(bytes.count))
                bytes[position] = UInt8(truncatingIfNeeded: generator.next())
            }
            _ = try? SafeTensorsFile.read(data: bytes)
        }
        for length in 0..<64 {
            let bytes = Data((0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) })
            _ = try? SafeTensorsFile.read(data: bytes)
        }
    }

    @Test func missingFileNamesThePath() {
        let url = URL(fileURLWithPath: "/nonexistent-\(UUID().uuidString)/m.safetensors")
        do {
            _ = try SafeTensorsFile.read(from: url)
            Issue.record("read a missing file")
        } catch let error as PersistenceError {
            guard case .readFailed = error else { Issue.record("wrong error \(error)"); return }
            #expect(error.description.hasPrefix(url.path + ": "))
        } catch {
            Issue.record("unexpected error type: \(error)")
        }
    }
}

