public import AsyncHTTPClient
public import BankSyncCore
public import Foundation
public import Logging
import NIOCore
public import NIOHTTP1

/// One HTTP exchange with a provider: timeouts, body limits, transport failures classified as
/// transient, and a log line per call carrying the provider's request id (never the body: it
/// holds tokens and account data).
public struct ProviderHTTP: Sendable {
    public struct Reply: Sendable {
        public let status: Int
        public let headers: HTTPHeaders
        public let body: [UInt8]
        /// When it arrived, by the client's clock: reset times in headers are relative to it.
        public let receivedAt: Date

        /// The body as JSON, or a transient error saying the provider sent something else.
        func json(_ provider: Provider, requestID: String?) throws -> JSONValue {
            do {
                return try JSONValue.parse(body)
            } catch {
                throw ProviderError(
                    .transient, provider: provider, code: "malformed_response",
                    message: "the response (HTTP \(status), \(body.count) bytes) is not valid JSON: \(error)", httpStatus: status, requestID: requestID)
            }
        }
    }

    let client: HTTPClient
    let provider: Provider
    let timeout: Duration
    let logger: Logger
    let limits: (any ProviderLimits)?
    /// The clock reset times and token lifetimes are read against (the sandbox's in simulations).
    let now: @Sendable () -> Date

    public init(
        client: HTTPClient, provider: Provider, timeout: Duration = .seconds(30), logger: Logger, limits: (any ProviderLimits)? = nil,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.now = now
        self.client = client
        self.provider = provider
        self.timeout = timeout
        self.logger = logger
        self.limits = limits
    }

    func send(_ method: HTTPMethod, _ url: String, headers: [(String, String)] = [], body: [UInt8]? = nil, endpoint: String) async throws -> Reply {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        try await limits?.admit(provider)
        let started = ContinuousClock.now
        do {
            let response = try await client.execute(request, timeout: .milliseconds(Int64(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)))
            let bytes = try await response.body.collect(upTo: 64 << 20)
            let elapsed = ContinuousClock.now - started
            logger.debug(
                "provider call", metadata: [
                    "provider": "\(provider.rawValue)", "endpoint": "\(endpoint)", "status": "\(response.status.code)",
                    "ms": "\(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)",
                ])
            return Reply(status: Int(response.status.code), headers: response.headers, body: Array(bytes.readableBytesView), receivedAt: now())
        } catch let error as ProviderError {
            throw error
        } catch {
            throw ProviderError(.transient, provider: provider, code: "transport", message: "\(endpoint): \(Self.describe(error))")
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .connectTimeout: return "timed out"
            case .remoteConnectionClosed: return "the provider closed the connection"
            default: return "\(error)"
            }
        }
        return "\(error)"
    }
}

extension JSONValue {
    /// The text of a number or string member (amounts arrive as either).
    var decimalText: String? {
        switch self {
        case .number(let text), .string(let text): text
        default: nil
        }
    }
}

/// Reading provider JSON with errors that name the field.
struct FieldReader {
    let provider: Provider
    let context: String

    func fail(_ message: String) -> ProviderError {
        ProviderError(.transient, provider: provider, code: "unexpected_response", message: "\(context): \(message)")
    }

    func string(_ value: JSONValue?, _ field: String) throws -> String {
        guard let text = value?[field]?.stringValue else { throw fail("missing string \"\(field)\"") }
        return text
    }

    func optionalString(_ value: JSONValue?, _ field: String) -> String? { value?[field]?.stringValue }

    func date(_ value: JSONValue?, _ field: String) throws -> CalendarDate {
        let text = try string(value, field)
        do { return try CalendarDate(parsing: text) } catch { throw fail("\"\(field)\" is not a date: \(text)") }
    }

    func optionalDate(_ value: JSONValue?, _ field: String) throws -> CalendarDate? {
        guard let text = value?[field]?.stringValue else { return nil }
        do { return try CalendarDate(parsing: text) } catch { throw fail("\"\(field)\" is not a date: \(text)") }
    }

    /// An amount from its decimal text, with `negate` flipping the provider's sign to BankSync's.
    func money(_ text: String?, currency: String?, field: String, negate: Bool = false) throws -> Money {
        guard let text else { throw fail("missing amount \"\(field)\"") }
        guard let currency else { throw fail("\"\(field)\" has no currency") }
        do {
            let money = try Money(parsing: text, currencyCode: currency)
            return negate ? money.negated : money
        } catch {
            throw fail("\"\(field)\" \(error)")
        }
    }
}
