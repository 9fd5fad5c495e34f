import BNN
import BNNData
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
@testable import BNNServer

/// The real server on a loopback port, over HTTP: what the in-process router tests cannot see (the
/// listening socket, the HTTP/1 codec, headers on the wire).
@Suite struct LiveServerTests {
    typealias F = ServerFixtures

    /// One request with URLSession; returns the status, the Content-Type and the body.
    static func send(_ method: String, _ url: String, contentType: String? = nil, body: Data? = nil) async throws -> (Int, String?, Data) {
        var request = URLRequest(url: try #require(URL(string: url)), cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: 30)
        request.httpMethod = method
        if let contentType { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        request.httpBody = body
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = try #require(response as? HTTPURLResponse)
        return (http.statusCode, http.value(forHTTPHeaderField: "Content-Type"), data)
    }

    @Test func answersOverHTTP() async throws {
        let predictor = try F.predictor()
        defer { predictor.shutdown() }
        try await F.withLiveServer(predictor: predictor, samples: F.samples(withMNIST: true)) { port in
            let base = "http://127.0.0.1:\(port)"
            let (healthStatus, healthType, healthBody) = try await Self.send("GET", base + "/api/health")
            #expect(healthStatus == 200 && healthType == "application/json; charset=utf-8")
            let health = try JSONSerialization.jsonObject(with: healthBody) as? [String: Any]
            #expect(health?["model"] as? String == "tiny.safetensors" && health?["samples"] as? Int == 20)

            let (pageStatus, pageType, page) = try await Self.send("GET", base + "/")
            #expect(pageStatus == 200 && pageType == "text/html; charset=utf-8")
            #expect(String(decoding: page, as: UTF8.self).contains("<canvas id=\"pad\""))

            let json = Data(String(buffer: F.jsonBody(pixels: F.sevenPixels(), extra: ",\"samples\":7")).utf8)
            let (predictStatus, _, predicted) = try await Self.send("POST", base + "/api/predict", contentType: "application/json", body: json)
            #expect(predictStatus == 200)
            #expect(try JSONDecoder().decode(PredictionResult.self, from: predicted).samples == 7)

            let (textStatus, _, textAnswer) = try await Self.send("POST", base + "/api/predict", contentType: "text/plain", body: json)
            #expect(textStatus == 415)
            #expect(try JSONDecoder().decode(ErrorAnswer.self, from: textAnswer).error.contains("text/plain"))

            let (missingStatus, missingType, missing) = try await Self.send("GET", base + "/nope")
            #expect(missingStatus == 404 && missingType == "application/json; charset=utf-8")
            #expect(try JSONDecoder().decode(ErrorAnswer.self, from: missing).error == "not found")
        }
    }
}
