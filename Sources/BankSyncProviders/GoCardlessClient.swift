public import AsyncHTTPClient
public import BankSyncCore
public import Foundation
public import Logging
import NIOHTTP1

/// GoCardless Bank Account Data (v2). The app's JWT is obtained once, cached, refreshed with
/// the refresh token before it runs out, and re-obtained only when the refresh token has
/// expired too: `token/new` is limited to about 100 calls an hour, so never per request.
public struct GoCardlessClient: Sendable {
    public struct Configuration: Sendable {
        /// `https://bankaccountdata.gocardless.com`, or the BankSync sandbox's `/gocardless`.
        public var baseURL: String
        public var secretID: String
        public var secretKey: String

        public init(baseURL: String = "https://bankaccountdata.gocardless.com", secretID: String, secretKey: String) {
            self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
            self.secretID = secretID
            self.secretKey = secretKey
        }
    }

    /// A bank quota reading from the `http_x_ratelimit_account_success_*` headers.
    public let configuration: Configuration
    let http: ProviderHTTP
    let tokens: TokenCache
    let logger: Logger
    /// The shared rate limit and the per-account quota ledger (told of every quota reading).
    let limits: (any ProviderLimits)?

    public init(
        configuration: Configuration, client: HTTPClient, logger: Logger, limits: (any ProviderLimits)? = nil, timeout: Duration = .seconds(30),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.configuration = configuration
        self.http = ProviderHTTP(client: client, provider: .gocardless, timeout: timeout, logger: logger, limits: limits, now: now)
        self.tokens = TokenCache()
        self.logger = logger
        self.limits = limits
    }

    /// The cached app tokens and when they lapse.
    actor TokenCache {
        var access: (token: String, expires: Date)?
        var refresh: (token: String, expires: Date)?
        /// Calls of token/new made by this process (tests check it stays small).
        private(set) var newTokenCalls = 0

        func countNew() { newTokenCalls += 1 }
        func set(access: String, expiresIn: Int, refresh: String?, refreshExpiresIn: Int?, now: Date) {
            // A minute's margin: never present a token that lapses in flight.
            self.access = (access, now.addingTimeInterval(Double(expiresIn) - 60))
            if let refresh, let refreshExpiresIn { self.refresh = (refresh, now.addingTimeInterval(Double(refreshExpiresIn) - 60)) }
        }
        func invalidateAccess() { access = nil }
        func invalidateAll() {
            access = nil
            refresh = nil
        }
    }

    /// How many times this client called `token/new`.
    public var newTokenCalls: Int { get async { await tokens.newTokenCalls } }

    func accessToken() async throws -> String {
        if let access = await tokens.access, access.expires > http.now() { return access.token }
        if let refresh = await tokens.refresh, refresh.expires > http.now() {
            let reply = try await http.send(
                .POST, configuration.baseURL + "/api/v2/token/refresh/", headers: [("content-type", "application/json")],
                body: JSONValue.object([("refresh", .string(refresh.token))]).serialized(), endpoint: "/api/v2/token/refresh/")
            if reply.status == 200 {
                let json = try reply.json(.gocardless, requestID: nil)
                let reader = FieldReader(provider: .gocardless, context: "token/refresh")
                await tokens.set(access: try reader.string(json, "access"), expiresIn: json["access_expires"]?.intValue ?? 86_400, refresh: nil, refreshExpiresIn: nil, now: reply.receivedAt)
                return try reader.string(json, "access")
            }
            await tokens.invalidateAll()  // the refresh token is dead: get a new pair
        }
        await tokens.countNew()
        let reply = try await http.send(
            .POST, configuration.baseURL + "/api/v2/token/new/", headers: [("content-type", "application/json")],
            body: JSONValue.object([("secret_id", .string(configuration.secretID)), ("secret_key", .string(configuration.secretKey))]).serialized(),
            endpoint: "/api/v2/token/new/")
        guard reply.status == 200 else {
            let error = Self.classify(reply, path: "/api/v2/token/new/")
            // Bad secrets are configuration, not a user's problem.
            throw ProviderError(error.kind == .invalidToken ? .permanent : error.kind, provider: .gocardless, code: error.code, message: "obtaining the app token: \(error.message)", httpStatus: reply.status)
        }
        let json = try reply.json(.gocardless, requestID: nil)
        let reader = FieldReader(provider: .gocardless, context: "token/new")
        let access = try reader.string(json, "access")
        await tokens.set(
            access: access, expiresIn: json["access_expires"]?.intValue ?? 86_400, refresh: try reader.string(json, "refresh"),
            refreshExpiresIn: json["refresh_expires"]?.intValue ?? 2_592_000, now: reply.receivedAt)
        return access
    }

    /// An authorised call; a 401 "Invalid token" drops the cached token and tries once more.
    func call(_ method: HTTPMethod, _ path: String, body: JSONValue? = nil, accountScope: (String, String)? = nil) async throws -> JSONValue {
        if let (account, scope) = accountScope { try await limits?.admitScoped(.gocardless, accountID: account, scope: scope) }
        for attempt in 0..<2 {
            let token = try await accessToken()
            var headers = [("authorization", "Bearer \(token)"), ("accept", "application/json")]
            if body != nil { headers.append(("content-type", "application/json")) }
            let reply = try await http.send(method, configuration.baseURL + path, headers: headers, body: body?.serialized(), endpoint: Self.template(path))
            if let (account, scope) = accountScope { await observeQuota(reply, account: account, scope: scope) }
            if (200..<300).contains(reply.status) { return try reply.json(.gocardless, requestID: nil) }
            let error = Self.classify(reply, path: path)
            if case .quotaExhausted(let reset) = error.kind, let (account, scope) = accountScope {
                // Spent, whether or not the headers said so: remember it until the reset.
                await limits?.record(QuotaReading(
                    provider: .gocardless, accountID: account, scope: scope, limit: 0, remaining: 0, resetAt: reset ?? reply.receivedAt.addingTimeInterval(86_400)))
            }
            if error.kind == .invalidToken && attempt == 0 {
                await tokens.invalidateAccess()
                continue
            }
            throw error
        }
        throw ProviderError(.transient, provider: .gocardless, message: "unreachable")
    }

    /// `/api/v2/accounts/<uuid>/transactions/` → `/api/v2/accounts/{id}/transactions/` for logs.
    static func template(_ path: String) -> String {
        path.split(separator: "?")[0].split(separator: "/", omittingEmptySubsequences: false).map { part in
            part.count == 36 && part.filter { $0 == "-" }.count == 4 ? "{id}" : String(part)
        }.joined(separator: "/")
    }

    private func observeQuota(_ reply: ProviderHTTP.Reply, account: String, scope: String) async {
        func header(_ suffix: String) -> Int? {
            (reply.headers.first(name: "http_x_ratelimit_account_success_\(suffix)") ?? reply.headers.first(name: "x-ratelimit-account-success-\(suffix)"))
                .flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        }
        guard let limit = header("limit"), let remaining = header("remaining") else { return }
        let reset = reply.receivedAt.addingTimeInterval(Double(header("reset") ?? 86_400))
        await limits?.record(QuotaReading(provider: .gocardless, accountID: account, scope: scope, limit: limit, remaining: remaining, resetAt: reset))
    }

    /// GoCardless's `{summary, detail, status_code, type?}` → what the engine does.
    static func classify(_ reply: ProviderHTTP.Reply, path: String) -> ProviderError {
        let json = try? JSONValue.parse(reply.body)
        let summary = json?["summary"]?.stringValue
        let detail = json?["detail"]?.stringValue
        let type = json?["type"]?.stringValue
        let message = [summary, detail].compactMap { $0 }.joined(separator: ": ").nonEmpty ?? "HTTP \(reply.status) at \(template(path))"
        func seconds(_ name: String) -> Date? {
            reply.headers.first(name: name).flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }.map { reply.receivedAt.addingTimeInterval($0) }
        }
        let kind: ProviderError.Kind
        switch reply.status {
        case 401 where type == "EUAExpiredError" || type == "AccessExpiredError" || summary?.contains("has expired") == true: kind = .consentExpired
        case 401 where type == "AccountInactiveError": kind = .notFound
        case 401: kind = .invalidToken
        case 403 where type == "AccountAccessForbidden" || summary?.contains("End User Agreement") == true: kind = .reauthRequired
        case 404: kind = .notFound
        case 409: kind = .reauthRequired  // suspended: relink
        case 429 where type == "RateLimitError":
            kind = .quotaExhausted(resetAt: seconds("http_x_ratelimit_account_success_reset") ?? reply.receivedAt.addingTimeInterval(86_400))
        case 429: kind = .rateLimited(retryAt: seconds("http_x_ratelimit_reset") ?? seconds("retry-after") ?? reply.receivedAt.addingTimeInterval(60))
        case 500...: kind = .transient
        default: kind = .permanent
        }
        return ProviderError(kind, provider: .gocardless, code: type ?? summary, message: message, httpStatus: reply.status)
    }

    // MARK: Linking

    /// An end-user agreement and a requisition; send the user to the returned `url`.
    public func startLink(institutionID: String, redirect: String, reference: String, maxHistoricalDays: Int = 90, accessValidForDays: Int = 90)
        async throws -> LinkSession
    {
        let agreement = try await call(.POST, "/api/v2/agreements/enduser/", body: .object([
            ("institution_id", .string(institutionID)), ("max_historical_days", .int(maxHistoricalDays)),
            ("access_valid_for_days", .int(accessValidForDays)), ("access_scope", .array(["balances", "details", "transactions"].map(JSONValue.string))),
        ]))
        let reader = FieldReader(provider: .gocardless, context: "requisition")
        let requisition = try await call(.POST, "/api/v2/requisitions/", body: .object([
            ("redirect", .string(redirect)), ("institution_id", .string(institutionID)), ("reference", .string(reference)),
            ("agreement", .string(try reader.string(agreement, "id"))),
        ]))
        return LinkSession(token: try reader.string(requisition, "id"), url: try reader.string(requisition, "link"), expiresAt: nil)
    }

    /// The requisition's status (`LN` once linked) and account ids.
    public func requisition(_ id: String) async throws -> (status: String, accounts: [String]) {
        let json = try await call(.GET, "/api/v2/requisitions/\(id)/")
        let reader = FieldReader(provider: .gocardless, context: "requisition")
        return (try reader.string(json, "status"), json["accounts"]?.arrayValue?.compactMap(\.stringValue) ?? [])
    }

    /// The linked requisition as a connection credential (its id is both secret and external id).
    public func completeLink(requisitionID: String) async throws -> ConnectionCredential {
        let (status, _) = try await requisition(requisitionID)
        guard status == "LN" else {
            throw ProviderError(status == "EX" ? .consentExpired : .reauthRequired, provider: .gocardless, code: status, message: "requisition \(requisitionID) is \(status), not linked (LN)")
        }
        return ConnectionCredential(secret: requisitionID, externalID: requisitionID)
    }

    // MARK: Data

    /// The requisition's accounts. Uses one `details` call per account (a bank call, counted
    /// against the daily quota) for the currency and type: call it at discovery, not per sync.
    public func accounts(_ credential: ConnectionCredential) async throws -> [ProviderAccount] {
        let (status, ids) = try await requisition(credential.secret)
        if status == "EX" { throw ProviderError(.consentExpired, provider: .gocardless, code: "EX", message: "the requisition's agreement has expired") }
        var accounts: [ProviderAccount] = []
        for id in ids {
            let meta = try await call(.GET, "/api/v2/accounts/\(id)/")
            let details = try await call(.GET, "/api/v2/accounts/\(id)/details/", accountScope: (id, "details"))["account"]
            let reader = FieldReader(provider: .gocardless, context: "account details")
            let code = try reader.string(details, "currency")
            let currency: Currency
            do { currency = try Currency(code: code) } catch { throw reader.fail("unknown currency \(code)") }
            let type: AccountType =
                switch details?["cashAccountType"]?.stringValue {
                case "CARD": .credit
                case "LOAN": .loan
                default: .depository
                }
            let iban = details?["iban"]?.stringValue ?? meta["iban"]?.stringValue
            accounts.append(ProviderAccount(
                providerAccountID: id, name: details?["name"]?.stringValue ?? meta["name"]?.stringValue ?? "Account",
                officialName: details?["product"]?.stringValue, mask: iban.map { String($0.suffix(4)) }, type: type,
                subtype: details?["cashAccountType"]?.stringValue, currency: currency,
                isOpen: !["EXPIRED", "SUSPENDED", "DEACTIVATED"].contains(meta["status"]?.stringValue ?? "")))
        }
        return accounts
    }

    /// Balances of one account: current from `interimBooked` → `closingBooked` → `openingBooked`,
    /// available from `interimAvailable` → `expected` → `forwardAvailable`.
    public func balance(accountID: String) async throws -> ProviderBalance {
        let json = try await call(.GET, "/api/v2/accounts/\(accountID)/balances/", accountScope: (accountID, "balances"))
        let reader = FieldReader(provider: .gocardless, context: "balances")
        let list = json["balances"]?.arrayValue ?? []
        func pick(_ types: [String]) throws -> Money? {
            for type in types {
                if let row = list.first(where: { $0["balanceType"]?.stringValue == type }) {
                    return try reader.money(row["balanceAmount"]?["amount"]?.decimalText, currency: row["balanceAmount"]?["currency"]?.stringValue, field: type)
                }
            }
            return nil
        }
        let available = try pick(["interimAvailable", "expected", "forwardAvailable"])
        guard let current = try pick(["interimBooked", "closingBooked", "openingBooked"]) ?? available else { throw reader.fail("no usable balance type") }
        return ProviderBalance(providerAccountID: accountID, current: current, available: available)
    }

    /// Booked and pending rows dated `from…to`. Booked rows are identified by
    /// `internalTransactionId`, else `transactionId`; pending rows have no id.
    public func transactions(accountID: String, from: CalendarDate, to: CalendarDate) async throws -> TransactionWindow {
        let json = try await call(.GET, "/api/v2/accounts/\(accountID)/transactions/?date_from=\(from)&date_to=\(to)", accountScope: (accountID, "transactions"))
        let reader = FieldReader(provider: .gocardless, context: "transactions")
        var rows: [ProviderTransaction] = []
        var rejected: [RejectedRow] = []
        for (list, pending) in [("booked", false), ("pending", true)] {
            for row in json["transactions"]?[list]?.arrayValue ?? [] {
                let id = pending ? nil : (row["internalTransactionId"]?.stringValue ?? row["transactionId"]?.stringValue)
                do {
                    rows.append(try Self.transaction(row, id: id, list: list, accountID: accountID, reader: reader))
                } catch let error as ProviderError {
                    rejected.append(RejectedRow(providerTransactionID: id, providerAccountID: accountID, reason: error.message))
                }
            }
        }
        return TransactionWindow(providerAccountID: accountID, from: from, to: to, transactions: rows, rejected: rejected)
    }

    /// One booked (`id` given) or pending (`id` nil) row.
    static func transaction(_ row: JSONValue, id: String?, list: String, accountID: String, reader: FieldReader) throws -> ProviderTransaction {
        let amount = try reader.money(row["transactionAmount"]?["amount"]?.decimalText, currency: row["transactionAmount"]?["currency"]?.stringValue, field: "transactionAmount")
        let dateText = row["bookingDate"]?.stringValue ?? row["valueDate"]?.stringValue ?? row["bookingDateTime"]?.stringValue.map { String($0.prefix(10)) }
        guard let dateText, let date = try? CalendarDate(parsing: dateText) else { throw reader.fail("a \(list) row has no usable date") }
        let text = row["remittanceInformationUnstructured"]?.stringValue
            ?? row["remittanceInformationUnstructuredArray"]?.arrayValue?.compactMap(\.stringValue).joined(separator: " ")
            ?? row["additionalInformation"]?.stringValue ?? ""
        return ProviderTransaction(
            providerTransactionID: id, providerAccountID: accountID, amount: amount, date: date,
            authorizedDate: row["valueDate"]?.stringValue.flatMap { try? CalendarDate(parsing: $0) }, isPending: list == "pending",
            description: text, counterparty: amount.minorUnits < 0 ? row["creditorName"]?.stringValue : row["debtorName"]?.stringValue,
            providerCategory: row["proprietaryBankTransactionCode"]?.stringValue)
    }

    public func health(_ credential: ConnectionCredential) async throws -> ProviderConnectionHealth {
        let (status, _) = try await requisition(credential.secret)
        switch status {
        case "LN": return .healthy
        case "EX": return .expiresAt(nil)
        default: return .reauthRequired(reason: status)  // SU suspended, RJ rejected, or never linked
        }
    }

    public func remove(_ credential: ConnectionCredential) async throws {
        _ = try await call(.DELETE, "/api/v2/requisitions/\(credential.secret)/")
    }
}

extension String {
    var nonEmpty: String? { isEmpty ? nil : self }
}
