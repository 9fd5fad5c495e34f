import Foundation
import Testing
@testable import BNN
@testable import BNNData

/// A copy of `png` with IHDR byte `offset` (0 = first data byte) set to `value` and IHDR's CRC fixed.
func patchedIHDR(_ png: [UInt8], offset: Int, value: UInt8) -> [UInt8] {
    var bytes = png
    bytes[16 + offset] = value
    let crc = Zlib.crc32(Array(bytes[12..<29]))
    bytes[29] = UInt8(crc >> 24); bytes[30] = UInt8((crc >> 16) & 0xff); bytes[31] = UInt8((crc >> 8) & 0xff); bytes[32] = UInt8(crc & 0xff)
    return bytes
}

func decodePNG(_ bytes: [UInt8], name: String = "test.png") throws -> GreyImage {
    try PNGDecoder.decode(bytes, path: name)
}

func expectClose(_ a: [Float], _ b: [Float], tolerance: Float = 1e-5, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(a.count == b.count, sourceLocation: sourceLocation)
    let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
    #expect(worst <= tolerance, "largest difference \(worst)", sourceLocation: sourceLocation)
}

@Suite struct PNGDecoderDataTests {
    @Test(arguments: 0...4)
    func greyRoundTripThroughEachFilter(filter: Int) throws {
        let width = 7, height = 5
        let samples = (0..<(width * height)).map { UInt8(truncatingIfNeeded: $0 * 37 + ($0 % 3) * 101) }
        let image = try decodePNG(PNGEncoder.encode(grey: samples, width: width, height: height, filter: UInt8(filter)))
        #expect(image.width == width && image.height == height)
        expectClose(image.pixels, samples.map { Float($0) / 255 })
    }

    @Test(arguments: 0...4)
    func rgbBecomesLuma(filter: Int) throws {
        let rgb: [UInt8] = [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 10, 20, 30, 0, 0, 0]
        let image = try decodePNG(PNGEncoder.encode(rgb: rgb, width: 3, height: 2, filter: UInt8(filter)))
        expectClose(image.pixels, [0.299, 0.587, 0.114, 1, (0.299 * 10 + 0.587 * 20 + 0.114 * 30) / 255, 0])
    }

    @Test func sixteenBitGrey() throws {
        let samples: [UInt8] = [0x00, 0x00, 0xff, 0xff, 0x80, 0x00, 0x12, 0x34]
        let png = PNGEncoder.encode(samples: samples, width: 2, height: 2, colourType: 0, bitDepth: 16, channels: 1, filter: 4)
        expectClose(try decodePNG(png).pixels, [0, 1, Float(0x8000) / 65535, Float(0x1234) / 65535])
    }

    @Test func greyAlphaCompositesOverWhite() throws {
        // (grey, alpha): opaque black, transparent black, half-transparent black, opaque mid grey.
        let samples: [UInt8] = [0, 255, 0, 0, 0, 128, 100, 255]
        let png = PNGEncoder.encode(samples: samples, width: 4, height: 1, colourType: 4, bitDepth: 8, channels: 2, filter: 1)
        expectClose(try decodePNG(png).pixels, [0, 1, 1 - Float(128) / 255, Float(100) / 255])
        // 16-bit grey + alpha: opaque white, transparent black.
        let wide: [UInt8] = [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]
        let png16 = PNGEncoder.encode(samples: wide, width: 2, height: 1, colourType: 4, bitDepth: 16, channels: 2)
        expectClose(try decodePNG(png16).pixels, [1, 1])
    }

    @Test func rgbaCompositesOverWhite() throws {
        let samples: [UInt8] = [255, 0, 0, 255, 0, 0, 0, 0, 0, 0, 0, 255]
        let png = PNGEncoder.encode(samples: samples, width: 3, height: 1, colourType: 6, bitDepth: 8, channels: 4, filter: 3)
        expectClose(try decodePNG(png).pixels, [0.299, 1, 0])
        let samples16: [UInt8] = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        let png16 = PNGEncoder.encode(samples: samples16, width: 1, height: 1, colourType: 6, bitDepth: 16, channels: 4)
        expectClose(try decodePNG(png16).pixels, [1])
    }

    @Test func paletteWithTransparency() throws {
        let palette: [UInt8] = [0, 0, 0, 255, 255, 255, 255, 0, 0]
        let png = PNGEncoder.encode(samples: [0, 1, 2, 1, 0, 2], width: 3, height: 2, colourType: 3, bitDepth: 8, channels: 1,
                                    filter: 2, palette: palette, transparency: [255, 255, 0])
        // Entry 2 (red) is fully transparent: white.
        expectClose(try decodePNG(png).pixels, [0, 1, 1, 1, 0, 1])
        // 2-bit palette: four pixels per byte, most significant first.
        let packed = PNGEncoder.encode(samples: [0b00_01_10_00], width: 3, height: 1, colourType: 3, bitDepth: 2, channels: 1,
                                       palette: palette)
        expectClose(try decodePNG(packed).pixels, [0, 1, 0.299])
    }

    @Test func paletteIndexOutOfRange() throws {
        let png = PNGEncoder.encode(samples: [0, 3], width: 2, height: 1, colourType: 3, bitDepth: 8, channels: 1, palette: [0, 0, 0])
        let error = dataError { _ = try decodePNG(png, name: "palette.png") }
        guard case .badImage(_, let reason) = error else { Issue.record("expected badImage, got \(String(describing: error))"); return }
        #expect(reason.contains("palette entry 3"))
    }

    @Test func oneBitGrey() throws {
        let png = PNGEncoder.encode(samples: [0b1010_0000, 0b0100_0000], width: 3, height: 2, colourType: 0, bitDepth: 1, channels: 1)
        expectClose(try decodePNG(png).pixels, [1, 0, 1, 0, 1, 0])
    }

    @Test func badSignature() {
        var png = PNGEncoder.encode(grey: [1, 2, 3, 4], width: 2, height: 2)
        png[1] = UInt8(ascii: "X")
        let error = dataError { _ = try decodePNG(png, name: "sig.png") }
        guard case .badMagic = error else { Issue.record("expected badMagic, got \(String(describing: error))"); return }
        #expect(error!.description.contains("sig.png"))
    }

    @Test func badCRC() {
        var png = PNGEncoder.encode(grey: [1, 2, 3, 4], width: 2, height: 2)
        png[20] ^= 0x01  // inside IHDR's data (the height)
        let error = dataError { _ = try decodePNG(png, name: "crc.png") }
        guard case .badImage(_, let reason) = error else { Issue.record("expected badImage, got \(String(describing: error))"); return }
        #expect(reason.contains("CRC mismatch in chunk IHDR"))
        #expect(error!.description.contains("crc.png"))
    }

    @Test func truncatedFiles() {
        let png = PNGEncoder.encode(grey: (0..<64).map { UInt8($0) }, width: 8, height: 8)
        for cut in [8, 20, 40, png.count - 12, png.count - 1] {
            let error = dataError { _ = try decodePNG(Array(png.prefix(cut)), name: "cut.png") }
            guard case .truncated = error else { Issue.record("cut \(cut): expected truncated, got \(String(describing: error))"); continue }
            #expect(error!.description.contains("cut.png"))
        }
    }

    @Test func unsupportedCombinationsAndInterlace() {
        let cases: [(offset: Int, value: UInt8, expect: String)] = [
            (8, 4, "bit depth 4 with colour type 0"),  // grey 8 → 4 is valid in PNG, so expect a data-length error below
            (9, 2, "bit depth 8 with colour type 2"),
            (9, 5, "colour type 5"),
            (12, 1, "Adam7"),
        ]
        let png = PNGEncoder.encode(grey: [1, 2, 3, 4], width: 2, height: 2)
        for (offset, value, expected) in cases.dropFirst() {
            let error = dataError { _ = try decodePNG(patchedIHDR(png, offset: offset, value: value), name: "combo.png") }
            guard case .unsupportedImageFormat = error else {
                // Colour type 2 with 8 bits is valid: its data length no longer matches.
                if expected.contains("colour type 2"), case .badImage(_, let reason) = error { #expect(reason.contains("IDAT holds")); continue }
                Issue.record("\(expected): expected unsupportedImageFormat, got \(String(describing: error))"); continue
            }
            #expect(error!.description.contains(expected))
            #expect(error!.description.contains("combo.png"))
        }
        let rgb4 = PNGEncoder.encode(samples: [0, 0], width: 1, height: 1, colourType: 2, bitDepth: 4, channels: 3)
        let error = dataError { _ = try decodePNG(rgb4, name: "rgb4.png") }
        guard case .unsupportedImageFormat = error else { Issue.record("expected unsupportedImageFormat, got \(String(describing: error))"); return }
        #expect(error!.description.contains("bit depth 4 with colour type 2"))
    }

    @Test func wrongDataLengthAndBadFilter() {
        let png = PNGEncoder.encode(grey: [1, 2, 3, 4], width: 2, height: 2)
        let taller = patchedIHDR(png, offset: 7, value: 3)  // height 2 → 3
        let error = dataError { _ = try decodePNG(taller, name: "short.png") }
        guard case .badImage(_, let reason) = error else { Issue.record("expected badImage, got \(String(describing: error))"); return }
        #expect(reason.contains("IDAT holds 6 bytes, expected 9"))

        var file = PNGDecoder.signature
        PNGEncoder.appendChunk(&file, "IHDR", [0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0])
        PNGEncoder.appendChunk(&file, "IDAT", Zlib.compress([5, 0], format: .zlib))
        PNGEncoder.appendChunk(&file, "IEND", [])
        let filterError = dataError { _ = try decodePNG(file, name: "filter.png") }
        guard case .badImage(_, let filterReason) = filterError else { Issue.record("expected badImage, got \(String(describing: filterError))"); return }
        #expect(filterReason.contains("filter type 5"))
    }

    @Test func corruptIDAT() {
        var file = PNGDecoder.signature
        PNGEncoder.appendChunk(&file, "IHDR", [0, 0, 0, 4, 0, 0, 0, 4, 8, 0, 0, 0, 0])
        var stream = Zlib.compress([UInt8](repeating: 0, count: 20), format: .zlib)
        stream[stream.count - 1] ^= 0xff  // the Adler-32 check
        PNGEncoder.appendChunk(&file, "IDAT", stream)
        PNGEncoder.appendChunk(&file, "IEND", [])
        let error = dataError { _ = try decodePNG(file, name: "adler.png") }
        guard case .badImage(_, let reason) = error else { Issue.record("expected badImage, got \(String(describing: error))"); return }
        #expect(reason.contains("zlib"))
    }

    @Test func unknownCriticalChunkAndMissingIEND() {
        var file = PNGDecoder.signature
        PNGEncoder.appendChunk(&file, "IHDR", [0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0])
        PNGEncoder.appendChunk(&file, "teXt", Array("ignored".utf8))
        PNGEncoder.appendChunk(&file, "IDAT", Zlib.compress([0, 200], format: .zlib))
        expectClose((try? decodePNG(file + { var end: [UInt8] = []; PNGEncoder.appendChunk(&end, "IEND", []); return end }()))?.pixels ?? [], [Float(200) / 255])
        #expect(throws: DataError.self) { _ = try decodePNG(file) }
        var critical = file
        PNGEncoder.appendChunk(&critical, "ZZZZ", [])
        #expect(throws: DataError.self) { _ = try decodePNG(critical) }
    }
}

@Suite struct PGMDecoderDataTests {
    @Test func binaryEightBit() throws {
        let bytes = Array("P5\n# a comment\n3 2\n255\n".utf8) + [0, 51, 255, 102, 204, 1]
        let image = try PGMDecoder.decode(bytes, path: "a.pgm")
        #expect(image.width == 3 && image.height == 2)
        expectClose(image.pixels, [0, 0.2, 1, 0.4, 0.8, Float(1) / 255])
    }

    @Test func binarySixteenBit() throws {
        let bytes = Array("P5 2 1 1000 ".utf8) + [0x03, 0xe8, 0x01, 0xf4]
        expectClose(try PGMDecoder.decode(bytes, path: "b.pgm").pixels, [1, 0.5])
    }

    @Test func asciiWithComments() throws {
        let text = "P2\n# made by hand\n2 2 # size\n# max\n15\n0 15\n 5 # third\n10\n"
        expectClose(try PGMDecoder.decode(Array(text.utf8), path: "c.pgm").pixels, [0, 1, Float(5) / 15, Float(10) / 15])
    }

    @Test func badFiles() {
        let cases: [(String, [UInt8])] = [
            ("maxval0.pgm", Array("P2 1 1 0 0".utf8)),
            ("maxval-big.pgm", Array("P2 1 1 70000 0".utf8)),
            ("few-ascii.pgm", Array("P2 2 2 255 1 2 3".utf8)),
            ("few-binary.pgm", Array("P5 2 2 255\n".utf8) + [1, 2, 3]),
            ("above-max.pgm", Array("P2 1 1 10 11".utf8)),
            ("extra.pgm", Array("P2 1 1 10 1 2".utf8)),
            ("zero-size.pgm", Array("P5 0 2 255\n".utf8)),
            ("header.pgm", Array("P5 2".utf8)),
            ("letters.pgm", Array("P2 a b".utf8)),
        ]
        for (name, bytes) in cases {
            let error = dataError { _ = try PGMDecoder.decode(bytes, path: name) }
            #expect(error != nil, "\(name) should be refused")
            #expect(error?.description.contains(name) == true, "\(String(describing: error))")
        }
    }
}

@Suite struct ImageFileDataTests {
    @Test func sniffsPNGAndPGMAndRefusesOthers() throws {
        let folder = try TemporaryFolder()
        let png = try folder.write(PNGEncoder.encode(grey: [0, 255], width: 2, height: 1), to: "digit.png")
        expectClose(try ImageFile.load(png.path).pixels, [0, 1])
        // The extension does not matter, the bytes do.
        let pgm = try folder.write(Array("P2 1 1 255 255".utf8), to: "digit.png.txt")
        expectClose(try ImageFile.load(pgm.path).pixels, [1])
        for (name, bytes, found) in [("photo.jpg", [0xff, 0xd8, 0xff, 0xe0] as [UInt8], "JPEG"),
                                     ("colour.ppm", Array("P6 1 1 255 abc".utf8), "PPM"),
                                     ("empty.png", [], "empty"),
                                     ("notes.txt", Array("hello".utf8), "unknown")] {
            let url = try folder.write(bytes, to: name)
            let error = dataError { _ = try ImageFile.load(url.path) }
            guard case .unsupportedImageFormat = error else { Issue.record("\(name): got \(String(describing: error))"); continue }
            #expect(error!.description.contains(name))
            #expect(error!.description.contains(found))
        }
        let missing = dataError { _ = try ImageFile.load(folder.url.appendingPathComponent("absent.png").path) }
        #expect(missing?.description.contains("absent.png") == true)
    }

    @Test func encoderRoundTripsGreyImage() throws {
        let image = GreyImage(width: 3, height: 1, pixels: [0, 0.5, 1])
        expectClose(try decodePNG(PNGEncoder.encode(image)).pixels, [0, Float(128) / 255, 1])
    }
}
