import BNN
import BNNData
import FuzzDriver

// IDX content (the data set format): parses or throws a `DataError`; a parsed image file becomes a set.
FuzzDriver.run { bytes in
    guard let file = try? IDXFile(parsing: bytes, path: "fuzz.idx") else { return }
    _ = try? UnlabeledImages(file: file, path: "fuzz.idx", expectedRows: nil, expectedColumns: nil)
}
