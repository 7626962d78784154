public import AsyncHTTPClient
public import BankSyncEngine
public import BankSyncJobs
public import BankSyncProviders
public import BankSyncStore
public import Foundation
public import Logging
public import ServiceLifecycle

/// The sync engine as a process runs it: provider clients built from the configuration (with
/// the database-shared limits), the engine's job handlers and schedules, and the HTTP clients'
/// lifetime. `serve`, `worker` and `demo` all start from here.
public struct EngineRuntime: Sendable {
    public let engine: SyncEngine
    public let providers: [any BankingProvider]
    /// Verifies inbound Plaid webhooks (nil without Plaid).
    public let plaidVerifier: PlaidWebhookVerifier?
    /// Verifies inbound Teller webhooks (nil without Teller or without signing secrets).
    public let tellerVerifier: TellerWebhookVerifier?
    let clients: [HTTPClient]
    /// The outbound webhook transport this runtime made (nil when the caller gave one).
    let webhookTransport: HTTPWebhookTransport?

    /// Creates or resizes the shared rate-limit buckets to the configured rates. Call it on a
    /// database handle that is running (the commands use their short-lived start-up handle).
    public static func configureLimits(_ configuration: BankSyncConfiguration.Providers, database: Database, logger: Logger) async throws {
        let limits = DatabaseProviderLimits(database: database, logger: logger)
        try await limits.configure(
            .init(
                plaid: configuration.ratePerMinute["plaid"] ?? 200, teller: configuration.ratePerMinute["teller"] ?? 100,
                gocardless: configuration.ratePerMinute["gocardless"] ?? 50))
    }

    /// Builds the clients and the engine. Touches neither the network nor the database, so it
    /// may run before the process's database service starts.
    /// - Throws: ``ProviderError`` `.permanent` when Teller's certificate or key cannot be read.
    public static func make(
        configuration: BankSyncConfiguration.Providers, store: Store, queue: JobQueue, engineConfiguration: SyncEngine.Configuration = .init(),
        logger: Logger
    ) throws -> EngineRuntime {
        let limits = DatabaseProviderLimits(store: store, logger: logger, now: queue.now)
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        var clients = [http]
        var providers: [any BankingProvider] = []
        var plaidVerifier: PlaidWebhookVerifier?
        var tellerVerifier: TellerWebhookVerifier?
        if let plaid = configuration.plaid {
            let client = PlaidClient(
                configuration: .init(baseURL: plaid.baseURL, clientID: plaid.clientID, secret: plaid.secret, webhookURL: plaid.webhookURL), client: http,
                logger: logger, limits: limits, now: queue.now)
            providers.append(client)
            plaidVerifier = PlaidWebhookVerifier { try await client.webhookKey(id: $0) }
        }
        if let teller = configuration.teller {
            var tellerHTTP = http
            if let certificate = teller.certificatePath, let key = teller.privateKeyPath {
                do {
                    tellerHTTP = try TellerClient.makeHTTPClient(certificatePath: certificate, privateKeyPath: key)
                } catch {
                    try? http.syncShutdown()
                    throw error
                }
                clients.append(tellerHTTP)
            }
            providers.append(TellerClient(configuration: .init(baseURL: teller.baseURL), client: tellerHTTP, logger: logger, limits: limits, now: queue.now))
            if !teller.webhookSecrets.isEmpty { tellerVerifier = TellerWebhookVerifier(secrets: teller.webhookSecrets) }
        }
        if let gocardless = configuration.gocardless {
            providers.append(GoCardlessClient(
                configuration: .init(baseURL: gocardless.baseURL, secretID: gocardless.secretID, secretKey: gocardless.secretKey), client: http,
                logger: logger, limits: limits, now: queue.now))
        }
        if providers.isEmpty {
            logger.warning("no provider is configured: link and sync jobs will be discarded (see OPERATIONS.md, providers)")
        }
        var engineConfiguration = engineConfiguration
        var webhookTransport: HTTPWebhookTransport?
        if engineConfiguration.webhooks.transport == nil {
            let transport = HTTPWebhookTransport()
            engineConfiguration.webhooks.transport = transport
            webhookTransport = transport
        }
        let engine = SyncEngine(store: store, queue: queue, providers: providers, configuration: engineConfiguration, logger: logger)
        return EngineRuntime(
            engine: engine, providers: providers, plaidVerifier: plaidVerifier, tellerVerifier: tellerVerifier, clients: clients,
            webhookTransport: webhookTransport)
    }

    /// Registers the engine's handlers (and the diagnostics jobs) into `registry`.
    public func register(into registry: inout JobRegistry) {
        engine.register(into: &registry)
    }

    /// The services that keep the HTTP clients alive until shutdown.
    public var lifetime: some Service { ClientLifetime(clients: clients, webhookTransport: webhookTransport) }

    /// The worker of the `webhooks` queue, where outbound deliveries run apart from the syncs
    /// (a slow receiver never holds up a bank sync).
    public static func webhookWorker(concurrency: Int, pollInterval: Duration = .seconds(1)) -> JobWorker.Configuration {
        JobWorker.Configuration(queue: NotificationJobs.deliverWebhook.options.queue, concurrency: concurrency, pollInterval: pollInterval)
    }
}

/// Shuts the provider HTTP clients (and the webhook transport) down after the rest of the
/// process has stopped.
struct ClientLifetime: Service {
    let clients: [HTTPClient]
    let webhookTransport: HTTPWebhookTransport?

    func run() async throws {
        try? await gracefulShutdown()
        for client in clients { try? await client.shutdown() }
        try? await webhookTransport?.shutdown()
    }
}
