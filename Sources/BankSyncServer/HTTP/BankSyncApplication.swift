public import BankSyncStore
public import Hummingbird
public import Logging

/// Builds the HTTP application that `banksync serve` runs.
public enum BankSyncApplication {
    /// The router with every route BankSync serves.
    public static func makeRouter(store: Store, runtime: EngineRuntime? = nil, logger: Logger) -> Router<BasicRequestContext> {
        let router = Router()
        HealthController(database: store.database, migrator: store.migrator(logger: logger)).addRoutes(to: router)
        if let runtime { WebhookController(runtime: runtime).addRoutes(to: router) }
        return router
    }

    /// The application bound to the configured host and port.
    /// - Parameter onServerRunning: called with the bound port once listening (useful with port 0).
    public static func make(
        configuration: BankSyncConfiguration, store: Store, runtime: EngineRuntime? = nil, logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: makeRouter(store: store, runtime: runtime, logger: logger),
            configuration: .init(address: .hostname(configuration.httpHost, port: configuration.httpPort), serverName: "banksync"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.httpPort) },
            logger: logger
        )
    }
}
