import Testing
@testable import BNNReport

@Suite struct ReportPlaceholderTests {
    @Test func moduleLoads() { #expect(String(describing: BNNReport.self) == "BNNReport") }
}
