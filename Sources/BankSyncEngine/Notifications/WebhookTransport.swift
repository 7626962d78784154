public import AsyncHTTPClient
public import Foundation
import NIOCore
import NIOHTTP1

/// One outbound webhook POST.
public struct WebhookRequest: Sendable {
    public var url: String
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// The whole attempt (connect, send, answer) must end within this.
    public var timeout: Duration
    /// Response bytes read at most; the rest is not read.
    public var maxResponseBytes: Int

    public init(url: String, headers: [(String, String)], body: [UInt8], timeout: Duration, maxResponseBytes: Int) {
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.maxResponseBytes = maxResponseBytes
    }
}

/// What came of one POST, as the attempt log records it. Never a thrown error: every way an
/// attempt can end is an outcome.
public struct WebhookResponse: Sendable, Equatable {
    public var statusCode: Int?
    /// `delivered`, `http_error`, `redirect_refused`, `timeout`, `connect_failed`.
    public var outcome: String
    public var error: String?
    public var excerpt: String?

    public init(statusCode: Int?, outcome: String, error: String? = nil, excerpt: String? = nil) {
        self.statusCode = statusCode
        self.outcome = outcome
        self.error = error
        self.excerpt = excerpt
    }
}

/// Sends outbound webhooks. ``HTTPWebhookTransport`` is the real one; tests of a single type may
/// stand in their own.
public protocol WebhookTransport: Sendable {
    func post(_ request: WebhookRequest) async -> WebhookResponse
}

/// Outbound webhooks over AsyncHTTPClient, with its own client: redirects are never followed
/// (a receiver that redirects is recorded as `redirect_refused`, with where it pointed), each
/// attempt has a deadline, and at most `maxResponseBytes` of an answer are read.
public final class HTTPWebhookTransport: WebhookTransport {
    let client: HTTPClient

    public init() {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        self.client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Ends the client; call once, after the last delivery.
    public func shutdown() async throws { try await client.shutdown() }

    public func post(_ request: WebhookRequest) async -> WebhookResponse {
        var http = HTTPClientRequest(url: request.url)
        http.method = .POST
        for (name, value) in request.headers { http.headers.add(name: name, value: value) }
        http.body = .bytes(request.body)
        let deadline = NIODeadline.now() + .nanoseconds(Int64(request.timeout.components.seconds) * 1_000_000_000 + request.timeout.components.attoseconds / 1_000_000_000)
        let started = ContinuousClock.now
        do {
            let response = try await client.execute(http, deadline: deadline)
            // The deadline covers the answer's body too: a receiver that trickles bytes is a timeout.
            let limit = request.maxResponseBytes
            let body = response.body
            let read = try await withThrowingTaskGroup(of: ([UInt8], Bool)?.self) { group in
                group.addTask { try await Self.read(body, limit: limit) }
                group.addTask {
                    try await Task.sleep(until: started + request.timeout, clock: .continuous)
                    return nil
                }
                let first = try await group.next() ?? nil
                group.cancelAll()
                return first
            }
            guard let (collected, truncated) = read else { throw HTTPClientError.deadlineExceeded }
            let status = Int(response.status.code)
            let excerpt = Self.excerpt(collected)
            let note = truncated ? "the answer was longer than \(request.maxResponseBytes) bytes; the rest was not read" : nil
            switch status {
            case 200..<300:
                return WebhookResponse(statusCode: status, outcome: "delivered", error: note, excerpt: excerpt)
            case 300..<400:
                let location = response.headers.first(name: "location").map { " to \($0.prefix(200))" } ?? ""
                return WebhookResponse(
                    statusCode: status, outcome: "redirect_refused", error: "the receiver redirected\(location); redirects are not followed: update the endpoint's URL",
                    excerpt: excerpt)
            default:
                return WebhookResponse(statusCode: status, outcome: "http_error", error: "the receiver answered \(status)" + (note.map { "; \($0)" } ?? ""), excerpt: excerpt)
            }
        } catch let error as HTTPClientError where [.deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout].contains(error) {
            return WebhookResponse(statusCode: nil, outcome: "timeout", error: "no answer within \(request.timeout) (\(error))")
        } catch {
            return WebhookResponse(statusCode: nil, outcome: "connect_failed", error: "\(error)".prefix(300).description)
        }
    }

    /// At most `limit` bytes of a body; whether there was more.
    static func read(_ body: HTTPClientResponse.Body, limit: Int) async throws -> ([UInt8], Bool) {
        var collected: [UInt8] = []
        for try await chunk in body {
            let room = limit - collected.count
            if chunk.readableBytes > room {
                collected += chunk.getBytes(at: chunk.readerIndex, length: max(room, 0)) ?? []
                return (collected, true)
            }
            collected += chunk.readableBytesView
        }
        return (collected, false)
    }

    /// The first 512 bytes of an answer as text, control characters replaced by spaces.
    static func excerpt(_ bytes: [UInt8]) -> String? {
        guard !bytes.isEmpty else { return nil }
        let text = String(decoding: bytes.prefix(512), as: UTF8.self)
        return String(String.UnicodeScalarView(text.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : $0 }))
    }
}
