import Testing
@testable import BNNServer

@Suite struct ServerPlaceholderTests {
    @Test func moduleLoads() { #expect(String(describing: BNNServer.self) == "BNNServer") }
}
