public import Logging

/// The storage facade: one database, the token cipher, and a repository per aggregate.
///
/// Repositories are cheap values; pass the `Store` down and take what you need from it.
public struct Store: Sendable {
    public let database: Database
    public let cipher: TokenCipher
    public let tenants: TenantRepository
    public let users: UserRepository
    public let connections: ConnectionRepository
    public let accounts: AccountRepository
    public let transactions: TransactionRepository
    public let syncRuns: SyncRunRepository
    public let events: EventRepository
    public let providerLimits: ProviderLimitRepository
    public let transactionLinks: TransactionLinkRepository
    public let categorization: CategorizationRepository
    public let webhooks: WebhookRepository

    public init(database: Database, keyring: Keyring) {
        self.database = database
        self.cipher = TokenCipher(keyring: keyring)
        self.tenants = TenantRepository(database: database)
        self.users = UserRepository(database: database)
        self.connections = ConnectionRepository(database: database, cipher: cipher)
        self.accounts = AccountRepository(database: database)
        self.transactions = TransactionRepository(database: database)
        self.syncRuns = SyncRunRepository(database: database)
        self.events = EventRepository(database: database)
        self.providerLimits = ProviderLimitRepository(database: database)
        self.transactionLinks = TransactionLinkRepository(database: database)
        self.categorization = CategorizationRepository(database: database)
        self.webhooks = WebhookRepository(database: database, cipher: cipher)
    }

    /// A migrator for this store's database.
    public func migrator(logger: Logger) -> Migrator { Migrator(database: database, logger: logger) }
}
