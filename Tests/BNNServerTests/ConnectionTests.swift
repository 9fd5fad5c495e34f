import BNN
import Foundation
import Hummingbird
import Testing
@testable import BNNServer

/// The server on a real socket against clients that misbehave: a PNG header that overflowed, bodies
/// shorter than declared, wrong methods, endless uploads, slow headers, too many connections.
@Suite(.serialized) struct ConnectionTests {
    typealias F = ServerFixtures

    /// Runs `body` with the port of a `bnn serve` process (the built executable, beside the test bundle)
    /// listening on 127.0.0.1 with these limits, then stops it. A process of its own: in this one, the
    /// other tests' synchronous work can hold the cooperative threads that the server's handlers need for
    /// longer than any timeout.
    func withLiveServer(requestTimeout: Double = 10, maximumConnections: Int = ServerLimits.maximumConnections,
                        _ body: (Int) async throws -> Void) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bnn-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = folder.appendingPathComponent("tiny.safetensors")
        try F.tinyModel().save(to: model)
        let bundleFolder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let executable = try #require([bundleFolder, bundleFolder.deletingLastPathComponent(), bundleFolder.deletingLastPathComponent().deletingLastPathComponent()]
            .map { $0.appendingPathComponent("bnn") }.first { FileManager.default.isExecutableFile(atPath: $0.path) })
        let server = Process()
        server.executableURL = executable
        server.arguments = ["serve", "--model", model.path, "--port", "0", "--data-dir", folder.path, "--samples", "5",
                            "--request-timeout", "\(requestTimeout)", "--max-connections", "\(maximumConnections)", "--log-level", "warning"]
        let errors = Pipe()
        server.standardError = errors
        try server.run()
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        // The port is in the line "… open http://127.0.0.1:PORT/ (Ctrl-C stops)".
        var log = ""
        while !log.contains("/ (Ctrl-C stops)") {
            let data = errors.fileHandleForReading.availableData
            if data.isEmpty { break }
            log += String(decoding: data, as: UTF8.self)
        }
        let port = try #require(log.components(separatedBy: "http://127.0.0.1:").dropFirst().first
            .flatMap { Int($0.prefix { $0.isNumber }) }, "no port in: \(log)")
        try await body(port)
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
        try await withLiveServer { port in
            let connection = try #require(RawConnection(port: port, timeout: 30))
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
            let connection = try #require(RawConnection(port: port, timeout: 10))
            connection.send("POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
            let chunk = Array("10000\r\n".utf8) + [UInt8](repeating: UInt8(ascii: " "), count: 0x10000) + Array("\r\n".utf8)
            var sent = 0
            var received = ""
            // At most 64 MB: the server must stop reading long before (it used to read 3.4 GB in 30 s).
            while sent < 1024, connection.send(chunk) {
                sent += 1
                received += connection.receiveAvailable()
            }
            #expect(sent < 1024, "the server read 64 MB of an upload it had refused")
            let rest = connection.receiveAll()
            #expect(rest.closed, "the server stopped reading but kept the connection open")
            // Closing with unread upload bytes resets the connection, which may discard the answer before it
            // is read; what did arrive must be the 413.
            received += rest.text
            #expect(received.isEmpty || received.hasPrefix("HTTP/1.1 413"), "\(received.prefix(200))")
        }
    }

    /// A connection that never finishes its request head is closed after the request timeout.
    @Test func slowHeaderIsClosedAfterTheTimeout() async throws {
        try await withLiveServer(requestTimeout: 1) { port in
            let connection = try #require(RawConnection(port: port, timeout: 10))
            connection.send("GET /api/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            let started = Date()
            #expect(connection.isClosedByServer())
            #expect(Date().timeIntervalSince(started) < 8)
        }
    }

    /// Under a slowloris of 500 connections that each sent half a header, `/api/health` still answers.
    @Test func healthAnswersUnderASlowlorisOf500Connections() async throws {
        try await withLiveServer(requestTimeout: 60) { port in
            var slow: [RawConnection] = []
            for index in 0..<500 {
                let connection = try #require(RawConnection(port: port, timeout: 30), "connection \(index)")
                connection.send("GET / HTTP/1.1\r\nHost: x\r\nX-Slow-\(index): ")
                slow.append(connection)
            }
            let started = Date()
            let health = try #require(RawConnection(port: port, timeout: 30))
            health.send("GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
            let response = health.receiveResponse()
            #expect(Self.statusLine(response) == "HTTP/1.1 200 OK", "\(response.prefix(200))")
            #expect(Date().timeIntervalSince(started) < 10)
            for connection in slow.prefix(10) { connection.send("more: x\r\n") }
            withExtendedLifetime(slow) {}
        }
    }

    /// Beyond the connection limit a client waits until a connection closes; it is then served.
    @Test func connectionLimitHoldsExtraClientsBack() async throws {
        try await withLiveServer(requestTimeout: 60, maximumConnections: 4) { port in
            var idle: [RawConnection] = []
            for _ in 0..<4 {
                let connection = try #require(RawConnection(port: port, timeout: 30))
                connection.send("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                idle.append(connection)
            }
            try await Task.sleep(for: .milliseconds(300))
            let waiting = try #require(RawConnection(port: port, timeout: 1))
            waiting.send("GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(waiting.receiveResponse().isEmpty, "a fifth connection was served while four were open")
            idle.removeAll()
            let response = RawConnection(port: port, timeout: 30).map { connection in
                connection.send("GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
                return connection.receiveResponse()
            } ?? ""
            #expect(Self.statusLine(response) == "HTTP/1.1 200 OK" || Self.statusLine(waiting.receiveResponse()) == "HTTP/1.1 200 OK")
        }
    }
}
