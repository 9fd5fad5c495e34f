import Foundation
import Hummingbird

/// An error answered to the client as `{"error": "…"}` with an HTTP status.
public struct APIError: Error, CustomStringConvertible, Sendable {
    /// The HTTP status of the answer (a 4xx for bad input).
    public let status: HTTPResponse.Status
    /// One sentence saying what was wrong and, where useful, what was expected.
    public let message: String

    public init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { "\(status.code) \(message)" }

    /// 400 Bad Request with `message`.
    static func badRequest(_ message: String) -> APIError { APIError(.badRequest, message) }

    /// The JSON response for any error thrown while answering: `APIError`s and Hummingbird's HTTP errors
    /// keep their status; anything else is a 500 whose details stay in the log, not in the answer.
    static func response(for error: any Error) -> Response {
        let status: HTTPResponse.Status
        let message: String
        switch error {
        case let error as APIError:
            status = error.status
            message = error.message
        case let error as HTTPError:
            status = error.status
            message = error.body ?? Self.defaultMessage(for: error.status)
        case let error as any HTTPResponseError:
            status = error.status
            message = Self.defaultMessage(for: error.status)
        default:
            status = .internalServerError
            message = "internal error"
        }
        var response = JSONResponse.make(ErrorBody(error: message), status: status)
        // The rest of an unread body (too large, or too slow) is not worth reading: close the connection
        // after this answer (`CloseAfterResponseHandler`) instead of draining it.
        if status == .contentTooLarge || status == .requestTimeout { response.headers[.connection] = "close" }
        return response
    }

    static func defaultMessage(for status: HTTPResponse.Status) -> String {
        switch status.code {
        case 404: return "not found"
        case 405: return "method not allowed"
        case 413: return "request body too large (at most \(ServerLimits.maximumBodyBytes) bytes)"
        default: return status.reasonPhrase.isEmpty ? "HTTP \(status.code)" : status.reasonPhrase.lowercased()
        }
    }
}

/// The body of every error answer.
struct ErrorBody: Codable, Sendable {
    let error: String
}

/// Hard limits on what a request may ask for.
public enum ServerLimits {
    /// The largest request body accepted (1 MB); larger ones get 413.
    public static let maximumBodyBytes = 1 << 20
    /// The most posterior samples one request may ask for.
    public static let maximumSamples = 1000
    /// The largest PNG accepted, in pixels: a 1 MB PNG may inflate to gigabytes, so the header is checked
    /// before decoding.
    public static let maximumImagePixels = 4096 * 4096
    /// The default `ServerConfiguration.requestTimeout`: 10 seconds for a request head, for any pause in a
    /// body, for a whole body, and for an idle connection.
    public static let requestTimeout: Duration = .seconds(10)
    /// The default `ServerConfiguration.maximumConnections` (1,000): plenty for a demo, and bounded so that
    /// idle connections cannot exhaust the process's file descriptors.
    public static let maximumConnections = 1000
}

/// JSON answers.
enum JSONResponse {
    static func make<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) -> Response {
        let encoder = JSONEncoder()
        // Encoding our own types cannot fail except for non-finite floats, which `PredictionResult` never
        // holds for a finite model; still answer rather than crash.
        let data = (try? encoder.encode(value)) ?? Data(#"{"error":"could not encode the answer"}"#.utf8)
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
