import BNN
import BNNData
import FuzzDriver

// gzip and zlib streams: the data-set path (output bounded by the IDX header inside) and plain
// decompression under a small limit; each returns bytes or throws a `DataError`.
FuzzDriver.run { bytes in
    _ = try? IDXFile.decompressIfNeeded(bytes, path: "fuzz.gz")
    _ = try? Zlib.decompress(bytes, format: .automatic, path: "fuzz.z", limit: 1 << 20)
}
