public import BankSyncCore
import BankSyncStore
import Foundation
public import Hummingbird
import Logging
import NIOCore

/// Who is calling, as the middleware established it, for the operation handlers.
public struct APICaller: Sendable {
    /// The tenant of the API key (nil on the job-status operations, which take a job token).
    public var tenant: Identifier<Tenant>?
    /// The bearer token as given (the job-status operations check it against the job).
    public var bearer: String?

    @TaskLocal public static var current = APICaller()
}

/// Authenticates `/v1` requests and bounds their bodies.
///
/// - `Authorization: Bearer bsk_…` must be a live API key of some tenant (stored hashed; a
///   revoked key is refused): the tenant is what every query of the request is scoped to. The
///   job-status operations (`/v1/jobs/…`) take the job's `publicAccessToken` instead.
/// - Bodies over ``maximumBody`` are refused with 413 before a handler reads them.
struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let store: Store
    static var maximumBody: Int { 1 << 20 }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard path.hasPrefix("/v1/") else { return try await next(request, context) }
        var request = request
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > Self.maximumBody {
            return Self.problem(APIProblem(status: 413, title: "Content Too Large", detail: "request bodies are limited to \(Self.maximumBody) bytes"))
        }
        if request.method == .post || request.method == .put || request.method == .patch {
            do {
                _ = try await request.collectBody(upTo: Self.maximumBody)
            } catch {
                return Self.problem(APIProblem(status: 413, title: "Content Too Large", detail: "request bodies are limited to \(Self.maximumBody) bytes"))
            }
        }
        var caller = APICaller()
        if let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { caller.bearer = String(parts[1]).trimmingCharacters(in: .whitespaces) }
        }
        if !path.hasPrefix("/v1/jobs/") {
            guard let bearer = caller.bearer, bearer.hasPrefix("bsk_"), let key = try await store.tenants.authenticate(secret: bearer) else {
                var response = Self.problem(.unauthorized)
                response.headers[.wwwAuthenticate] = "Bearer"
                return response
            }
            caller.tenant = key.tenantID
        }
        let authenticated = request
        return try await APICaller.$current.withValue(caller) { try await next(authenticated, context) }
    }

    static func problem(_ problem: APIProblem) -> Response {
        Response(
            status: .init(code: problem.status), headers: [.contentType: "application/problem+json"],
            body: .init(byteBuffer: ByteBuffer(bytes: problem.body)))
    }
}
