import Testing
@testable import BNN

@Suite struct TensorTests {
    @Test func shapeAndValues() {
        let t = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        #expect(t.count == 6)
        #expect(t.rows == 2 && t.columns == 3)
        #expect(t[1, 2] == 6)
    }
}
