import Foundation
import Testing
@testable import BNN
@testable import BNNData

/// gzip never trusts the size in its trailer, grows its buffer as data arrives, and stops at the size
/// the IDX header inside declares (or at a stated limit).
@Suite struct DecompressionLimitTests {
    /// The largest resident set the process has had so far, in bytes.
    static func peakResidentBytes() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss * 1024
    }

    /// The audit's 29-byte file: a gzip header, an empty deflate block that never ends, and a trailer
    /// claiming 2 GB. It used to allocate 2.1 GB and take 20 s.
    @Test func trailerClaimingTwoGigabytesFailsFastInLittleMemory() throws {
        let folder = try TemporaryFolder()
        var bytes = Zlib.compress(Array("0123456789".utf8))
        bytes.removeLast(8)
        bytes += [0, 0, 0, 0] + [0xff, 0xff, 0xff, 0x7f]  // CRC-32, then ISIZE = 2^31 − 1
        let url = try folder.write(bytes, to: "claims-2GB.gz")
        let before = Self.peakResidentBytes()
        let started = Date()
        let error = dataError { _ = try IDXFile.read(from: url) }
        #expect(Date().timeIntervalSince(started) < 1)
        #expect(Self.peakResidentBytes() - before < 64 << 20)
        #expect(error != nil)
        #expect(error?.description.contains("claims-2GB.gz") == true)
    }

    /// A bomb whose IDX header declares 10 images of 28×28 but inflates to 64 MB stops as soon as it passes
    /// the 7,856 bytes the header needs.
    @Test func bombStopsAtTheSizeItsIDXHeaderDeclares() throws {
        let folder = try TemporaryFolder()
        let header: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 10, 0, 0, 0, 28, 0, 0, 0, 28]
        let bomb = Zlib.compress(header + [UInt8](repeating: 0, count: 64 << 20), level: 9)
        let url = try folder.write(bomb, to: "bomb.idx.gz")
        let before = Self.peakResidentBytes()
        let error = dataError { _ = try IDXFile.read(from: url) }
        guard case .tooLarge(let path, let reason)? = error else { Issue.record("expected tooLarge, got \(String(describing: error))"); return }
        #expect(path.hasSuffix("bomb.idx.gz"))
        #expect(reason.contains("7856"))
        #expect(Self.peakResidentBytes() - before < 32 << 20)
    }

    /// Without a header to go by, the stated limit holds; the default is `Zlib.maximumOutputBytes`.
    @Test func statedLimitStopsAPlainStream() throws {
        let zeros = Zlib.compress([UInt8](repeating: 0, count: 4 << 20))
        #expect(throws: DataError.tooLarge(path: "zeros.gz", reason: "decompresses to more than 1048576 bytes, the most accepted")) {
            _ = try Zlib.decompress(zeros, path: "zeros.gz", limit: 1 << 20)
        }
        #expect(try Zlib.decompress(zeros, path: "zeros.gz", limit: 4 << 20).count == 4 << 20)
        #expect(Zlib.maximumOutputBytes == 1 << 30)
    }

    /// An IDX header whose sizes multiply past any memory is refused before anything is allocated.
    @Test func overflowingIDXHeaderIsTooLarge() throws {
        let header: [UInt8] = [0, 0, 8, 4] + [UInt8](repeating: 0xff, count: 16)
        let error = dataError { _ = try IDXFile(parsing: header, path: "huge.idx") }
        guard case .tooLarge(let path, _)? = error else { Issue.record("expected tooLarge, got \(String(describing: error))"); return }
        #expect(path == "huge.idx")
        let gzipped = Zlib.compress(header + [1, 2, 3])
        #expect(throws: DataError.self) { _ = try IDXFile.decompressIfNeeded(gzipped, path: "huge.idx.gz") }
    }

    /// Real data still decompresses exactly (the limit is the header's size, not one byte less).
    @Test func exactSizeIsAccepted() throws {
        let file = syntheticImages(count: 3)
        let gzipped = Zlib.compress(file.encoded())
        #expect(try IDXFile.decompressIfNeeded(gzipped, path: "ok.gz") == file.encoded())
    }
}
