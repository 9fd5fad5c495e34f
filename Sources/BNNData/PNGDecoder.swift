import BNN
import Foundation

/// Decodes non-interlaced PNG images (ISO/IEC 15948) to grey (`decode`) or keeping their colour (`decodeImage`).
///
/// Supports every standard colour type and bit depth: grey (1, 2, 4, 8, 16 bits), grey + alpha (8,
/// 16), RGB (8, 16), RGBA (8, 16) and palette (1, 2, 4, 8), with `tRNS` transparency, and all five
/// row filters. Checks the signature, every chunk's CRC-32, IHDR's values, the zlib stream of the
/// concatenated `IDAT` chunks and that it holds exactly the bytes the image needs. Adam7-interlaced
/// images are refused with a clear error.
///
/// Colour becomes grey by the Rec. 601 luma, `0.299 R + 0.587 G + 0.114 B`; transparency is
/// composited over white (`a·grey + (1 − a)`), so a dark digit drawn on a transparent background reads
/// as a dark digit on white paper.
public enum PNGDecoder {
    /// The eight bytes every PNG file starts with.
    public static let signature: [UInt8] = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]

    /// The largest image accepted by default, in pixels (a guard against decompression bombs).
    public static let maximumPixelCount = 1 << 26

    /// IHDR's fields.
    struct Header {
        var width = 0, height = 0, bitDepth = 0, colourType = 0, interlaced = false

        var channels: Int { [0: 1, 2: 3, 3: 1, 4: 2, 6: 4][colourType] ?? 1 }
        var bitsPerPixel: Int { channels * bitDepth }
        /// Bytes per complete pixel, at least 1 (the filter's "bpp").
        var filterStride: Int { max(1, bitsPerPixel / 8) }
        var rowBytes: Int { (width * bitsPerPixel + 7) / 8 }
    }

    /// Decodes PNG bytes; `path` names the file in errors.
    ///
    /// - Parameter maximumPixelCount: the largest width × height accepted; IHDR is checked against it
    ///   before anything is allocated or inflated.
    public static func decode(_ bytes: [UInt8], path: String, maximumPixelCount: Int = maximumPixelCount) throws -> GreyImage {
        let samples = try decodeSamples(bytes, path: path, maximumPixelCount: maximumPixelCount)
        return try toGrey(samples.rows, header: samples.header, palette: samples.palette, paletteAlpha: samples.paletteAlpha,
                          transparentKey: samples.transparentKey, path: path)
    }

    /// Decodes PNG bytes keeping their colour (`DecodedImage`): grey and grey + alpha images give one
    /// channel, RGB, RGBA and palette images three — or one when every pixel has R = G = B, so that a grey
    /// picture saved as RGB stays grey. Transparency is composited over black (`a · value`): a data set's
    /// transparent background becomes a plain dark one, the same for every image. (`decode` composites over
    /// white instead, for digits drawn on paper.)
    ///
    /// - Parameter maximumPixelCount: the largest width × height accepted, checked before anything is inflated.
    public static func decodeImage(_ bytes: [UInt8], path: String, maximumPixelCount: Int = maximumPixelCount) throws -> DecodedImage {
        let samples = try decodeSamples(bytes, path: path, maximumPixelCount: maximumPixelCount)
        return try toColour(samples, path: path)
    }

    /// What the chunks hold: IHDR, the palette and transparency, and the unfiltered rows.
    struct Samples {
        var header: Header
        var palette: [(Float, Float, Float)]
        var paletteAlpha: [Float]
        var transparentKey: [Int]?
        var rows: [UInt8]
    }

    /// Checks the chunks and inflates and unfilters the image data (shared by `decode` and `decodeImage`).
    static func decodeSamples(_ bytes: [UInt8], path: String, maximumPixelCount: Int) throws -> Samples {
        guard bytes.starts(with: signature) else {
            let found = bytes.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " ")
            throw DataError.badMagic(path: path, expected: "the PNG signature 89 50 4e 47 0d 0a 1a 0a",
                                     found: found.isEmpty ? "an empty file" : found)
        }
        var header: Header?
        var palette: [(Float, Float, Float)] = []
        var paletteAlpha: [Float] = []
        var transparentKey: [Int]?
        var compressed: [UInt8] = []
        var sawEnd = false
        var position = 8
        while position < bytes.count && !sawEnd {
            guard bytes.count - position >= 12 else {
                throw DataError.truncated(path: path, expected: "a complete chunk (at least 12 bytes) at byte \(position)",
                                          found: "only \(bytes.count - position) bytes remain")
            }
            let length = Int(readUInt32(bytes, position))
            let type = String(decoding: bytes[(position + 4)..<(position + 8)], as: UTF8.self)
            guard length <= Int(Int32.max) else {
                throw DataError.badImage(path: path, reason: "chunk \(type) at byte \(position) claims \(length) bytes")
            }
            guard bytes.count - position - 12 >= length else {
                throw DataError.truncated(path: path, expected: "chunk \(type) at byte \(position) to hold \(length) bytes",
                                          found: "only \(bytes.count - position - 12) bytes remain")
            }
            let dataStart = position + 8
            let storedCRC = readUInt32(bytes, dataStart + length)
            let computedCRC = bytes.withUnsafeBytes { Zlib.crc32(UnsafeRawBufferPointer(rebasing: $0[(position + 4)..<(dataStart + length)])) }
            guard storedCRC == computedCRC else {
                throw DataError.badImage(
                    path: path, reason: "CRC mismatch in chunk \(type) at byte \(position): stored \(String(format: "%08x", storedCRC)), computed \(String(format: "%08x", computedCRC))")
            }
            let data = bytes[dataStart..<(dataStart + length)]
            if header == nil && type != "IHDR" {
                throw DataError.badImage(path: path, reason: "the first chunk must be IHDR, found \(type)")
            }
            switch type {
            case "IHDR":
                guard header == nil else { throw DataError.badImage(path: path, reason: "more than one IHDR chunk") }
                header = try parseHeader(Array(data), path: path, maximumPixelCount: maximumPixelCount)
            case "PLTE":
                guard length % 3 == 0, length >= 3, length <= 768 else {
                    throw DataError.badImage(path: path, reason: "PLTE must hold 1–256 RGB entries, found \(length) bytes")
                }
                palette = stride(from: dataStart, to: dataStart + length, by: 3).map {
                    (Float(bytes[$0]) / 255, Float(bytes[$0 + 1]) / 255, Float(bytes[$0 + 2]) / 255)
                }
            case "tRNS":
                guard let header else { break }
                switch header.colourType {
                case 3: paletteAlpha = data.map { Float($0) / 255 }
                case 0 where length == 2: transparentKey = [Int(readUInt16(bytes, dataStart))]
                case 2 where length == 6:
                    transparentKey = [0, 2, 4].map { Int(readUInt16(bytes, dataStart + $0)) }
                default:
                    throw DataError.badImage(path: path, reason: "tRNS of \(length) bytes does not fit colour type \(header.colourType)")
                }
            case "IDAT":
                compressed.append(contentsOf: data)
            case "IEND":
                sawEnd = true
            default:
                // Ancillary chunks (lower-case first letter) may be ignored; critical ones may not.
                if let first = type.utf8.first, first >= 0x41, first <= 0x5a {
                    throw DataError.unsupportedImageFormat(path: path, found: "unknown critical chunk \(type)",
                                                           hint: "re-save the image as a standard PNG")
                }
            }
            position = dataStart + length + 4
        }
        guard let header else {
            throw DataError.truncated(path: path, expected: "an IHDR chunk after the signature", found: "the file ends")
        }
        guard sawEnd else {
            throw DataError.truncated(path: path, expected: "chunks up to IEND", found: "the file ends at byte \(bytes.count) without IEND")
        }
        guard !compressed.isEmpty else { throw DataError.badImage(path: path, reason: "no IDAT chunk (no image data)") }
        if header.colourType == 3 && palette.isEmpty {
            throw DataError.badImage(path: path, reason: "palette image without a PLTE chunk")
        }
        // The filtered rows need exactly this many bytes (IHDR's sizes are bounded, so no overflow).
        let expected = header.height * (header.rowBytes + 1)
        let layout = "\(header.height) rows of \(header.rowBytes + 1) bytes (\(header.width)×\(header.height), \(header.bitDepth)-bit colour type \(header.colourType))"
        let raw: [UInt8]
        do {
            raw = try Zlib.decompress(compressed, format: .zlib, path: path, limit: expected)
        } catch let error as DataError {
            switch error {
            case .corruptGzip(_, let reason): throw DataError.badImage(path: path, reason: "corrupt zlib stream in IDAT: \(reason)")
            case .tooLarge:
                throw DataError.badImage(path: path, reason: "IDAT holds more than the \(expected) bytes of \(layout)")
            default: throw error
            }
        }
        guard raw.count == expected else {
            throw DataError.badImage(path: path, reason: "IDAT holds \(raw.count) bytes, expected \(expected) for \(layout)")
        }
        let rows = try unfilter(raw, header: header, path: path)
        return Samples(header: header, palette: palette, paletteAlpha: paletteAlpha, transparentKey: transparentKey, rows: rows)
    }

    /// The width and height IHDR declares, read without checking anything else (no CRC, no other chunk),
    /// or nil when `bytes` do not start with a PNG signature and an IHDR chunk.
    public static func declaredDimensions(of bytes: [UInt8]) -> (width: Int, height: Int)? {
        guard bytes.count >= 24, bytes.starts(with: signature), bytes[12..<16].elementsEqual("IHDR".utf8) else { return nil }
        return (Int(readUInt32(bytes, 16)), Int(readUInt32(bytes, 20)))
    }

    /// `width × height` when both are positive and the product is at most `maximum` (checked
    /// multiplication: any sizes, even 2^32 − 1 each, are safe to pass), else nil.
    public static func pixelCount(width: Int, height: Int, maximum: Int) -> Int? {
        guard width > 0, height > 0 else { return nil }
        let (product, overflow) = width.multipliedReportingOverflow(by: height)
        return !overflow && product <= maximum ? product : nil
    }

    static func readUInt32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        UInt32(bytes[at]) << 24 | UInt32(bytes[at + 1]) << 16 | UInt32(bytes[at + 2]) << 8 | UInt32(bytes[at + 3])
    }

    static func readUInt16(_ bytes: [UInt8], _ at: Int) -> UInt16 { UInt16(bytes[at]) << 8 | UInt16(bytes[at + 1]) }

    /// Parses and checks IHDR, refusing images of more than `maximumPixelCount` pixels.
    static func parseHeader(_ data: [UInt8], path: String, maximumPixelCount: Int = maximumPixelCount) throws -> Header {
        guard data.count == 13 else { throw DataError.badImage(path: path, reason: "IHDR must be 13 bytes, found \(data.count)") }
        var header = Header()
        header.width = Int(readUInt32(data, 0))
        header.height = Int(readUInt32(data, 4))
        header.bitDepth = Int(data[8])
        header.colourType = Int(data[9])
        guard header.width > 0, header.height > 0, header.width <= Int(Int32.max), header.height <= Int(Int32.max) else {
            throw DataError.badImage(path: path, reason: "width and height must be 1…2^31−1, found \(header.width)×\(header.height)")
        }
        guard pixelCount(width: header.width, height: header.height, maximum: maximumPixelCount) != nil else {
            throw DataError.badImage(path: path, reason: "image of \(header.width)×\(header.height) is too large (at most \(maximumPixelCount) pixels)")
        }
        let allowed: [Int: [Int]] = [0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16]]
        guard let depths = allowed[header.colourType] else {
            throw DataError.unsupportedImageFormat(path: path, found: "colour type \(header.colourType)",
                                                   hint: "PNG defines colour types 0, 2, 3, 4 and 6")
        }
        guard depths.contains(header.bitDepth) else {
            throw DataError.unsupportedImageFormat(
                path: path, found: "bit depth \(header.bitDepth) with colour type \(header.colourType)",
                hint: "this colour type allows bit depths \(depths.map(String.init).joined(separator: ", "))")
        }
        guard data[10] == 0, data[11] == 0 else {
            throw DataError.unsupportedImageFormat(path: path, found: "compression method \(data[10]), filter method \(data[11])",
                                                   hint: "PNG defines only method 0 for both")
        }
        guard data[12] <= 1 else { throw DataError.badImage(path: path, reason: "interlace method \(data[12]) (must be 0 or 1)") }
        guard data[12] == 0 else {
            throw DataError.unsupportedImageFormat(path: path, found: "an Adam7-interlaced PNG",
                                                   hint: "re-save it without interlacing")
        }
        return header
    }

    /// Undoes the per-row filters (None, Sub, Up, Average, Paeth), returning the rows without filter bytes.
    static func unfilter(_ raw: [UInt8], header: Header, path: String) throws -> [UInt8] {
        let rowBytes = header.rowBytes, stride = header.filterStride
        var output = [UInt8](repeating: 0, count: rowBytes * header.height)
        try raw.withUnsafeBufferPointer { source in
            try output.withUnsafeMutableBufferPointer { destination in
                for row in 0..<header.height {
                    let filter = source[row * (rowBytes + 1)]
                    let input = source.baseAddress! + row * (rowBytes + 1) + 1
                    let current = destination.baseAddress! + row * rowBytes
                    let previous: UnsafeMutablePointer<UInt8>? = row > 0 ? current - rowBytes : nil
                    switch filter {
                    case 0:
                        for i in 0..<rowBytes { current[i] = input[i] }
                    case 1:
                        for i in 0..<rowBytes { current[i] = input[i] &+ (i >= stride ? current[i - stride] : 0) }
                    case 2:
                        for i in 0..<rowBytes { current[i] = input[i] &+ (previous?[i] ?? 0) }
                    case 3:
                        for i in 0..<rowBytes {
                            let left = i >= stride ? Int(current[i - stride]) : 0
                            let up = Int(previous?[i] ?? 0)
                            current[i] = input[i] &+ UInt8((left + up) / 2)
                        }
                    case 4:
                        for i in 0..<rowBytes {
                            let a = i >= stride ? Int(current[i - stride]) : 0
                            let b = Int(previous?[i] ?? 0)
                            let c = i >= stride ? Int(previous?[i - stride] ?? 0) : 0
                            current[i] = input[i] &+ UInt8(paeth(a, b, c))
                        }
                    default:
                        throw DataError.badImage(path: path, reason: "row \(row) has filter type \(filter) (must be 0–4)")
                    }
                }
            }
        }
        return output
    }

    /// The Paeth predictor: whichever of left, up, upper-left is closest to left + up − upper-left.
    @inline(__always)
    static func paeth(_ a: Int, _ b: Int, _ c: Int) -> Int {
        let p = a + b - c
        let pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
        if pa <= pb && pa <= pc { return a }
        return pb <= pc ? b : c
    }

    /// The sample at `index` (counted in samples, not bytes) of row `row` of unfiltered rows.
    @inline(__always)
    static func sample(_ rows: [UInt8], rowBytes: Int, depth: Int, row: Int, index: Int) -> Int {
        let base = row * rowBytes
        switch depth {
        case 8: return Int(rows[base + index])
        case 16: return Int(rows[base + 2 * index]) << 8 | Int(rows[base + 2 * index + 1])
        default:
            let bit = index * depth
            let byte = Int(rows[base + bit / 8])
            return (byte >> (8 - depth - bit % 8)) & ((1 << depth) - 1)
        }
    }

    /// Converts unfiltered rows to channel-major values in [0, 1], compositing transparency over black.
    static func toColour(_ samples: Samples, path: String) throws -> DecodedImage {
        let header = samples.header, rows = samples.rows
        let width = header.width, height = header.height, depth = header.bitDepth
        let rowBytes = header.rowBytes, channels = header.channels
        let maxSample = Float((1 << depth) - 1)
        let plane = width * height
        let colour = [2, 3, 6].contains(header.colourType)
        var pixels = [Float](repeating: 0, count: (colour ? 3 : 1) * plane)
        var allGrey = true
        for y in 0..<height {
            for x in 0..<width {
                let first = x * channels
                func at(_ offset: Int) -> Int { sample(rows, rowBytes: rowBytes, depth: depth, row: y, index: first + offset) }
                var r: Float, g: Float, b: Float
                var alpha: Float = 1
                switch header.colourType {
                case 0:
                    let value = at(0)
                    r = Float(value) / maxSample; g = r; b = r
                    if let key = samples.transparentKey, key[0] == value { alpha = 0 }
                case 2:
                    let (ri, gi, bi) = (at(0), at(1), at(2))
                    r = Float(ri) / maxSample; g = Float(gi) / maxSample; b = Float(bi) / maxSample
                    if let key = samples.transparentKey, key == [ri, gi, bi] { alpha = 0 }
                case 3:
                    let index = at(0)
                    guard index < samples.palette.count else {
                        throw DataError.badImage(path: path, reason: "pixel (\(x), \(y)) uses palette entry \(index) but PLTE has \(samples.palette.count)")
                    }
                    (r, g, b) = samples.palette[index]
                    if index < samples.paletteAlpha.count { alpha = samples.paletteAlpha[index] }
                case 4:
                    r = Float(at(0)) / maxSample; g = r; b = r
                    alpha = Float(at(1)) / maxSample
                default:
                    r = Float(at(0)) / maxSample; g = Float(at(1)) / maxSample; b = Float(at(2)) / maxSample
                    alpha = Float(at(3)) / maxSample
                }
                let position = y * width + x
                if colour {
                    pixels[position] = alpha * r
                    pixels[plane + position] = alpha * g
                    pixels[2 * plane + position] = alpha * b
                    if r != g || g != b { allGrey = false }
                } else {
                    pixels[position] = alpha * r
                }
            }
        }
        if colour && allGrey { pixels.removeLast(2 * plane) }
        return DecodedImage(width: width, height: height, channels: colour && !allGrey ? 3 : 1, pixels: pixels)
    }

    /// Converts unfiltered rows to grey in [0, 1], compositing transparency over white.
    static func toGrey(_ rows: [UInt8], header: Header, palette: [(Float, Float, Float)], paletteAlpha: [Float],
                       transparentKey: [Int]?, path: String) throws -> GreyImage {
        let width = header.width, height = header.height, depth = header.bitDepth
        let rowBytes = header.rowBytes, channels = header.channels
        let maxSample = Float((1 << depth) - 1)
        var pixels = [Float](repeating: 0, count: width * height)
        func sample(_ row: Int, _ index: Int) -> Int { PNGDecoder.sample(rows, rowBytes: rowBytes, depth: depth, row: row, index: index) }
        for y in 0..<height {
            for x in 0..<width {
                let first = x * channels
                var grey: Float
                var alpha: Float = 1
                switch header.colourType {
                case 0:
                    let value = sample(y, first)
                    grey = Float(value) / maxSample
                    if let key = transparentKey, key[0] == value { alpha = 0 }
                case 2:
                    let r = sample(y, first), g = sample(y, first + 1), b = sample(y, first + 2)
                    grey = (0.299 * Float(r) + 0.587 * Float(g) + 0.114 * Float(b)) / maxSample
                    if let key = transparentKey, key == [r, g, b] { alpha = 0 }
                case 3:
                    let index = sample(y, first)
                    guard index < palette.count else {
                        throw DataError.badImage(path: path, reason: "pixel (\(x), \(y)) uses palette entry \(index) but PLTE has \(palette.count)")
                    }
                    let (r, g, b) = palette[index]
                    grey = 0.299 * r + 0.587 * g + 0.114 * b
                    if index < paletteAlpha.count { alpha = paletteAlpha[index] }
                case 4:
                    grey = Float(sample(y, first)) / maxSample
                    alpha = Float(sample(y, first + 1)) / maxSample
                default:
                    let r = sample(y, first), g = sample(y, first + 1), b = sample(y, first + 2)
                    grey = (0.299 * Float(r) + 0.587 * Float(g) + 0.114 * Float(b)) / maxSample
                    alpha = Float(sample(y, first + 3)) / maxSample
                }
                pixels[y * width + x] = min(1, max(0, alpha * grey + (1 - alpha)))
            }
        }
        return GreyImage(width: width, height: height, pixels: pixels)
    }
}
