import BankSyncCore
public import struct Foundation.Date

/// Everything the sandbox knows: institutions, users' connections, accounts, transactions,
/// the clock, and the fault plan. All three provider APIs and the control API read and change
/// it; an actor keeps their requests from interleaving inside one change.
///
/// Determinism: every synthetic fact comes from ``SeededRandom`` streams named after the
/// seed, the connection and the day, and every collection the APIs list is an array in
/// creation order. The same seed, the same requests and the same clock give byte-identical
/// responses.
public actor SandboxWorld {
    /// How a world starts.
    public struct Configuration: Sendable {
        public var seed: UInt64
        /// The sandbox's "now" when it starts (UTC).
        public var start: Date
        /// Days of history a new connection comes with.
        public var historyDays: Int
        public var plaidClientID: String
        public var plaidSecret: String
        public var gocardlessSecretID: String
        public var gocardlessSecretKey: String
        /// Teller's webhook signing secret (what Teller's dashboard would show).
        public var tellerSigningSecret: String
        /// GoCardless bank quota: successful calls per account, per scope, per day.
        public var gocardlessDailyLimit: Int

        public init(
            seed: UInt64 = 42, start: Date = Date(timeIntervalSince1970: 1_772_452_800),  // 2026-03-02T12:00:00Z
            historyDays: Int = 90, plaidClientID: String = "sandbox-client-id", plaidSecret: String = "sandbox-secret",
            gocardlessSecretID: String = "sandbox-secret-id", gocardlessSecretKey: String = "sandbox-secret-key",
            tellerSigningSecret: String = "sandbox-teller-signing-secret", gocardlessDailyLimit: Int = 4
        ) {
            self.seed = seed
            self.start = start
            self.historyDays = historyDays
            self.plaidClientID = plaidClientID
            self.plaidSecret = plaidSecret
            self.gocardlessSecretID = gocardlessSecretID
            self.gocardlessSecretKey = gocardlessSecretKey
            self.tellerSigningSecret = tellerSigningSecret
            self.gocardlessDailyLimit = gocardlessDailyLimit
        }
    }

    public let configuration: Configuration
    /// Seconds since 1970 on the sandbox clock.
    public private(set) var now: Int64
    public var today: SandboxDay { SandboxDay(Int(now.floorDivided(by: 86_400))) }

    public let institutions: [SandboxInstitution]
    var connectionOrder: [String] = []
    var connections: [String: SandboxConnection] = [:]
    /// Account ids per connection, in creation order (a scan of every account per request was
    /// quadratic in the number of connections).
    var accountsByConnection: [String: [String]] = [:]
    var accounts: [String: SandboxAccount] = [:]
    var transactions: [SandboxTransaction] = []
    /// Row indices per account, in creation order.
    var rowsByAccount: [String: [Int]] = [:]
    var connectionByToken: [String: String] = [:]
    var requestCounter = 0
    var idCounter = 0
    var faults = FaultPlan()
    /// The fault that fired during the request being handled, for the server to apply.
    var firedFault: FaultRule?
    /// Webhooks waiting to be sent, in order.
    var outbox: [OutgoingWebhook] = []

    // Provider-specific state lives with the provider's API file.
    var plaid = PlaidState()
    var gocardless = GoCardlessState()
    var tellerWebhookURL: String?
    /// What was POSTed to `/sandbox/inbox` (an app's webhook endpoint stand-in), newest last,
    /// at most ``inboxLimit``.
    public private(set) var inbox: [InboxMessage] = []
    static let inboxLimit = 1_000

    /// Records one request to the inbox.
    func receive(_ request: SandboxRequest) {
        inbox.append(InboxMessage(receivedAt: now, headers: request.headers, body: request.body))
        if inbox.count > Self.inboxLimit { inbox.removeFirst(inbox.count - Self.inboxLimit) }
    }

    /// Empties the inbox.
    public func clearInbox() { inbox.removeAll() }
    /// The origin clients last reached the sandbox at, for links inside webhooks.
    var lastOrigin = "http://127.0.0.1"

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        self.now = Int64(configuration.start.timeIntervalSince1970)
        self.institutions = SandboxWorld.catalogue
    }

    // MARK: Ids

    /// A new id for `purpose`, drawn from the seed and a world-wide counter: the n-th id minted
    /// in a world is the same for the same seed.
    func mint(_ purpose: String) -> SeededRandom {
        idCounter += 1
        return SeededRandom(seed: configuration.seed, stream: "\(purpose)/\(idCounter)")
    }

    /// Plaid-style request id.
    func nextRequestID() -> String {
        requestCounter += 1
        var random = SeededRandom(seed: configuration.seed, stream: "request/\(requestCounter)")
        return random.string(15, alphabet: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
    }

    // MARK: Reading

    public func connection(_ id: String) -> SandboxConnection? { connections[id] }

    public func allConnections() -> [SandboxConnection] { connectionOrder.compactMap { connections[$0] } }

    public func accounts(ofConnection id: String) -> [SandboxAccount] {
        (accountsByConnection[id] ?? []).compactMap { accounts[$0] }
    }

    /// The account with `id`: the world's own id, or one a GoCardless reconnect issued for it.
    public func account(_ id: String) -> SandboxAccount? { accounts[canonicalAccountID(id)] }

    /// The world's id for an account id a provider handed out (GoCardless reconnects issue
    /// their own); other ids are returned as they are.
    public func canonicalAccountID(_ id: String) -> String { gocardless.accountAliases[id] ?? id }

    /// The account's rows that exist now (not removed), oldest first.
    public func currentTransactions(ofAccount id: String) -> [SandboxTransaction] {
        (rowsByAccount[canonicalAccountID(id)] ?? []).map { transactions[$0] }.filter { !$0.removed }
    }

    /// (current, available) in minor units from the holder's view: current counts posted
    /// rows, available also pending ones (and the credit line on cards).
    public func balances(ofAccount id: String) -> (current: Int64, available: Int64) {
        let id = canonicalAccountID(id)
        guard let account = accounts[id] else { return (0, 0) }
        var current = account.openingBalance
        var pending: Int64 = 0
        // Field by field, not through currentTransactions: copying every row (a dozen strings
        // each) to add up amounts was most of a balance request, and the bank simulation
        // asks for balances every simulated day.
        for index in rowsByAccount[id] ?? [] where !transactions[index].removed {
            if transactions[index].pending { pending += transactions[index].amount } else { current += transactions[index].amount }
        }
        let available = account.kind == .creditCard ? (account.creditLimit ?? 0) + current + pending : current + pending
        return (current, available)
    }

    // MARK: Clock

    /// Moves the clock forward; each new day brings that day's activity to every active
    /// connection. Returns the number of rows created, changed and removed.
    @discardableResult
    public func advance(seconds: Int64) -> (added: Int, modified: Int, removed: Int) {
        precondition(seconds >= 0)
        let before = today
        now += seconds
        var totals = (added: 0, modified: 0, removed: 0)
        if today > before {
            for day in (before.number + 1)...today.number {
                for id in connectionOrder where connections[id]?.state == .active {
                    let counts = simulate(connection: id, day: SandboxDay(day))
                    totals.added += counts.added
                    totals.modified += counts.modified
                    totals.removed += counts.removed
                }
            }
            for id in connectionOrder where connections[id]?.state == .active {
                switch connections[id]!.provider {
                case .plaid: queuePlaidWebhook(connection: id, type: "TRANSACTIONS", code: "SYNC_UPDATES_AVAILABLE")
                case .teller: queueTellerProcessed(connection: id, since: before)
                case .gocardless: break  // GoCardless has no webhooks
                }
            }
        }
        return totals
    }

    // MARK: Faults and webhooks

    public func setFaults(_ rules: [FaultRule]) { faults = FaultPlan(rules: rules) }
    public func faultRules() -> [FaultRule] { faults.rules }

    /// Decides whether this call fails, and how (counts the call either way).
    func fault(for provider: SandboxProvider, endpoint: String) -> FaultRule? {
        let rule = faults.next(provider: provider, endpoint: endpoint, seed: configuration.seed)
        firedFault = rule
        return rule
    }

    /// Answers one provider call; also returns the fault that fired, if any, so the server
    /// can apply the ones that shape the transport (slow, timeout, broken JSON).
    public func handle(_ provider: SandboxProvider, _ request: SandboxRequest) -> (SandboxResponse, FaultRule?) {
        firedFault = nil
        lastOrigin = request.origin
        let response: SandboxResponse
        switch provider {
        case .plaid: response = plaid(request)
        case .teller: response = teller(request)
        case .gocardless: response = gocardless(request)
        }
        return (response, firedFault)
    }

    /// Takes the webhooks waiting to be sent.
    public func takeOutbox() -> [OutgoingWebhook] {
        defer { outbox = [] }
        return outbox
    }

    public func setTellerWebhookURL(_ url: String?) { tellerWebhookURL = url }

    /// Changes a connection's state as the bank would (login required, disconnected, restored).
    public func setState(_ state: SandboxConnectionState, ofConnection id: String) -> Bool {
        guard var connection = connections[id], connection.state != .removed else { return false }
        connection.state = state
        connections[id] = connection
        if case .loginRequired = state, connection.provider == .plaid {
            queuePlaidWebhook(connection: id, type: "ITEM", code: "ERROR")
        }
        if case .loginRequired(let reason) = state, connection.provider == .teller {
            queueTellerWebhook(type: "enrollment.disconnected", payload: .object([
                ("enrollment_id", .string(id)), ("reason", .string(reason.hasPrefix("disconnected") ? reason : "disconnected.\(reason)")),
            ]))
        }
        return true
    }
}

extension Int64 {
    func floorDivided(by divisor: Int64) -> Int64 {
        let q = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? q - 1 : q
    }
}
