public import AsyncHTTPClient
public import BankSyncCore
public import Foundation
public import Logging
import NIOHTTP1

/// Plaid over its 2020-09-14 API: every call a JSON `POST` with the client id and secret in
/// the body; errors classified by `error_code`, never by message or status alone.
public struct PlaidClient: Sendable {
    public struct Configuration: Sendable {
        /// `https://sandbox.plaid.com`, `https://production.plaid.com`, or the BankSync sandbox's `/plaid`.
        public var baseURL: String
        public var clientID: String
        public var secret: String
        public var clientName: String
        public var countryCodes: [String]
        /// Where Plaid sends webhooks for new Items.
        public var webhookURL: String?
        /// History asked for at link (Plaid: 1–730, default 90).
        public var daysRequested: Int

        public init(
            baseURL: String, clientID: String, secret: String, clientName: String = "BankSync", countryCodes: [String] = ["US"],
            webhookURL: String? = nil, daysRequested: Int = 90
        ) {
            self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
            self.clientID = clientID
            self.secret = secret
            self.clientName = clientName
            self.countryCodes = countryCodes
            self.webhookURL = webhookURL
            self.daysRequested = daysRequested
        }
    }

    public let configuration: Configuration
    let http: ProviderHTTP
    let logger: Logger

    public init(
        configuration: Configuration, client: HTTPClient, logger: Logger, limits: (any ProviderLimits)? = nil, timeout: Duration = .seconds(30),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.configuration = configuration
        self.http = ProviderHTTP(client: client, provider: .plaid, timeout: timeout, logger: logger, limits: limits, now: now)
        self.logger = logger
    }

    /// One call: returns the JSON body of a 200, or throws the classified error.
    func call(_ endpoint: String, _ fields: [(String, JSONValue)]) async throws -> JSONValue {
        let body = JSONValue.object([("client_id", .string(configuration.clientID)), ("secret", .string(configuration.secret))] + fields)
        let reply = try await http.send(
            .POST, configuration.baseURL + endpoint, headers: [("content-type", "application/json"), ("plaid-version", "2020-09-14")],
            body: body.serialized(), endpoint: endpoint)
        let json = try reply.json(.plaid, requestID: nil)
        let requestID = json["request_id"]?.stringValue
        guard reply.status == 200 else { throw Self.classify(json, status: reply.status, requestID: requestID, now: reply.receivedAt) }
        return json
    }

    /// Plaid's error envelope → what the engine does.
    static func classify(_ json: JSONValue, status: Int, requestID: String?, now: Date) -> ProviderError {
        let code = json["error_code"]?.stringValue
        let type = json["error_type"]?.stringValue
        let message = json["error_message"]?.stringValue ?? "HTTP \(status) without Plaid's error envelope"
        let kind: ProviderError.Kind
        switch (type, code) {
        case (_, "ITEM_LOGIN_REQUIRED"), (_, "ACCESS_NOT_GRANTED"), (_, "NO_ACCOUNTS"), (_, "INSUFFICIENT_CREDENTIALS"), (_, "ITEM_LOCKED"),
            (_, "MFA_NOT_SUPPORTED"), (_, "INVALID_CREDENTIALS"):
            kind = .reauthRequired
        case (_, "INVALID_ACCESS_TOKEN"), (_, "ITEM_NOT_FOUND"), (_, "USER_PERMISSION_REVOKED"), (_, "USER_ACCOUNT_REVOKED"):
            kind = .invalidToken
        case ("RATE_LIMIT_EXCEEDED", _):
            // Plaid sends no reset header; its limits are per minute.
            kind = .rateLimited(retryAt: now.addingTimeInterval(60))
        case ("INSTITUTION_ERROR", "INSTITUTION_NO_LONGER_SUPPORTED"): kind = .permanent
        case ("INSTITUTION_ERROR", _), ("API_ERROR", _), (_, "PRODUCT_NOT_READY"): kind = .transient
        case (_, "TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION"): kind = .transient
        default: kind = status >= 500 ? .transient : .permanent
        }
        return ProviderError(kind, provider: .plaid, code: code ?? type, message: message, httpStatus: status, requestID: requestID)
    }

    // MARK: Linking

    /// A Link token for a new Item, or for update mode when `accessToken` is given (reconnect).
    public func createLinkToken(userID: String, accessToken: String? = nil) async throws -> LinkSession {
        var fields: [(String, JSONValue)] = [
            ("client_name", .string(configuration.clientName)), ("language", .string("en")),
            ("country_codes", .array(configuration.countryCodes.map(JSONValue.string))),
            ("user", .object([("client_user_id", .string(userID))])),
        ]
        if let accessToken {
            fields.append(("access_token", .string(accessToken)))
        } else {
            fields.append(("products", .array([.string("transactions")])))
            fields.append(("transactions", .object([("days_requested", .int(configuration.daysRequested))])))
        }
        if let webhook = configuration.webhookURL { fields.append(("webhook", .string(webhook))) }
        let json = try await call("/link/token/create", fields)
        let reader = FieldReader(provider: .plaid, context: "/link/token/create")
        let token = try reader.string(json, "link_token")
        let expires = json["expiration"]?.stringValue.flatMap { ISO8601DateFormatter().date(from: $0) }
        return LinkSession(token: token, url: nil, expiresAt: expires)
    }

    /// Sandbox only: a public token without the Link UI.
    public func sandboxPublicToken(institutionID: String) async throws -> String {
        var options: [(String, JSONValue)] = []
        if let webhook = configuration.webhookURL { options.append(("webhook", .string(webhook))) }
        let json = try await call(
            "/sandbox/public_token/create",
            [("institution_id", .string(institutionID)), ("initial_products", .array([.string("transactions")])), ("options", .object(options))])
        return try FieldReader(provider: .plaid, context: "/sandbox/public_token/create").string(json, "public_token")
    }

    /// Exchanges Link's public token for the Item's access token.
    public func exchange(publicToken: String) async throws -> ConnectionCredential {
        let json = try await call("/item/public_token/exchange", [("public_token", .string(publicToken))])
        let reader = FieldReader(provider: .plaid, context: "/item/public_token/exchange")
        return ConnectionCredential(secret: try reader.string(json, "access_token"), externalID: try reader.string(json, "item_id"))
    }

    // MARK: Data

    public func accounts(_ credential: ConnectionCredential) async throws -> [ProviderAccount] {
        let json = try await call("/accounts/get", [("access_token", .string(credential.secret))])
        return try (json["accounts"]?.arrayValue ?? []).map { try Self.account($0) }
    }

    /// Live balances (`/accounts/balance/get`, slow and billed) or cached ones (`/accounts/get`).
    public func balances(_ credential: ConnectionCredential, live: Bool = false) async throws -> [ProviderBalance] {
        let json = try await call(live ? "/accounts/balance/get" : "/accounts/get", [("access_token", .string(credential.secret))])
        return try (json["accounts"]?.arrayValue ?? []).map { try Self.balance($0) }
    }

    static func account(_ json: JSONValue) throws -> ProviderAccount {
        let reader = FieldReader(provider: .plaid, context: "account")
        let type: AccountType =
            switch json["type"]?.stringValue {
            case "depository": .depository
            case "credit": .credit
            case "loan": .loan
            case "investment", "brokerage": .investment
            default: .other
            }
        let code = json["balances"]?["iso_currency_code"]?.stringValue ?? json["balances"]?["unofficial_currency_code"]?.stringValue ?? "USD"
        let currency: Currency
        do { currency = try Currency(code: code) } catch { throw reader.fail("unknown currency \(code)") }
        return ProviderAccount(
            providerAccountID: try reader.string(json, "account_id"), name: try reader.string(json, "name"),
            officialName: reader.optionalString(json, "official_name"), mask: reader.optionalString(json, "mask"), type: type,
            subtype: reader.optionalString(json, "subtype"), currency: currency)
    }

    /// Plaid reports what is owed on credit and loan accounts as a positive `current`: flipped here.
    static func balance(_ json: JSONValue) throws -> ProviderBalance {
        let reader = FieldReader(provider: .plaid, context: "balances")
        let id = try reader.string(json, "account_id")
        let balances = json["balances"]
        let currency = balances?["iso_currency_code"]?.stringValue ?? balances?["unofficial_currency_code"]?.stringValue
        let owed = ["credit", "loan"].contains(json["type"]?.stringValue ?? "")
        func amount(_ field: String) throws -> Money? {
            guard let value = balances?[field], !value.isNull else { return nil }
            return try reader.money(value.decimalText, currency: currency, field: "balances.\(field)", negate: owed && field == "current")
        }
        let current = try amount("current")
        let available = try amount("available")
        guard let reported = current ?? available else { throw reader.fail("account \(id) has neither current nor available balance") }
        return ProviderBalance(providerAccountID: id, current: reported, available: available, limit: try amount("limit"))
    }

    static func transaction(_ json: JSONValue) throws -> ProviderTransaction {
        let reader = FieldReader(provider: .plaid, context: "transaction")
        let currency = json["iso_currency_code"]?.stringValue ?? json["unofficial_currency_code"]?.stringValue
        let category = json["personal_finance_category"].flatMap { pfc -> String? in
            guard let primary = pfc["primary"]?.stringValue else { return nil }
            return pfc["detailed"]?.stringValue.map { "\(primary)/\($0)" } ?? primary
        }
        return ProviderTransaction(
            providerTransactionID: try reader.string(json, "transaction_id"), providerAccountID: try reader.string(json, "account_id"),
            amount: try reader.money(json["amount"]?.decimalText, currency: currency, field: "amount", negate: true),  // Plaid: positive = out
            date: try reader.date(json, "date"), authorizedDate: try reader.optionalDate(json, "authorized_date"),
            isPending: json["pending"]?.boolValue ?? false, description: try reader.string(json, "name"),
            merchantName: reader.optionalString(json, "merchant_name"),
            counterparty: json["counterparties"]?.arrayValue?.first?["name"]?.stringValue, providerCategory: category,
            pendingTransactionID: reader.optionalString(json, "pending_transaction_id"))
    }

    /// Everything since `cursor` (nil: from the beginning): pages until `has_more` is false, and
    /// on TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION throws the pages away and starts again
    /// from `cursor` (up to `maxRestarts` times), as Plaid requires. Nothing is applied here.
    public func transactionChanges(_ credential: ConnectionCredential, since cursor: String?, pageSize: Int = 500, maxRestarts: Int = 3)
        async throws -> TransactionDelta
    {
        var restarts = 0
        var pages = 0
        restart: while true {
            var delta = TransactionDelta(added: [], modified: [], removed: [], nextCursor: cursor ?? "", pages: 0, restarts: restarts)
            var position = cursor ?? ""
            while true {
                let json: JSONValue
                do {
                    json = try await call(
                        "/transactions/sync", [("access_token", .string(credential.secret)), ("cursor", .string(position)), ("count", .int(pageSize))])
                } catch let error as ProviderError where error.code == "TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION" && restarts < maxRestarts {
                    restarts += 1
                    logger.info("plaid data changed during pagination; restarting from the first cursor", metadata: ["item_id": "\(credential.externalID)", "restart": "\(restarts)"])
                    continue restart
                }
                pages += 1
                for (list, isAdded) in [("added", true), ("modified", false)] {
                    for row in json[list]?.arrayValue ?? [] {
                        do {
                            let transaction = try Self.transaction(row)
                            if isAdded { delta.added.append(transaction) } else { delta.modified.append(transaction) }
                        } catch let error as ProviderError {
                            delta.rejected.append(RejectedRow(
                                providerTransactionID: row["transaction_id"]?.stringValue, providerAccountID: row["account_id"]?.stringValue,
                                reason: error.message))
                        }
                    }
                }
                for row in json["removed"]?.arrayValue ?? [] {
                    guard let id = row["transaction_id"]?.stringValue else { continue }
                    delta.removed.append((row["account_id"]?.stringValue ?? "", id))
                }
                let reader = FieldReader(provider: .plaid, context: "/transactions/sync")
                position = try reader.string(json, "next_cursor")
                guard json["has_more"]?.boolValue == true else {
                    delta.nextCursor = position
                    delta.pages = pages
                    delta.restarts = restarts
                    return delta
                }
            }
        }
    }

    public func health(_ credential: ConnectionCredential) async throws -> ProviderConnectionHealth {
        do {
            let json = try await call("/item/get", [("access_token", .string(credential.secret))])
            if let error = json["item"]?["error"], !error.isNull {
                let classified = Self.classify(error, status: 400, requestID: json["request_id"]?.stringValue, now: http.now())
                if classified.kind == .reauthRequired { return .reauthRequired(reason: classified.code ?? "ITEM_LOGIN_REQUIRED") }
                if classified.kind == .invalidToken { return .revoked }
            }
            return .healthy
        } catch let error as ProviderError where error.kind == .invalidToken {
            return .revoked
        }
    }

    public func remove(_ credential: ConnectionCredential) async throws {
        _ = try await call("/item/remove", [("access_token", .string(credential.secret))])
    }

    /// Asks Plaid to pull from the bank now; `SYNC_UPDATES_AVAILABLE` follows.
    public func refreshTransactions(_ credential: ConnectionCredential) async throws {
        _ = try await call("/transactions/refresh", [("access_token", .string(credential.secret))])
    }

    /// The JWK for a webhook's `kid`.
    public func webhookKey(id: String) async throws -> JSONValue {
        let json = try await call("/webhook_verification_key/get", [("key_id", .string(id))])
        guard let key = json["key"] else { throw FieldReader(provider: .plaid, context: "/webhook_verification_key/get").fail("missing key") }
        return key
    }
}
