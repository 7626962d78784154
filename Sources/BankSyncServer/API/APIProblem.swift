import BankSyncAPI
public import BankSyncCore
import BankSyncProviders
import BankSyncStore
import Foundation
public import HTTPTypes
public import OpenAPIRuntime
import Hummingbird

/// An API error as RFC 9457 `application/problem+json`: a status, a title, a detail in words,
/// and for invalid input the fields that were wrong. Handlers throw it; ``ProblemMiddleware``
/// writes it.
public struct APIProblem: Error, Sendable, Equatable {
    public var status: Int
    public var title: String
    public var detail: String
    public var errors: [FieldError]

    /// One input field that was wrong.
    public struct FieldError: Sendable, Equatable {
        public var field: String
        public var message: String
    }

    public init(status: Int, title: String, detail: String, errors: [FieldError] = []) {
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = errors
    }

    public static func notFound(_ what: String) -> APIProblem { APIProblem(status: 404, title: "Not Found", detail: "\(what) does not exist") }

    public static func invalid(_ field: String, _ message: String) -> APIProblem {
        APIProblem(status: 422, title: "Unprocessable Content", detail: "\(field): \(message)", errors: [FieldError(field: field, message: message)])
    }

    public static func badRequest(_ detail: String) -> APIProblem { APIProblem(status: 400, title: "Bad Request", detail: detail) }

    public static let unauthorized = APIProblem(
        status: 401, title: "Unauthorized", detail: "give a tenant API key as 'Authorization: Bearer bsk_…' (banksync keys create)")

    /// The problem an error from below the API stands for.
    static func from(_ error: any Error) -> APIProblem {
        switch error {
        case let problem as APIProblem:
            return problem
        case let error as DomainError:
            if case .invalidField(let field, let message) = error { return .invalid(field, message) }
            return APIProblem(status: 422, title: "Unprocessable Content", detail: error.description)
        case let error as StoreError:
            switch error.kind {
            case .notFound: return APIProblem(status: 404, title: "Not Found", detail: error.message)
            case .conflict: return APIProblem(status: 409, title: "Conflict", detail: error.message)
            case .invalidData: return APIProblem(status: 422, title: "Unprocessable Content", detail: error.message)
            default: return APIProblem(status: 500, title: "Internal Server Error", detail: "a storage error occurred; the server log has its details")
            }
        case let error as ProviderError:
            if error.isRetryable {
                return APIProblem(status: 503, title: "Service Unavailable", detail: "the provider did not answer usefully (\(error.kind)); try again")
            }
            return APIProblem(status: 422, title: "Unprocessable Content", detail: error.description)
        case let error as DecodingError:
            return .badRequest("the request body does not match the schema: \(Self.describe(error))")
        default:
            return APIProblem(status: 500, title: "Internal Server Error", detail: "an unexpected error occurred; the server log has its details")
        }
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let joined = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return joined.isEmpty ? "the body" : joined
        }
        switch error {
        case .keyNotFound(let key, let context): return "\(path(context)).\(key.stringValue) is missing".replacingOccurrences(of: "the body.", with: "")
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return "\(path(context)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }

    /// The problem as the response body.
    var body: [UInt8] {
        var object: [(String, JSONValue)] = [
            ("type", .string("about:blank")), ("title", .string(title)), ("status", .int(status)), ("detail", .string(detail)),
        ]
        if !errors.isEmpty {
            object.append(("errors", .array(errors.map { .object([("field", .string($0.field)), ("message", .string($0.message))]) })))
        }
        return JSONValue.object(object).serialized()
    }
}

/// Turns every error an operation throws — the handler's, and the generated code's when a
/// request does not match the document (a missing parameter, a body of the wrong shape) — into
/// a problem+json answer, never a bare 500 with the error's text.
struct ProblemMiddleware: ServerMiddleware {
    let log: @Sendable (String, APIProblem, any Error) -> Void

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        do {
            return try await next(request, body, metadata)
        } catch {
            var underlying: any Error = error
            var fromHandler = false
            if let serverError = error as? ServerError {
                underlying = serverError.underlyingError
                // Errors the generated code raised before the handler ran are the client's.
                fromHandler = serverError.causeDescription.contains("handler")
            }
            let problem = self.problem(for: underlying, operationID: operationID, fromHandler: fromHandler)
            var response = HTTPResponse(status: .init(code: problem.status))
            response.headerFields[.contentType] = "application/problem+json"
            return (response, HTTPBody(problem.body))
        }
    }

    /// The problem `error` answers as, logged.
    /// - Parameter fromHandler: false when the generated code raised it before the handler ran
    ///   (the request did not match the document: a 400, not a 500).
    func problem(for error: any Error, operationID: String, fromHandler: Bool) -> APIProblem {
        var problem = APIProblem.from(error)
        if problem.status == 500 && !fromHandler && !(error is StoreError) {
            problem = .badRequest("the request does not match the API document: \(String(describing: error).prefix(300))")
        }
        log(operationID, problem, error)
        return problem
    }

    /// ``problem(for:operationID:fromHandler:)`` as a Hummingbird response (for the direct routes).
    func response(for error: any Error, operationID: String, fromHandler: Bool) -> Response {
        APIKeyMiddleware<BasicRequestContext>.problem(problem(for: error, operationID: operationID, fromHandler: fromHandler))
    }
}
