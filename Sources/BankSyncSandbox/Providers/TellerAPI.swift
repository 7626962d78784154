import BankSyncCore
import Crypto
import Foundation

/// Teller's API: REST `GET`/`DELETE`, the access token as the HTTP Basic username, string
/// amounts with Teller's signs (credit cards: a purchase is positive), transactions newest
/// first, and `{"error":{"code","message"}}` errors.
extension SandboxWorld {
    func teller(_ request: SandboxRequest) -> SandboxResponse {
        func error(_ status: Int, _ code: String, _ message: String) -> SandboxResponse {
            .json(status, .object([("error", .object([("code", .string(code)), ("message", .string(message))]))]))
        }
        let segments = request.pathSegments
        if request.method == "GET" && segments == ["institutions"] {
            return .json(200, .array(institutions.filter { $0.provider == .teller }.map { institution in
                .object([
                    ("id", .string(institution.id)), ("name", .string(institution.name)),
                    ("products", .array(["verify", "balance", "transactions", "identity"].map(JSONValue.string))),
                ])
            }))
        }
        // Basic auth: base64("<token>:").
        guard let authorization = request.header("authorization"), authorization.lowercased().hasPrefix("basic "),
            let decoded = Data(base64Encoded: String(authorization.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
            let credentials = String(data: decoded, encoding: .utf8), let token = credentials.split(separator: ":", omittingEmptySubsequences: false).first,
            !token.isEmpty
        else {
            return error(401, "missing_access_token", "An access token is required: send it as the HTTP Basic username with an empty password.")
        }
        guard let id = connectionByToken[String(token)], let connection = connections[id], connection.provider == .teller, connection.state != .removed else {
            return error(403, "invalid_access_token", "The access token is invalid or has been revoked.")
        }
        if let fault = fault(for: .teller, endpoint: request.path), let response = tellerFault(fault, connection: connection) { return response }
        if case .loginRequired(let reason) = connection.state {
            let code = reason.hasPrefix("enrollment.") ? reason : "enrollment.disconnected\(reason == "disconnected" ? "" : "." + reason)"
            return error(404, code, "The enrollment is disconnected; the user must reconnect it in Teller Connect.")
        }
        let owned = accounts(ofConnection: id)
        func account(_ accountID: String) -> Result<SandboxAccount, ErrorResponse> {
            guard let account = owned.first(where: { $0.id == accountID }) else {
                return .failure(ErrorResponse(error(404, "not_found", "No account with id \(accountID).")))
            }
            if account.closed { return .failure(ErrorResponse(error(410, "account.closed", "The account is closed."))) }
            return .success(account)
        }

        switch (request.method, segments.count) {
        case ("GET", 1) where segments[0] == "accounts":
            return .json(200, .array(owned.filter { !$0.closed }.map { tellerAccount($0, origin: request.origin) }))
        case ("DELETE", 1) where segments[0] == "accounts":
            connections[id]?.state = .removed
            connectionByToken[String(token)] = nil
            return .empty(204)
        case ("GET", 2) where segments[0] == "accounts":
            switch account(segments[1]) {
            case .failure(let e): return e.response
            case .success(let account): return .json(200, tellerAccount(account, origin: request.origin))
            }
        case ("DELETE", 2) where segments[0] == "accounts":
            switch account(segments[1]) {
            case .failure(let e): return e.response
            case .success(let account):
                accounts[account.id]?.closed = true
                return .empty(204)
            }
        case ("GET", 3) where segments[0] == "accounts" && segments[2] == "details":
            switch account(segments[1]) {
            case .failure(let e): return e.response
            case .success(let account):
                var random = SeededRandom(seed: configuration.seed, stream: "teller/details/\(account.id)")
                return .json(200, .object([
                    ("account_id", .string(account.id)), ("account_number", .string(random.string(8, alphabet: "0123456789") + account.mask)),
                    ("links", .object([("account", .string("\(request.origin)/teller/accounts/\(account.id)")), ("self", .string("\(request.origin)/teller/accounts/\(account.id)/details"))])),
                    ("routing_numbers", .object([("ach", .string("0" + random.string(8, alphabet: "0123456789"))), ("bacs", .null), ("wire", .null)])),
                ]))
            }
        case ("GET", 3) where segments[0] == "accounts" && segments[2] == "balances":
            switch account(segments[1]) {
            case .failure(let e): return e.response
            case .success(let account):
                let (current, available) = balances(ofAccount: account.id)
                let credit = account.kind == .creditCard
                return .json(200, .object([
                    ("account_id", .string(account.id)), ("available", .string(Format.decimal(available))),
                    ("ledger", .string(Format.decimal(credit ? -current : current))),
                    ("links", .object([("account", .string("\(request.origin)/teller/accounts/\(account.id)")), ("self", .string("\(request.origin)/teller/accounts/\(account.id)/balances"))])),
                ]))
            }
        case ("GET", 3) where segments[0] == "accounts" && segments[2] == "transactions":
            switch account(segments[1]) {
            case .failure(let e): return e.response
            case .success(let account): return tellerTransactions(account, request: request)
            }
        case ("GET", 4) where segments[0] == "accounts" && segments[2] == "transactions":
            switch account(segments[1]) {
            case .failure(let e): return e.response
            case .success(let account):
                guard let row = currentTransactions(ofAccount: account.id).first(where: { $0.id == segments[3] }) else {
                    return error(404, "not_found", "No transaction with id \(segments[3]).")
                }
                return .json(200, tellerTransaction(row, account: account, origin: request.origin, runningBalance: nil))
            }
        default:
            return error(404, "not_found", "No route for \(request.method) \(request.path).")
        }
    }

    private func tellerFault(_ fault: FaultRule, connection: SandboxConnection) -> SandboxResponse? {
        func error(_ status: Int, _ code: String, _ message: String) -> SandboxResponse {
            .json(status, .object([("error", .object([("code", .string(code)), ("message", .string(message))]))]))
        }
        switch fault.kind {
        case .rateLimit: return error(429, "rate_limit_exceeded", "Too many requests; slow down and retry later.")
        case .serverError: return error(500, "internal_server_error", "Something went wrong at Teller.")
        case .badGateway: return error(502, "bad_gateway", "The institution returned an error.")
        case .unavailable: return error(503, "service_unavailable", "Teller is temporarily unavailable.")
        case .loginRequired: return error(404, "enrollment.disconnected.credentials_invalid", "The enrollment is disconnected; the user must reconnect it.")
        case .tokenExpired: return error(403, "invalid_access_token", "The access token is invalid or has been revoked.")
        case .mutationDuringPagination, .slow, .timeout, .malformedJSON, .truncatedJSON, .oddRows: return nil
        }
    }

    func tellerAccount(_ account: SandboxAccount, origin: String) -> JSONValue {
        let base = "\(origin)/teller/accounts/\(account.id)"
        let credit = account.kind == .creditCard
        let institution = connections[account.connectionID]!.institution
        return .object([
            ("currency", .string(account.currency)), ("enrollment_id", .string(account.connectionID)), ("id", .string(account.id)),
            ("institution", .object([("id", .string(institution.id)), ("name", .string(institution.name))])),
            ("last_four", .string(account.mask)),
            ("links", .object([
                ("balances", .string("\(base)/balances")), ("details", credit ? .null : .string("\(base)/details")), ("self", .string(base)),
                ("transactions", .string("\(base)/transactions")),
            ])),
            ("name", .string(account.name)), ("status", .string(account.closed ? "closed" : "open")),
            ("subtype", .string(credit ? "credit_card" : account.kind == .savings ? "savings" : "checking")),
            ("type", .string(credit ? "credit" : "depository")),
        ])
    }

    func tellerTransaction(_ row: SandboxTransaction, account: SandboxAccount, origin: String, runningBalance: Int64?) -> JSONValue {
        let credit = account.kind == .creditCard
        let type: String =
            switch row.kind {
            case .purchase, .refund: "card_payment"
            case .salary: "deposit"
            case .bill: "ach"
            case .transferIn, .transferOut: "transfer"
            case .cardPayment, .cardPaymentReceived, .loanPayment, .loanPaymentReceived: "payment"
            case .interest: "interest"
            case .fee: "fee"
            }
        let category: JSONValue =
            row.pending ? .null
            : row.merchant.map { .string($0.tellerCategory) }
                ?? .string(row.kind == .salary || row.kind == .interest ? "income" : row.kind == .bill ? "utilities" : "general")
        return .object([
            ("account_id", .string(account.id)),
            ("amount", .string(Format.decimal(credit ? -row.amount : row.amount))),  // credit cards: purchase positive
            ("date", .string(row.date.description)), ("description", .string(row.description)),
            ("details", .object([
                ("category", category),
                ("counterparty", .object([
                    ("name", .optional(row.merchant?.name.uppercased() ?? row.counterparty?.uppercased())),
                    ("type", row.merchant != nil || row.counterparty != nil ? .string("organization") : .null),
                ])),
                ("processing_status", .string(row.pending ? "pending" : "complete")),
            ])),
            ("id", .string(row.id)),
            ("links", .object([("account", .string("\(origin)/teller/accounts/\(account.id)")), ("self", .string("\(origin)/teller/accounts/\(account.id)/transactions/\(row.id)"))])),
            ("running_balance", runningBalance.map { .string(Format.decimal(credit ? -$0 : $0)) } ?? .null),
            ("status", .string(row.pending ? "pending" : "posted")), ("type", .string(type)),
        ])
    }

    /// Newest first; `count`, `from_id` (rows older than that id), `start_date`/`end_date`
    /// (inclusive). Posted rows carry the running balance after them.
    private func tellerTransactions(_ account: SandboxAccount, request: SandboxRequest) -> SandboxResponse {
        func error(_ message: String) -> SandboxResponse {
            .json(400, .object([("error", .object([("code", .string("bad_request")), ("message", .string(message))]))]))
        }
        var start: SandboxDay?
        var end: SandboxDay?
        if let text = request.queryValue("start_date") {
            guard let day = SandboxDay(parsing: text) else { return error("start_date must be a date as YYYY-MM-DD, not \(text)") }
            start = day
        }
        if let text = request.queryValue("end_date") {
            guard let day = SandboxDay(parsing: text) else { return error("end_date must be a date as YYYY-MM-DD, not \(text)") }
            end = day
        }
        var count: Int?
        if let text = request.queryValue("count") {
            guard let n = Int(text), n > 0 else { return error("count must be a positive integer, not \(text)") }
            count = n
        }
        // Running balances: oldest to newest over posted rows.
        let rows = currentTransactions(ofAccount: account.id)
        var running: [Int: Int64] = [:]
        var balance = account.openingBalance
        for row in rows.filter({ !$0.pending }).sorted(by: { ($0.date, $0.key) < ($1.date, $1.key) }) {
            balance += row.amount
            running[row.key] = balance
        }
        // Newest first: pending rows, then by date, then by creation.
        var ordered = rows.sorted { a, b in
            if a.pending != b.pending { return a.pending }
            return (a.date, a.key) > (b.date, b.key)
        }
        if let fromID = request.queryValue("from_id") {
            guard let index = ordered.firstIndex(where: { $0.id == fromID }) else { return error("from_id \(fromID) is not a transaction of this account") }
            ordered = Array(ordered[(index + 1)...])
        }
        ordered = ordered.filter { row in (start.map { row.date >= $0 } ?? true) && (end.map { row.date <= $0 } ?? true) }
        if let count { ordered = Array(ordered.prefix(count)) }
        return .json(200, .array(ordered.map { tellerTransaction($0, account: account, origin: request.origin, runningBalance: running[$0.key]) }))
    }

    /// `transactions.processed` for the rows of `connection` that posted after `since`.
    func queueTellerProcessed(connection id: String, since: SandboxDay) {
        guard tellerWebhookURL != nil else { return }
        var rows: [JSONValue] = []
        for account in accounts(ofConnection: id) where !account.closed {
            for row in currentTransactions(ofAccount: account.id) where !row.pending && row.date > since {
                rows.append(tellerTransaction(row, account: account, origin: lastOrigin, runningBalance: nil))
            }
        }
        guard !rows.isEmpty else { return }
        queueTellerWebhook(type: "transactions.processed", payload: .object([("enrollment_id", .string(id)), ("transactions", .array(rows))]))
    }

    /// Queues a Teller webhook (if a URL is set): `Teller-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`.
    func queueTellerWebhook(type: String, payload: JSONValue) {
        guard let url = tellerWebhookURL else { return }
        var random = mint("teller-webhook")
        let body = JSONValue.object([
            ("id", .string("wh_\(random.string(21, alphabet: "0123456789abcdefghijklmnopqrstuv"))")), ("payload", payload),
            ("timestamp", .string(Format.timestamp(now))), ("type", .string(type)),
        ]).serialized()
        let message = Array("\(now).".utf8) + body
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Array(configuration.tellerSigningSecret.utf8)))
        outbox.append(OutgoingWebhook(
            provider: .teller, url: url, headers: [("content-type", "application/json"), ("teller-signature", "t=\(now),v1=\(Format.hex(mac))")],
            body: body))
    }
}
