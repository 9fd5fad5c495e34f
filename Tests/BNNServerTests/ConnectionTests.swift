import BNN
import Foundation
import Hummingbird
import Testing
@testable import BNNServer

/// The server on a real socket against clients that misbehave: a PNG header that overflowed, bodies
/// shorter than declared, wrong methods, endless uploads, slow headers, too many connections.
@Suite(.serialized) struct ConnectionTests {
    typealias F = ServerFixtures

    /// Runs `body` with the port of the app listening on 127.0.0.1 with these limits, then stops the app.
    /// (`F.withLiveServer` starts the default configuration; these tests need their own limits.)
    func withLiveServer(requestTimeout: Duration = .seconds(2), maximumConnections: Int = ServerLimits.maximumConnections,
                        _ body: @escaping @Sendable (Int) async throws -> Void) async throws {
        let predictor = try F.predictor()
        defer { predictor.shutdown() }
        var configuration = F.configuration
        configuration.requestTimeout = requestTimeout
        configuration.maximumConnections = maximumConnections
        let (ports, port) = AsyncStream.makeStream(of: Int.self)
        let app = F.app(predictor: predictor, configuration: configuration) { port.yield($0) }
        let server = Task { try await app.runService(gracefulShutdownSignals: []) }
        defer { server.cancel() }
        var iterator = ports.makeAsyncIterator()
        try await body(try #require(await iterator.next()))
        server.cancel()
        _ = await server.result
    }

    /// The first line of a response ("HTTP/1.1 400 Bad Request").
    static func statusLine(_ response: String) -> String { response.components(separatedBy: "\r\n").first ?? "" }

    /// The audit's 33-byte body: IHDR declaring 0xFFFFFFFF × 0xFFFFFFFF overflowed `width * height`.
    @Test func largestDeclaredPNGIs400() async throws {
        let body = RouterTests.pngHeader(width: 0xFFFF_FFFF, height: 0xFFFF_FFFF)
        #expect(throws: APIError.self) { _ = try PredictionInput.parsePNG(body, samples: 5) }
        let predictor = try F.predictor()
        defer { predictor.shutdown() }
        try await F.routes(predictor: predictor) { client in
            try await client.execute(uri: "/api/predict", method: .post, headers: F.pngHeaders, body: ByteBuffer(bytes: body)) { response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).contains("4294967295×4294967295"))
            }
        }
    }

    /// A wrong method on a known path is 405 with `Allow`; an unknown path stays 404.
    @Test func wrongMethodIs405WithAllow() async throws {
        let predictor = try F.predictor()
        defer { predictor.shutdown() }
        try await F.routes(predictor: predictor) { client in
            for (uri, method, allow) in [("/api/predict", HTTPRequest.Method.get, "POST"), ("/api/health", .post, "GET"),
                                         ("/", .delete, "GET"), ("/api/sample", .put, "GET")] {
                try await client.execute(uri: uri, method: method) { response in
                    #expect(response.status == .methodNotAllowed, "\(method) \(uri)")
                    #expect(response.headers[.allow] == allow, "\(method) \(uri)")
                    #expect(String(buffer: response.body).contains("\"error\""))
                }
            }
            try await client.execute(uri: "/api/nothing", method: .get) { response in
                #expect(response.status == .notFound)
            }
        }
    }

    /// A body that ends before its Content-Length is the client's fault: 400, not 500.
    @Test func bodyShorterThanContentLengthIs400() async throws {
        // A long idle timeout: on a loaded machine a 2 s one could close the connection before the answer.
        try await withLiveServer(requestTimeout: .seconds(20)) { port in
            let connection = try #require(RawConnection(port: port))
            connection.send("POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"pixels\":")
            connection.finishSending()
            let response = connection.receiveResponse()
            #expect(Self.statusLine(response) == "HTTP/1.1 400 Bad Request", "\(response)")
            #expect(response.contains("ended before"), "\(response)")
        }
    }

    /// After 413 the server closes the connection instead of reading an endless chunked upload.
    @Test func oversizeUploadIsCutOff() async throws {
        try await withLiveServer { port in
            let connection = try #require(RawConnection(port: port, timeout: 2))
            connection.send("POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
            let chunk = Array("10000\r\n".utf8) + [UInt8](repeating: UInt8(ascii: " "), count: 0x10000) + Array("\r\n".utf8)
            var sent = 0
            // At most 64 MB: the server must stop reading long before (it used to read 3.4 GB in 30 s).
            while sent < 1024, connection.send(chunk) { sent += 1 }
            #expect(sent < 1024, "the server read 64 MB of an upload it had refused")
            #expect(connection.receiveAll().hasPrefix("HTTP/1.1 413"))
        }
    }

    /// A connection that never finishes its request head is closed after the request timeout.
    @Test func slowHeaderIsClosedAfterTheTimeout() async throws {
        try await withLiveServer(requestTimeout: .seconds(1)) { port in
            let connection = try #require(RawConnection(port: port, timeout: 5))
            connection.send("GET /api/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            let started = Date()
            #expect(connection.isClosedByServer())
            #expect(Date().timeIntervalSince(started) < 4)
        }
    }

    /// Under a slowloris of 500 connections that each sent half a header, `/api/health` still answers.
    @Test func healthAnswersUnderASlowlorisOf500Connections() async throws {
        try await withLiveServer(requestTimeout: .seconds(30)) { port in
            var slow: [RawConnection] = []
            for index in 0..<500 {
                let connection = try #require(RawConnection(port: port), "connection \(index)")
                connection.send("GET / HTTP/1.1\r\nHost: x\r\nX-Slow-\(index): ")
                slow.append(connection)
            }
            let started = Date()
            let health = try #require(RawConnection(port: port, timeout: 5))
            health.send("GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
            let response = health.receiveResponse()
            #expect(Self.statusLine(response) == "HTTP/1.1 200 OK", "\(response.prefix(200))")
            #expect(Date().timeIntervalSince(started) < 5)
            for connection in slow.prefix(10) { connection.send("more: x\r\n") }
            withExtendedLifetime(slow) {}
        }
    }

    /// Beyond the connection limit a client waits until a connection closes; it is then served.
    @Test func connectionLimitHoldsExtraClientsBack() async throws {
        try await withLiveServer(requestTimeout: .seconds(30), maximumConnections: 4) { port in
            var idle: [RawConnection] = []
            for _ in 0..<4 {
                let connection = try #require(RawConnection(port: port))
                connection.send("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                idle.append(connection)
            }
            try await Task.sleep(for: .milliseconds(300))
            let waiting = try #require(RawConnection(port: port, timeout: 1))
            waiting.send("GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(waiting.receiveResponse().isEmpty, "a fifth connection was served while four were open")
            idle.removeAll()
            let response = RawConnection(port: port, timeout: 5).map { connection in
                connection.send("GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
                return connection.receiveResponse()
            } ?? ""
            #expect(Self.statusLine(response) == "HTTP/1.1 200 OK" || Self.statusLine(waiting.receiveResponse()) == "HTTP/1.1 200 OK")
        }
    }
}
