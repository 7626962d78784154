import BankSyncCore
import AsyncHTTPClient
import HTTPTypes
public import Hummingbird
public import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization

/// Serves the three provider APIs and the control API on one port:
///
/// | prefix | what |
/// |---|---|
/// | `/plaid/…` | Plaid (`https://sandbox.plaid.com` → `http://HOST:PORT/plaid`) |
/// | `/teller/…` | Teller (`https://api.teller.io` → `http://HOST:PORT/teller`) |
/// | `/gocardless/api/v2/…` | GoCardless Bank Account Data (`https://bankaccountdata.gocardless.com` → `http://HOST:PORT/gocardless`) |
/// | `/sandbox/…` | the sandbox's control and truth API |
///
/// Webhooks the world queues are POSTed by a background service.
public struct SandboxServer: Sendable {
    public let world: SandboxWorld
    let logger: Logger

    public init(world: SandboxWorld, logger: Logger) {
        self.world = world
        self.logger = logger
    }

    /// Answers one request: routing, then the transport-shaped faults (slow, timeout, broken JSON).
    public func respond(to request: SandboxRequest) async -> SandboxResponse {
        let (prefix, rest) = Self.split(request.path)
        var inner = request
        inner.path = rest
        var response: SandboxResponse
        var fault: FaultRule?
        switch prefix {
        case "plaid": (response, fault) = await world.handle(.plaid, inner)
        case "teller": (response, fault) = await world.handle(.teller, inner)
        case "gocardless": (response, fault) = await world.handle(.gocardless, inner)
        case "sandbox": response = await world.control(inner)
        default:
            response = .json(404, .object([("error", .string("unknown path \(request.path): the sandbox serves /plaid, /teller, /gocardless and /sandbox"))]))
        }
        if let fault {
            switch fault.kind {
            case .slow: response.delayMilliseconds = fault.delayMilliseconds ?? 2_000
            case .timeout: response.delayMilliseconds = fault.delayMilliseconds ?? 60_000
            case .malformedJSON:
                response.status = 200
                response.body = Array("<html><body><h1>502 Bad Gateway</h1></body></html>".utf8)
            case .truncatedJSON:
                response.body = Array(response.body.prefix(max(1, response.body.count / 2)))
            case .oddRows:
                if response.status == 200, let provider = SandboxProvider(rawValue: prefix) {
                    response.body = OddRows.apply(provider, to: response.body)
                }
            default: break
            }
        }
        return response
    }

    static func split(_ path: String) -> (String, String) {
        let trimmed = path.drop { $0 == "/" }
        guard let slash = trimmed.firstIndex(of: "/") else { return (String(trimmed), "/") }
        return (String(trimmed[..<slash]), String(trimmed[slash...]))
    }

    /// The Hummingbird application: bind `host:port` (0 = any free port; `onRunning` gets the
    /// port actually bound). Without `deliverWebhooks` queued webhooks stay in the world's
    /// outbox (``SandboxWorld/takeOutbox()``) for the caller to inspect.
    public func application(
        host: String = "127.0.0.1", port: Int, deliverWebhooks: Bool = true, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    )
        -> some ApplicationProtocol
    {
        let server = self
        let responder = CallbackResponder<BasicRequestContext> { request, _ in
            let body = try await request.body.collect(upTo: 8 << 20)
            let host = request.head.authority ?? "127.0.0.1"
            var query: [(String, String)] = []
            for (name, value) in request.uri.queryParameters { query.append((String(name), String(value))) }
            let answer = await server.respond(to: SandboxRequest(
                method: request.method.rawValue, path: request.uri.path, query: query,
                headers: request.headers.map { ($0.name.canonicalName, $0.value) }, body: Array(body.readableBytesView),
                origin: "http://\(host)"))
            if answer.delayMilliseconds > 0 { try await Task.sleep(for: .milliseconds(answer.delayMilliseconds)) }
            var headers = HTTPFields()
            for (name, value) in answer.headers {
                if let field = HTTPField.Name(name) { headers.append(HTTPField(name: field, value: value)) }
            }
            return Response(status: .init(code: answer.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
        }
        return Application(
            responder: responder, configuration: .init(address: .hostname(host, port: port), serverName: "banksync-sandbox"),
            services: deliverWebhooks ? [WebhookDelivery(world: world, logger: logger)] : [],
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) }, logger: logger)
    }
}

extension SandboxServer {
    /// Serves on a free loopback port while `body` runs with the base URL
    /// (`http://127.0.0.1:PORT`), then shuts down: how tests start the sandbox in-process.
    public func withRunning<T: Sendable>(host: String = "127.0.0.1", deliverWebhooks: Bool = true, _ body: (String) async throws -> T) async throws -> T {
        let port = Mutex<Int?>(nil)
        let app = application(host: host, port: 0, deliverWebhooks: deliverWebhooks) { bound in port.withLock { $0 = bound } }
        let group = ServiceGroup(configuration: .init(services: [.init(service: app)], logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            defer { tasks.cancelAll() }
            let deadline = ContinuousClock.now + .seconds(10)
            while port.withLock({ $0 }) == nil {
                guard ContinuousClock.now < deadline else { throw SandboxStartError() }
                try await Task.sleep(for: .milliseconds(5))
            }
            let result: T
            do {
                result = try await body("http://\(host):\(port.withLock { $0! })")
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.next()
            return result
        }
    }
}

/// The sandbox did not start listening within ten seconds.
public struct SandboxStartError: Error, CustomStringConvertible {
    public var description: String { "the sandbox did not start listening within 10 seconds" }
}

/// POSTs the webhooks the world queues, one attempt each with a 5-second timeout, logging
/// what the receiver answered.
struct WebhookDelivery: Service {
    let world: SandboxWorld
    let logger: Logger

    func run() async throws {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        await withGracefulShutdownHandler {
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                for webhook in await world.takeOutbox() {
                    var request = HTTPClientRequest(url: webhook.url)
                    request.method = .POST
                    for (name, value) in webhook.headers { request.headers.add(name: name, value: value) }
                    request.body = .bytes(ByteBuffer(bytes: webhook.body))
                    do {
                        let response = try await client.execute(request, timeout: .seconds(5))
                        logger.info("webhook delivered", metadata: ["provider": "\(webhook.provider.rawValue)", "url": "\(webhook.url)", "status": "\(response.status.code)"])
                    } catch {
                        logger.warning("webhook delivery failed", metadata: ["provider": "\(webhook.provider.rawValue)", "url": "\(webhook.url)", "error": "\(error)"])
                    }
                }
                try? await Task.sleep(for: .milliseconds(50))
            }
        } onGracefulShutdown: {}
        try await client.shutdown()
    }
}
