/// One way to make a provider endpoint misbehave.
public enum FaultKind: String, Sendable, CaseIterable, Codable {
    /// 429 in the provider's own shape and headers.
    case rateLimit = "rate_limit"
    /// 500, 502, 503 in the provider's own shape.
    case serverError = "server_error", badGateway = "bad_gateway", unavailable = "unavailable"
    /// Answers normally after `delay_ms`.
    case slow
    /// Answers only after `delay_ms` (default 60 s): long past any sane client timeout.
    case timeout
    /// A 200 whose body is not JSON, or is cut off halfway.
    case malformedJSON = "malformed_json", truncatedJSON = "truncated_json"
    /// Plaid ITEM_LOGIN_REQUIRED, Teller 404 enrollment.disconnected, GoCardless 401 EUA expired.
    case loginRequired = "login_required"
    /// Plaid INVALID_ACCESS_TOKEN, Teller 403, GoCardless 401 "Invalid token".
    case tokenExpired = "token_expired"
    /// Plaid TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION.
    case mutationDuringPagination = "mutation_during_pagination"
    /// A 200 whose transaction rows are partly unreadable or unusual (``OddRows``).
    case oddRows = "odd_rows"
}

/// When and where a fault fires. `endpoint` is a path below the provider prefix, where `*`
/// matches one segment and a trailing `**` any rest (`/accounts/*/transactions`), or `*` alone
/// for every endpoint. It fires on the listed call numbers (1-based, counted per rule), or
/// else with probability `rate` (drawn from the world's seed, so reproducible), at most
/// `times` times if given.
public struct FaultRule: Sendable, Codable, Equatable {
    public var provider: SandboxProvider
    public var endpoint: String
    public var kind: FaultKind
    public var calls: [Int]?
    public var rate: Double?
    public var times: Int?
    public var delayMilliseconds: Int?

    public init(
        provider: SandboxProvider, endpoint: String = "*", kind: FaultKind, calls: [Int]? = nil, rate: Double? = nil, times: Int? = nil,
        delayMilliseconds: Int? = nil
    ) {
        self.provider = provider
        self.endpoint = endpoint
        self.kind = kind
        self.calls = calls
        self.rate = rate
        self.times = times
        self.delayMilliseconds = delayMilliseconds
    }

    enum CodingKeys: String, CodingKey {
        case provider, endpoint, kind, calls, rate, times
        case delayMilliseconds = "delay_ms"
    }

    func matches(provider: SandboxProvider, endpoint path: String) -> Bool {
        guard provider == self.provider else { return false }
        if endpoint == "*" { return true }
        let pattern = endpoint.split(separator: "/")
        let segments = path.split(separator: "/")
        for (index, part) in pattern.enumerated() {
            if part == "**" { return true }
            guard index < segments.count, part == "*" || part == segments[index] else { return false }
        }
        return pattern.count == segments.count
    }

    /// Why a rule is unusable, or nil.
    var problem: String? {
        if calls == nil && rate == nil { return "a fault needs \"calls\" (e.g. [3]) or \"rate\" (0…1)" }
        if let rate, !(0...1).contains(rate) { return "\"rate\" must be between 0 and 1, not \(rate)" }
        if let calls, calls.contains(where: { $0 < 1 }) { return "\"calls\" are 1-based call numbers" }
        if !endpoint.hasPrefix("/") && endpoint != "*" { return "\"endpoint\" must start with / (or be *)" }
        return nil
    }
}

/// The active fault rules and how many calls each has seen.
struct FaultPlan: Sendable {
    private(set) var rules: [FaultRule] = []
    private var seen: [Int] = []
    private var fired: [Int] = []

    init(rules: [FaultRule] = []) {
        self.rules = rules
        seen = Array(repeating: 0, count: rules.count)
        fired = Array(repeating: 0, count: rules.count)
    }

    /// Counts this call against every matching rule; returns the first that fires.
    mutating func next(provider: SandboxProvider, endpoint: String, seed: UInt64) -> FaultRule? {
        var chosen: FaultRule?
        for (index, rule) in rules.enumerated() where rule.matches(provider: provider, endpoint: endpoint) {
            seen[index] += 1
            guard chosen == nil, rule.times.map({ fired[index] < $0 }) ?? true else { continue }
            var fires = rule.calls?.contains(seen[index]) ?? false
            if !fires, rule.calls == nil, let rate = rule.rate {
                var random = SeededRandom(seed: seed, stream: "fault/\(index)/\(seen[index])")
                fires = random.chance(rate)
            }
            if fires {
                fired[index] += 1
                chosen = rule
            }
        }
        return chosen
    }
}

/// A webhook the sandbox will POST.
public struct OutgoingWebhook: Sendable {
    public let provider: SandboxProvider
    public let url: String
    public let headers: [(String, String)]
    public let body: [UInt8]
}
