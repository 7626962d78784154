/// The stable type names of the events BankSync emits, as webhooks and the feed carry them.
///
/// A type name never changes meaning; a payload that must change gets a new `version` field
/// value inside it (every payload has one), and receivers switch on both.
public enum EventType {
    public static let balanceChangedSignificantly = "balance.changed_significantly"
    public static let transactionLarge = "transaction.large"
    public static let connectionExpiring = "connection.expiring"
    public static let connectionRequiresReauth = "connection.requires_reauth"
    public static let connectionFailed = "connection.failed"
    public static let connectionRefreshFailed = "connection.refresh_failed"
    public static let connectionRecovered = "connection.recovered"
    public static let accountsAdded = "accounts.added"
    public static let syncCompleted = "sync.completed"
    public static let transactionsUpdated = "transactions.updated"
    /// A tenant notice (no user): one of the tenant's webhook endpoints was disabled.
    public static let webhookEndpointDisabled = "webhook_endpoint.disabled"

    /// Every type a user's event can have (what a user may opt out of).
    public static let userTypes: [String] = [
        balanceChangedSignificantly, transactionLarge, connectionExpiring, connectionRequiresReauth, connectionFailed,
        connectionRefreshFailed, connectionRecovered, accountsAdded, syncCompleted, transactionsUpdated,
    ]

    /// Every type, tenant notices included (what a webhook endpoint may subscribe to).
    public static let all: [String] = userTypes + [webhookEndpointDisabled]

    /// Whether `filter` (an endpoint's subscription: a type name, `*`, or `prefix.*`) covers `type`.
    public static func matches(_ filter: String, _ type: String) -> Bool {
        if filter == "*" || filter == type { return true }
        if filter.hasSuffix(".*") { return type.hasPrefix(filter.dropLast(1)) }
        return false
    }

    /// Checks an endpoint's subscription list: each entry a known type, `*`, or a `prefix.*`
    /// that covers at least one known type.
    /// - Throws: ``DomainError`` naming the first entry that is none of these.
    public static func validate(filters: [String]) throws(DomainError) {
        if filters.isEmpty { throw .invalidField(field: "events", message: "the filter is empty: give event types, \"prefix.*\" or \"*\"") }
        for filter in filters where !all.contains(where: { matches(filter, $0) }) {
            throw .invalidField(field: "events", message: "'\(filter)' is not an event type (known: \(all.joined(separator: ", ")), or \"prefix.*\", or \"*\")")
        }
    }
}
