import AsyncHTTPClient
import BankSyncCore
import BankSyncSandbox
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization
import Testing

/// A running sandbox on a free loopback port, and an HTTP client to talk to it.
struct SandboxHarness: Sendable {
    let base: String
    let world: SandboxWorld
    let client: HTTPClient

    struct Reply: Sendable {
        let status: Int
        let headers: [(String, String)]
        let body: [UInt8]
        var json: JSONValue { (try? JSONValue.parse(body)) ?? .null }
        var text: String { String(decoding: body, as: UTF8.self) }
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    }

    func call(_ method: String, _ path: String, body: String? = nil, headers: [(String, String)] = [], timeout: Duration = .seconds(30)) async throws -> Reply {
        var request = HTTPClientRequest(url: base + path)
        request.method = .init(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await client.execute(request, timeout: .seconds(timeout.components.seconds))
        let bytes = try await response.body.collect(upTo: 32 << 20)
        return Reply(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: Array(bytes.readableBytesView))
    }

    /// A Plaid call with the sandbox's credentials in the body.
    func plaid(_ path: String, _ fields: String = "") async throws -> Reply {
        let extra = fields.isEmpty ? "" : ", \(fields)"
        return try await call("POST", "/plaid\(path)", body: #"{"client_id": "sandbox-client-id", "secret": "sandbox-secret"\#(extra)}"#)
    }

    /// A Teller GET with `token` as the Basic username.
    func teller(_ path: String, token: String, method: String = "GET") async throws -> Reply {
        let credentials = Data("\(token):".utf8).base64EncodedString()
        return try await call(method, "/teller\(path)", headers: [("authorization", "Basic \(credentials)")])
    }

    /// Links a Plaid Item the documented way; returns (access_token, item_id).
    func linkPlaid(institution: String = "ins_109508", webhook: String? = nil) async throws -> (String, String) {
        let options = webhook.map { #", "options": {"webhook": "\#($0)"}"# } ?? ""
        let created = try await plaid("/sandbox/public_token/create", #""institution_id": "\#(institution)", "initial_products": ["transactions"]\#(options)"#)
        let publicToken = try #require(created.json["public_token"]?.stringValue, "\(created.text)")
        let exchanged = try await plaid("/item/public_token/exchange", #""public_token": "\#(publicToken)""#)
        return (try #require(exchanged.json["access_token"]?.stringValue), try #require(exchanged.json["item_id"]?.stringValue))
    }

    /// A connection made through the control API.
    func createConnection(_ provider: String) async throws -> JSONValue {
        let reply = try await call("POST", "/sandbox/connections", body: #"{"provider": "\#(provider)"}"#)
        #expect(reply.status == 201, "\(reply.text)")
        return reply.json
    }

    func advance(days: Int) async throws -> JSONValue {
        try await call("POST", "/sandbox/clock/advance", body: #"{"days": \#(days)}"#).json
    }

    func truth(account: String) async throws -> JSONValue { try await call("GET", "/sandbox/accounts/\(account)").json }
}

/// Runs `body` against a sandbox served over loopback HTTP on a free port.
func withSandbox(seed: UInt64 = 7, historyDays: Int = 45, _ body: (SandboxHarness) async throws -> Void) async throws {
    var logger = Logger(label: "sandbox-test")
    logger.logLevel = .warning
    let world = SandboxWorld(configuration: .init(seed: seed, historyDays: historyDays))
    try await SandboxServer(world: world, logger: logger).withRunning { base in
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
        do {
            try await body(SandboxHarness(base: base, world: world, client: client))
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }
}

/// A local HTTP server that records what is POSTed to it (webhook receiver).
final class WebhookInbox: Sendable {
    struct Delivery: Sendable {
        let headers: [(String, String)]
        let body: [UInt8]
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    }

    private let deliveries = Mutex<[Delivery]>([])
    var received: [Delivery] { deliveries.withLock { $0 } }

    func run(_ body: (String) async throws -> Void) async throws {
        var logger = Logger(label: "inbox")
        logger.logLevel = .warning
        let port = Mutex<Int?>(nil)
        let responder = CallbackResponder<BasicRequestContext> { request, _ in
            let bytes = try await request.body.collect(upTo: 1 << 20)
            self.deliveries.withLock { $0.append(Delivery(headers: request.headers.map { ($0.name.canonicalName, $0.value) }, body: Array(bytes.readableBytesView))) }
            return Response(status: .ok)
        }
        let app = Application(responder: responder, configuration: .init(address: .hostname("127.0.0.1", port: 0)), onServerRunning: { channel in
            port.withLock { $0 = channel.localAddress?.port }
        }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [.init(service: app)], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            defer { tasks.cancelAll() }
            while port.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(10)) }
            try await body("http://127.0.0.1:\(port.withLock { $0! })/hooks")
            await group.triggerGracefulShutdown()
        }
    }

    func waitFor(_ count: Int, timeout: Duration = .seconds(10)) async throws {
        let deadline = ContinuousClock.now + timeout
        while received.count < count && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
    }
}
