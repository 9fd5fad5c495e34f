import BNN
import BNNData
import Foundation
import Hummingbird
import Testing
@testable import BNNServer

/// Every endpoint and every error, driven through the router in process.
@Suite struct RouterTests {
    typealias F = ServerFixtures

    @Test func pageIsSelfContainedAndTouchReady() async throws {
        let predictor = try F.predictor()
        defer { predictor.shutdown() }
        try await F.routes(predictor: predictor) { client in
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                let html = String(buffer: response.body)
                #expect(html.contains(#"<canvas id="pad" width="280" height="280""#))
                #expect(html.contains("touch-action:none"))
                #expect(html.contains("name=\"viewport\""))
                for id in ["undo", "clear", "sample-mnist", "sample-notmnist", "sample-noise", "answer", "why", "strips", "gauge"] {
                    #expect(html.contains("id=\"\(id)\""), "the page has no #\(id)")
                }
                // No external assets: nothing is fetched from another origin.
                #expect(!html.contains("src=\"http") && !html.contains("href=\"http") && !html.contains("url(http"))
            }
        }
    }

    @Test func health() async throws {
        let predictor = try F.predictor()
        defer { predictor.shutdown() }
        try await F.routes(predictor: predictor, withMNIST: true) { client in
            try await client.execute(uri: "/api/health", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json; charset=utf-8")
                let object = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
                #expect(object?["status"] as? String == "ok")
                #expect(object?["model"] as? String == "tiny.safetensors")
                #expect(object?["rule"] as? String == "calibrated")
                #expect(object?["score"] as? String == "mutual_information")
                #expect(object?["samples"] as? Int == 20)
                #expect(object?["sample_kinds"] as? [String] == ["mnist", "noise"])
                #expect((object?["threshold"] as? Double).map { abs($0 - 0.05) < 1e-6 } == true)
            }
        }
    }

    @Test func predictPixels() async throws {
        let predictor = try F.predictor()
        defer { predictor.shutdown() }
        try await F.routes(predictor: predictor) { client in
            try await client.execute(uri: "/api/predict", method: .post, headers: F.jsonHeaders,
                                     body: F.jsonBody(pixels: F.sevenPixels(), extra: ",\"samples\":50")) { response in
                #expect(response.status == .ok)
                let result = try F.decode(PredictionResult.self, response.body)
                #expect(result.samples == 50)
                #expect(result.median.count == 10 && result.p05.count == 10 && result.p95.count == 10 && result.mean.count == 10)
                for c in 0..<10 {
                    #expect(result.p05[c] <= result.median[c] + 1e-6 && result.median[c] <= result.p95[c] + 1e-6)
                    #expect((0...1).contains(result.median[c]))
                }
                #expect(result.rule == "calibrated" && result.score == "mutual_information")
                #expect(abs(result.threshold - 0.05) < 1e-6)
                #expect(result.entropy >= 0 && result.mutualInformation >= -1e-5)
                #expect(result.refused == result.classes.isEmpty)
                #expect(result.refused == (result.scoreValue > result.threshold))
                if result.refused { #expect(result.answer == "I don't know") }
                else { #expect(result.answer == result.classes.map(String.init).joined(separator: " or ")) }
                // The JSON names of the API.
                let object = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
                for key in ["answer", "classes", "refused", "prediction", "median", "p05", "p95", "mean", "entropy",
                            "mutual_information", "rule", "score", "score_value", "threshold", "samples"] {
                    #expect(object?[key] != nil, "the answer has no \(key)")
                }
            }
        }
    }

    @Test func answerFollowsTheRule() async throws {
        // Threshold 10 is above any mutual information (≤ ln 10): always an answer. −1: always "I don't know".
        for (threshold, refused) in [(Float(10), false), (-1, true)] {
            let predictor = try F.predictor(threshold: threshold)
            defer { predictor.shutdown() }
            try await F.routes(predictor: predictor) { client in
                try await client.execute(uri: "/api/predict", method: .post, headers: F.jsonHeaders,
                                         body: F.jsonBody(pixels: F.sevenPixels())) { response in
                    #expect(response.status == .ok)
                    let result = try F.decode(PredictionResult.self, response.body)
                    #expect(result.refused == refused)
                    #expect(result.samples == 20, "the server's default number of samples")
                    if refused { #expect(result.answer == "I don't know" && result.classes.isEmpty) }
                    else { #expect(result.classes.first == result.prediction && result.answer.hasPrefix(String(result.prediction))) }
                }
            }
        }
    }

    @Test func predictPNG() async throws {
        let predictor = try F.predictor()
        defer { predictor.shutdown() }
        // A dark digit on white paper, 56×56: the server inverts, crops and scales it like `bnn predict`.
        let seven = F.sevenPixels()
        var paper = [Float](repeating: 1, count: 56 * 56)
        for y in 0..<56 { for x in 0..<56 { paper[y * 56 + x] = 1 - seven[(y / 2) * 28 + x / 2] } }
        let png = PNGEncoder.encode(GreyImage(width: 56, height: 56, pixels: paper))
        try await F.routes(predictor: predictor) { client in
            try await client.execute(uri: "/api/predict?samples=7", method: .post, headers: F.pngHeaders,
                                     body: ByteBuffer(bytes: png)) { response in
                #expect(response.status == .ok)
                let result = try F.decode(PredictionResult.self, response.body)
                #expect(result.samples == 7)
            }
            try await client.execute(uri: "/api/predict", method: .post,
                                     headers: [.contentType: "image/png; charset=binary"], body: ByteBuffer(bytes: png)) { response in
                #expect(response.status == .ok)
            }
        }
    }

    /// Each bad request gets the status and a JSON `{"error": …}` that mentions `hint`.
    @Test(arguments: [
        BadRequest("783 pixels", body: F.jsonBody(pixels: [Float](repeating: 0, count: 783)), hint: "784"),
        BadRequest("785 pixels", body: F.jsonBody(pixels: [Float](repeating: 0, count: 785)), hint: "785"),
        BadRequest("no pixels", body: "{\"samples\": 10}", hint: "pixels"),
        BadRequest("pixels not an array", body: "{\"pixels\": 3}", hint: "pixels"),
        BadRequest("value above 1", body: F.jsonBody(pixels: [1.5] + [Float](repeating: 0, count: 783)), hint: "[0]"),
        BadRequest("negative value", body: F.jsonBody(pixels: [Float](repeating: 0, count: 783) + [-0.25]), hint: "[783]"),
        BadRequest("NaN", body: "{\"pixels\": [NaN" + String(repeating: ",0", count: 783) + "]}", hint: "JSON"),
        BadRequest("Infinity", body: "{\"pixels\": [Infinity" + String(repeating: ",0", count: 783) + "]}", hint: "JSON"),
        BadRequest("null value", body: "{\"pixels\": [null" + String(repeating: ",0", count: 783) + "]}", hint: "[0]"),
        BadRequest("string value", body: "{\"pixels\": [\"0.5\"" + String(repeating: ",0", count: 783) + "]}", hint: "[0]"),
        BadRequest("zero samples", body: F.jsonBody(pixels: F.sevenPixels(), extra: ",\"samples\":0"), hint: "1…1000"),
        BadRequest("too many samples", body: F.jsonBody(pixels: F.sevenPixels(), extra: ",\"samples\":1001"), hint: "1…1000"),
        BadRequest("fractional samples", body: F.jsonBody(pixels: F.sevenPixels(), extra: ",\"samples\":2.5"), hint: "samples"),
        BadRequest("samples as text", body: F.jsonBody(pixels: F.sevenPixels(), extra: ",\"samples\":\"ten\""), hint: "samples"),
        BadRequest("truncated JSON", body: "{\"pixels\": [0, 0", hint: "JSON"),
        BadRequest("not JSON", body: "pixels=0,0,0", hint: "JSON"),
        BadRequest("an array", body: "[0, 0, 0]", hint: "object"),
        BadRequest("empty body", body: "", hint: "JSON"),
        BadRequest("not a PNG", body: "GIF89a not a png at all, really", contentType: "image/png", hint: "PNG"),
        BadRequest("truncated PNG", body: ByteBuffer(bytes: Array(PNGEncoder.encode(GreyImage(width: 28, height: 28, pixels: F.sevenPixels())).prefix(40))),
                   contentType: "image/png", hint: "PNG"),
        BadRequest("PNG bomb header", body: ByteBuffer(bytes: RouterTests.pngHeader(width: 100_000, height: 100_000)),
                   contentType: "image/png", hint: "100000×100000"),
        BadRequest("PNG samples", body: ByteBuffer(bytes: PNGEncoder.encode(GreyImage(width: 28, height: 28, pixels: F.sevenPixels()))),
                   contentType: "image/png", query: "?samples=many", hint: "samples"),
        BadRequest("form body", body: "a=b", contentType: "application/x-www-form-urlencoded", status: .unsupportedMediaType, hint: "image/png"),
        BadRequest("JSON sent as text/plain", body: F.jsonBody(pixels: F.sevenPixels()), contentType: "text/plain", status: .unsupportedMediaType,
                   hint: "'text/plain'"),
        BadRequest("text/plain with a charset", body: "hello", contentType: "text/plain; charset=utf-8", status: .unsupportedMediaType,
                   hint: "application/json"),
    ])
    func badPredictRequests(_ bad: BadRequest) async throws {
        let predictor = try F.predictor()
        defer { predictor.shutdown() }
        try await F.routes(predictor: predictor) { client in
            try await client.execute(uri: "/api/predict" + bad.query, method: .post,
                                     headers: [.contentType: bad.contentType], body: bad.body) { response in
                #expect(response.status == bad.status, "\(bad.name)")
                let answer = try F.decode(ErrorAnswer.self, response.body)
                #expect(answer.error.contains(bad.hint), "\(bad.name): \(answer.error)")
            }
        }
    }

    @Test func oversizeBodiesAre413() async throws {
        let predictor = try F.predictor()
        defer { predictor.shutdown() }
        try await F.routes(predictor: predictor) { client in
            let big = ByteBuffer(bytes: [UInt8](repeating: UInt8(ascii: " "), count: ServerLimits.maximumBodyBytes + 1))
            try await client.execute(uri: "/api/predict", method: .post, headers: F.jsonHeaders, body: big) { response in
                #expect(response.status == .contentTooLarge)
                let decoded = try F.decode(ErrorAnswer.self, response.body)
                #expect(decoded.error.contains("\(ServerLimits.maximumBodyBytes)"))
            }
            try await client.execute(uri: "/api/predict", method: .post, headers: F.pngHeaders, body: big) { response in
                #expect(response.status == .contentTooLarge)
            }
            // Exactly at the limit is read (and is then bad JSON, not too large).
            let limit = ByteBuffer(bytes: [UInt8](repeating: UInt8(ascii: " "), count: ServerLimits.maximumBodyBytes))
            try await client.execute(uri: "/api/predict", method: .post, headers: F.jsonHeaders, body: limit) { response in
                #expect(response.status == .badRequest)
            }
        }
    }

    @Test func unknownRoutesAre404JSON() async throws {
        let predictor = try F.predictor()
        defer { predictor.shutdown() }
        try await F.routes(predictor: predictor) { client in
            for (uri, method) in [("/nope", HTTPRequest.Method.get), ("/api/predict", .get), ("/api", .post), ("/favicon.ico", .get)] {
                try await client.execute(uri: uri, method: method) { response in
                    #expect(response.status == .notFound || response.status == .methodNotAllowed, "\(method) \(uri)")
                    #expect(response.headers[.contentType] == "application/json; charset=utf-8")
                    let decoded = try F.decode(ErrorAnswer.self, response.body)
                    #expect(decoded.error.isEmpty == false)
                }
            }
        }
    }

    @Test func samples() async throws {
        let predictor = try F.predictor()
        defer { predictor.shutdown() }
        try await F.routes(predictor: predictor, withMNIST: true) { client in
            let noise = try await client.execute(uri: "/api/sample?kind=noise", method: .get) { response in
                #expect(response.status == .ok)
                return try F.decode(SampleImages.Sample.self, response.body)
            }
            #expect(noise.kind == .noise && noise.label == nil && noise.pixels.count == 784)
            #expect(noise.pixels.allSatisfy { (0...1).contains($0) })
            // The index of a noise image is its seed: fetching it again gives the same image.
            try await client.execute(uri: "/api/sample?kind=noise&index=\(noise.index)", method: .get) { response in
                let decoded = try F.decode(SampleImages.Sample.self, response.body)
                #expect(decoded == noise)
            }
            try await client.execute(uri: "/api/sample?kind=mnist&index=3", method: .get) { response in
                let sample = try F.decode(SampleImages.Sample.self, response.body)
                #expect(sample.label == "3" && sample.index == 3 && sample.pixels == F.fakeMNIST().images.array[(3 * 784)..<(4 * 784)].map { $0 })
            }
            try await client.execute(uri: "/api/sample?kind=mnist", method: .get) { response in
                #expect(response.status == .ok)
                let decoded = try F.decode(SampleImages.Sample.self, response.body)
                #expect(decoded.pixels.count == 784)
            }
            let failures: [(String, HTTPResponse.Status, String)] = [
                ("/api/sample", .badRequest, "kind"),
                ("/api/sample?kind=letters", .badRequest, "letters"),
                ("/api/sample?kind=notmnist", .notFound, "notMNIST"),
                ("/api/sample?kind=mnist&index=10", .badRequest, "0…9"),
                ("/api/sample?kind=mnist&index=-1", .badRequest, "0…9"),
                ("/api/sample?kind=mnist&index=two", .badRequest, "integer"),
                ("/api/sample?kind=noise&index=-5", .badRequest, "non-negative"),
            ]
            for (uri, status, hint) in failures {
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == status, "\(uri)")
                    let message = try F.decode(ErrorAnswer.self, response.body).error
                    #expect(message.contains(hint), "\(uri): \(message)")
                }
            }
        }
    }

    @Test func concurrentPredictionsAreAllAnswered() async throws {
        // Two workers, batches of up to 4: 48 concurrent requests exercise queueing, batching and mixed
        // sample counts (which are never batched together).
        let predictor = try F.predictor(workers: 2, maximumBatch: 4)
        defer { predictor.shutdown() }
        try await F.routes(predictor: predictor) { client in
            try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<48 {
                    group.addTask {
                        let samples = index % 3 == 0 ? 5 : 30
                        return try await client.execute(uri: "/api/predict", method: .post, headers: F.jsonHeaders,
                                                         body: F.jsonBody(pixels: F.sevenPixels(), extra: ",\"samples\":\(samples)")) { response in
                            #expect(response.status == .ok)
                            let decoded = try F.decode(PredictionResult.self, response.body)
                            #expect(decoded.samples == samples)
                            return 1
                        }
                    }
                }
                var answered = 0
                for try await one in group { answered += one }
                #expect(answered == 48)
            }
        }
    }

    @Test func randomBodiesNeverCrashTheServer() async throws {
        let predictor = try F.predictor()
        defer { predictor.shutdown() }
        var generator = RandomGenerator(seed: 11)
        let valid = Array(String(buffer: F.jsonBody(pixels: F.sevenPixels())).utf8)
        // Half random bytes, half a valid body with a few bytes changed.
        let bodies: [[UInt8]] = (0..<60).map { round in
            if round % 2 == 0 {
                return (0..<generator.integer(below: 400)).map { _ in UInt8(generator.integer(below: 256)) }
            }
            var bytes = valid
            for _ in 0..<3 { bytes[generator.integer(below: bytes.count)] = UInt8(generator.integer(below: 128)) }
            return bytes
        }
        try await F.routes(predictor: predictor) { client in
            for (round, bytes) in bodies.enumerated() {
                let contentType = round % 4 == 1 ? "image/png" : "application/json"
                try await client.execute(uri: "/api/predict", method: .post, headers: [.contentType: contentType],
                                         body: ByteBuffer(bytes: bytes)) { response in
                    #expect(response.status == .ok || response.status == .badRequest, "round \(round): \(response.status)")
                    if response.status == .badRequest { #expect((try? F.decode(ErrorAnswer.self, response.body))?.error.isEmpty == false) }
                }
            }
        }
    }

    /// The first 33 bytes of a PNG (signature + IHDR) declaring `width`×`height`, 8-bit grey.
    static func pngHeader(width: Int, height: Int) -> [UInt8] {
        func be(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 255), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + be(13) + Array("IHDR".utf8) + be(width) + be(height)
            + [8, 0, 0, 0, 0] + [0, 0, 0, 0]
    }
}

/// One bad `POST /api/predict`.
struct BadRequest: Sendable, CustomTestStringConvertible {
    let name: String
    let body: ByteBuffer
    let contentType: String
    let query: String
    let status: HTTPResponse.Status
    let hint: String
    var testDescription: String { name }

    init(_ name: String, body: ByteBuffer, contentType: String = "application/json", query: String = "",
         status: HTTPResponse.Status = .badRequest, hint: String) {
        self.name = name
        self.body = body
        self.contentType = contentType
        self.query = query
        self.status = status
        self.hint = hint
    }

    init(_ name: String, body: String, contentType: String = "application/json", query: String = "",
         status: HTTPResponse.Status = .badRequest, hint: String) {
        self.init(name, body: ByteBuffer(string: body), contentType: contentType, query: query, status: status, hint: hint)
    }
}
