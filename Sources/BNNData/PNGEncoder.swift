import BNN
import Foundation

/// Writes 8-bit grey or RGB PNG images (non-interlaced, zlib-compressed `IDAT`, correct CRCs).
///
/// Used to embed images in the HTML report and to make test fixtures; `filter` chooses the row filter
/// applied to every row (0 None, 1 Sub, 2 Up, 3 Average, 4 Paeth), so tests can exercise each one.
public enum PNGEncoder {
    /// A grey PNG from values in [0, 1] (rounded to 0…255; outside values are clamped).
    public static func encode(_ image: GreyImage, filter: UInt8 = 0) -> [UInt8] {
        let bytes = image.pixels.map { value -> UInt8 in
            let scaled = value * 255
            return scaled.isNaN || scaled <= 0 ? 0 : scaled >= 255 ? 255 : UInt8(scaled.rounded())
        }
        return encode(grey: bytes, width: image.width, height: image.height, filter: filter)
    }

    /// A grey PNG from 8-bit samples, row-major.
    public static func encode(grey samples: [UInt8], width: Int, height: Int, filter: UInt8 = 0) -> [UInt8] {
        precondition(samples.count == width * height, "Grey PNG of \(width)×\(height) needs \(width * height) bytes, got \(samples.count)")
        return encode(samples: samples, width: width, height: height, colourType: 0, bitDepth: 8, channels: 1, filter: filter)
    }

    /// An RGB PNG from 8-bit samples (R, G, B per pixel), row-major.
    public static func encode(rgb samples: [UInt8], width: Int, height: Int, filter: UInt8 = 0) -> [UInt8] {
        precondition(samples.count == 3 * width * height, "RGB PNG of \(width)×\(height) needs \(3 * width * height) bytes, got \(samples.count)")
        return encode(samples: samples, width: width, height: height, colourType: 2, bitDepth: 8, channels: 3, filter: filter)
    }

    /// Any 8- or 16-bit colour type from raw samples (`bytesPerPixel` bytes per pixel); tests use it
    /// for grey + alpha, RGBA and 16-bit images. Palette images also need `palette` (and `transparency`).
    static func encode(samples: [UInt8], width: Int, height: Int, colourType: UInt8, bitDepth: UInt8, channels: Int,
                       filter: UInt8 = 0, palette: [UInt8]? = nil, transparency: [UInt8]? = nil) -> [UInt8] {
        precondition(width > 0 && height > 0 && filter <= 4, "PNG needs a positive size and filter 0–4")
        let bitsPerPixel = channels * Int(bitDepth)
        let rowBytes = (width * bitsPerPixel + 7) / 8
        precondition(samples.count == rowBytes * height, "PNG rows need \(rowBytes * height) bytes, got \(samples.count)")
        let stride = max(1, bitsPerPixel / 8)
        var filtered: [UInt8] = []
        filtered.reserveCapacity((rowBytes + 1) * height)
        for row in 0..<height {
            filtered.append(filter)
            let base = row * rowBytes
            for i in 0..<rowBytes {
                let x = samples[base + i]
                let a = i >= stride ? Int(samples[base + i - stride]) : 0
                let b = row > 0 ? Int(samples[base - rowBytes + i]) : 0
                let c = row > 0 && i >= stride ? Int(samples[base - rowBytes + i - stride]) : 0
                let prediction: Int
                switch filter {
                case 1: prediction = a
                case 2: prediction = b
                case 3: prediction = (a + b) / 2
                case 4: prediction = PNGDecoder.paeth(a, b, c)
                default: prediction = 0
                }
                filtered.append(x &- UInt8(truncatingIfNeeded: prediction))
            }
        }
        var file = PNGDecoder.signature
        var header: [UInt8] = []
        appendUInt32(&header, UInt32(width))
        appendUInt32(&header, UInt32(height))
        header += [bitDepth, colourType, 0, 0, 0]
        appendChunk(&file, "IHDR", header)
        if let palette { appendChunk(&file, "PLTE", palette) }
        if let transparency { appendChunk(&file, "tRNS", transparency) }
        appendChunk(&file, "IDAT", Zlib.compress(filtered, format: .zlib, level: 9))
        appendChunk(&file, "IEND", [])
        return file
    }

    static func appendUInt32(_ bytes: inout [UInt8], _ value: UInt32) {
        bytes += [UInt8(value >> 24), UInt8((value >> 16) & 0xff), UInt8((value >> 8) & 0xff), UInt8(value & 0xff)]
    }

    /// Length, type, data, then the CRC-32 of type and data.
    static func appendChunk(_ file: inout [UInt8], _ type: String, _ data: [UInt8]) {
        appendUInt32(&file, UInt32(data.count))
        let typeAndData = Array(type.utf8) + data
        file += typeAndData
        appendUInt32(&file, Zlib.crc32(typeAndData))
    }
}
