import Testing
@testable import BNN

@Suite struct TensorTests {
    /// On glibc the allocator takes the fixed mapping threshold (elsewhere the call does nothing), and
    /// tensors allocated and freed afterwards keep their contents and alignment.
    @Test func largeAllocationsAreMappedOnGlibc() {
        #if os(Linux) && canImport(Glibc)
        #expect(Tensor.mapLargeAllocations())
        #else
        #expect(!Tensor.mapLargeAllocations())
        #endif
        for size in [1000, 100_000, 1_000_000] {
            let tensor = Tensor(shape: [size], repeating: 2)
            #expect(Int(bitPattern: tensor.pointer) % 64 == 0)
            #expect(tensor.pointer[size - 1] == 2 && tensor.pointer[0] == 2)
        }
    }

    @Test func shapeAndValues() {
        let t = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        #expect(t.count == 6)
        #expect(t.rows == 2 && t.columns == 3)
        #expect(t[1, 2] == 6)
    }
}
