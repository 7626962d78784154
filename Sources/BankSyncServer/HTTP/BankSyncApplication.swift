import BankSyncAPI
public import BankSyncStore
import Foundation
public import Hummingbird
public import Logging
import NIOCore
import OpenAPIHummingbird
import OpenAPIRuntime
public import Prometheus

/// Builds the HTTP application that `banksync serve` runs.
public enum BankSyncApplication {
    /// The router with every route BankSync serves: health, `/metrics`, `/openapi.yaml`, the
    /// provider webhooks and (with an engine) the `/v1` API.
    /// - Parameter metrics: the registry `/metrics` renders (the process bootstraps swift-metrics
    ///   with it); without one `/metrics` answers 404.
    public static func makeRouter(
        store: Store, runtime: EngineRuntime? = nil, metrics: PrometheusCollectorRegistry? = nil, logger: Logger
    ) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: APIKeyMiddleware<BasicRequestContext>(store: store))
        HealthController(database: store.database, migrator: store.migrator(logger: logger)).addRoutes(to: router)
        router.get("/openapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml)))
        }
        if let metrics { addMetricsRoute(to: router, registry: metrics) }
        if let runtime {
            WebhookController(runtime: runtime).addRoutes(to: router)
            let handler = APIHandler(store: store, engine: runtime.engine, logger: logger)
            let problems = ProblemMiddleware { operation, problem, error in
                if problem.status >= 500 {
                    logger.error("API operation failed", metadata: ["operation": "\(operation)", "status": "\(problem.status)", "error": "\(error)"])
                } else {
                    logger.info("API request refused", metadata: ["operation": "\(operation)", "status": "\(problem.status)", "detail": "\(problem.detail)"])
                }
            }
            // The server URL is "/", which always parses.
            // Compact, unsorted JSON: the runtime's default (sorted keys, pretty-printed) took a
            // third of a transactions page's CPU and a quarter more bytes.
            // Dates through ``APIDateTranscoder`` (the same text, without ISO8601DateFormatter),
            // and the hottest read on a direct route (``APIRouteTransport``).
            let transport = APIRouteTransport(router: router, direct: APIRouteTransport.directRoutes(handler: handler, problems: problems))
            try! handler.registerHandlers(
                on: transport, serverURL: URL(string: "/")!, configuration: Configuration(dateTranscoder: APIDateTranscoder(), jsonEncodingOptions: []),
                middlewares: [problems])
            DashboardController(store: store, engine: runtime.engine, logger: logger).addRoutes(to: router)
        }
        return router
    }

    /// `GET /metrics`: `registry` in the Prometheus text format (`serve`, and `worker --metrics-port`).
    public static func addMetricsRoute(to router: Router<BasicRequestContext>, registry: PrometheusCollectorRegistry) {
        router.get("/metrics") { _, _ in
            var buffer: [UInt8] = []
            registry.emit(into: &buffer)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }
    }

    /// The application bound to the configured host and port.
    /// - Parameter onServerRunning: called with the bound port once listening (useful with port 0).
    public static func make(
        configuration: BankSyncConfiguration, store: Store, runtime: EngineRuntime? = nil, metrics: PrometheusCollectorRegistry? = nil, logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: makeRouter(store: store, runtime: runtime, metrics: metrics, logger: logger),
            configuration: .init(address: .hostname(configuration.httpHost, port: configuration.httpPort), serverName: "banksync"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.httpPort) },
            logger: logger
        )
    }
}
