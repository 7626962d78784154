import BankSyncCore
import Crypto
import Foundation

/// Plaid's state beyond the shared world: link and public tokens, the webhook signing key.
struct PlaidState: Sendable {
    var publicTokens: [String: String] = [:]  // public_token → item id (single use)
    /// The raw private key (P256.Signing.PrivateKey is not Sendable).
    var signingKey: [UInt8]?
    var keyID = ""
}

/// Plaid's API (2020-09-14): every call a `POST` with a JSON body, `client_id`/`secret` in
/// the body or the `PLAID-CLIENT-ID`/`PLAID-SECRET` headers, `request_id` on every answer,
/// errors in Plaid's envelope.
extension SandboxWorld {
    func plaid(_ request: SandboxRequest) -> SandboxResponse {
        let requestID = nextRequestID()
        func error(_ status: Int, _ type: String, _ code: String, _ message: String, display: String? = nil) -> SandboxResponse {
            .json(status, Self.plaidError(type: type, code: code, message: message, display: display, requestID: requestID))
        }
        guard request.method == "POST" else {
            return error(405, "INVALID_REQUEST", "INVALID_HTTP_METHOD", "Plaid endpoints take POST, not \(request.method)")
        }
        let body: JSONValue
        do {
            body = request.body.isEmpty ? .object([]) : try JSONValue.parse(request.body)
        } catch let parseError {
            return error(400, "INVALID_REQUEST", "INVALID_BODY", "body could not be parsed as JSON: \(parseError)")
        }
        guard case .object = body else { return error(400, "INVALID_REQUEST", "INVALID_BODY", "body must be a JSON object") }
        let clientID = body["client_id"]?.stringValue ?? request.header("plaid-client-id")
        let secret = body["secret"]?.stringValue ?? request.header("plaid-secret")
        let missingAuth = [("client_id", clientID), ("secret", secret)].filter { $0.1 == nil }.map(\.0)
        if !missingAuth.isEmpty {
            return error(400, "INVALID_REQUEST", "MISSING_FIELDS", "the following required fields are missing: \(missingAuth.joined(separator: ", "))")
        }
        guard clientID == configuration.plaidClientID, secret == configuration.plaidSecret else {
            return error(400, "INVALID_INPUT", "INVALID_API_KEYS", "invalid client_id or secret provided")
        }
        if let fault = fault(for: .plaid, endpoint: request.path) {
            if let response = plaidFault(fault, requestID: requestID, request: request) { return response }
        }
        func required(_ names: String...) -> SandboxResponse? {
            let missing = names.filter { body[$0] == nil || body[$0]!.isNull }
            return missing.isEmpty ? nil : error(400, "INVALID_REQUEST", "MISSING_FIELDS", "the following required fields are missing: \(missing.joined(separator: ", "))")
        }
        /// The Item behind `access_token`, or the error Plaid gives.
        func item(allowLoginRequired: Bool = false) -> Result<SandboxConnection, ErrorResponse> {
            if let missing = required("access_token") { return .failure(ErrorResponse(missing)) }
            guard let token = body["access_token"]?.stringValue, token.hasPrefix("access-") else {
                return .failure(ErrorResponse(error(400, "INVALID_INPUT", "INVALID_ACCESS_TOKEN", "provided access token is in an invalid format. expected format: access-<environment>-<identifier>")))
            }
            guard let id = connectionByToken[token], let connection = connections[id], connection.provider == .plaid, connection.state != .removed else {
                return .failure(ErrorResponse(error(400, "INVALID_INPUT", "INVALID_ACCESS_TOKEN", "could not find matching access token")))
            }
            if case .loginRequired = connection.state, !allowLoginRequired {
                return .failure(ErrorResponse(error(400, "ITEM_ERROR", "ITEM_LOGIN_REQUIRED", "the login details of this item have changed (credentials, MFA, or required user action) and a user login is required to update this information. use Link's update mode to restore the item to a good state", display: "The login details of this item have changed. Please log in again.")))
            }
            return .success(connection)
        }

        switch request.path {
        case "/link/token/create":
            if let missing = required("client_name", "language", "country_codes", "user") { return missing }
            guard body["user"]?["client_user_id"]?.stringValue != nil else {
                return error(400, "INVALID_REQUEST", "MISSING_FIELDS", "the following required fields are missing: user.client_user_id")
            }
            if let name = body["client_name"]?.stringValue, name.count > 30 {
                return error(400, "INVALID_REQUEST", "INVALID_FIELD", "client_name must be at most 30 characters")
            }
            var random = mint("link")
            let token = "link-sandbox-\(random.uuid())"
            return .json(200, .object([("expiration", .string(Format.timestamp(now + 4 * 3600))), ("link_token", .string(token)), ("request_id", .string(requestID))]))

        case "/sandbox/public_token/create":
            if let missing = required("institution_id", "initial_products") { return missing }
            guard let institutionID = body["institution_id"]?.stringValue, let institution = institution(institutionID, provider: .plaid) else {
                return error(400, "INVALID_INPUT", "INVALID_INSTITUTION", "invalid institution_id provided")
            }
            let webhook = body["options"]?["webhook"]?.stringValue
            let id = createConnection(provider: .plaid, institution: institution, webhook: webhook)
            var random = mint("public")
            let token = "public-sandbox-\(random.uuid())"
            plaid.publicTokens[token] = id
            return .json(200, .object([("public_token", .string(token)), ("request_id", .string(requestID))]))

        case "/item/public_token/exchange":
            if let missing = required("public_token") { return missing }
            guard let token = body["public_token"]?.stringValue, let id = plaid.publicTokens.removeValue(forKey: token), let connection = connections[id] else {
                return error(400, "INVALID_INPUT", "INVALID_PUBLIC_TOKEN", "provided public token is expired. Public tokens expire 30 minutes after creation at which point they can no longer be exchanged")
            }
            return .json(200, .object([("access_token", .string(connection.accessToken)), ("item_id", .string(id)), ("request_id", .string(requestID))]))

        case "/item/get":
            switch item(allowLoginRequired: true) {
            case .failure(let response): return response.response
            case .success(let connection):
                return .json(200, .object([
                    ("item", plaidItem(connection)),
                    ("request_id", .string(requestID)),
                    ("status", .object([
                        ("last_webhook", connection.lastWebhookCode.map { .object([("code_sent", .string($0)), ("sent_at", .optional(connection.lastWebhookAt))]) } ?? .null),
                        ("transactions", .object([("last_failed_update", .null), ("last_successful_update", .string(Format.timestamp(now)))])),
                    ])),
                ]))
            }

        case "/item/remove":
            switch item(allowLoginRequired: true) {
            case .failure(let response): return response.response
            case .success(let connection):
                connections[connection.id]?.state = .removed
                connectionByToken[connection.accessToken] = nil
                return .json(200, .object([("request_id", .string(requestID))]))
            }

        case "/accounts/get", "/accounts/balance/get":
            switch item() {
            case .failure(let response): return response.response
            case .success(let connection):
                var list = accounts(ofConnection: connection.id).filter { !$0.closed }
                if let wanted = body["options"]?["account_ids"]?.arrayValue?.compactMap(\.stringValue) {
                    list = list.filter { wanted.contains($0.id) }
                }
                return .json(200, .object([
                    ("accounts", .array(list.map(plaidAccount))), ("item", plaidItem(connection)), ("request_id", .string(requestID)),
                ]))
            }

        case "/transactions/sync":
            switch item() {
            case .failure(let response): return response.response
            case .success(let connection): return plaidSync(connection, body: body, requestID: requestID)
            }

        case "/transactions/refresh":
            switch item() {
            case .failure(let response): return response.response
            case .success(let connection):
                queuePlaidWebhook(connection: connection.id, type: "TRANSACTIONS", code: "SYNC_UPDATES_AVAILABLE")
                return .json(200, .object([("request_id", .string(requestID))]))
            }

        case "/institutions/get_by_id":
            if let missing = required("institution_id", "country_codes") { return missing }
            guard let id = body["institution_id"]?.stringValue, let institution = institution(id, provider: .plaid) else {
                return error(400, "INVALID_INPUT", "INVALID_INSTITUTION", "invalid institution_id provided")
            }
            return .json(200, .object([
                ("institution", .object([
                    ("country_codes", .array([.string(institution.country)])), ("dtc_numbers", .array([])),
                    ("institution_id", .string(institution.id)), ("name", .string(institution.name)), ("oauth", .bool(false)),
                    ("products", .array(["assets", "auth", "balance", "transactions", "identity"].map(JSONValue.string))),
                    ("routing_numbers", .array([])),
                ])),
                ("request_id", .string(requestID)),
            ]))

        case "/webhook_verification_key/get":
            if let missing = required("key_id") { return missing }
            let key = plaidSigningKey()
            guard body["key_id"]?.stringValue == plaid.keyID else {
                return error(400, "INVALID_INPUT", "INVALID_WEBHOOK_VERIFICATION_KEY_ID", "invalid key_id provided")
            }
            let raw = Array(key.publicKey.rawRepresentation)
            return .json(200, .object([
                ("key", .object([
                    ("alg", .string("ES256")), ("created_at", .int(Int(configuration.start.timeIntervalSince1970))), ("crv", .string("P-256")),
                    ("expired_at", .null), ("kid", .string(plaid.keyID)), ("kty", .string("EC")), ("use", .string("sig")),
                    ("x", .string(Base64URL.encode(raw[0..<32]))), ("y", .string(Base64URL.encode(raw[32..<64]))),
                ])),
                ("request_id", .string(requestID)),
            ]))

        case "/sandbox/item/fire_webhook":
            if let missing = required("webhook_code") { return missing }
            switch item(allowLoginRequired: true) {
            case .failure(let response): return response.response
            case .success(let connection):
                let code = body["webhook_code"]?.stringValue ?? ""
                let known: [String: String] = [
                    "SYNC_UPDATES_AVAILABLE": "TRANSACTIONS", "DEFAULT_UPDATE": "TRANSACTIONS", "ERROR": "ITEM", "PENDING_EXPIRATION": "ITEM",
                    "USER_PERMISSION_REVOKED": "ITEM", "LOGIN_REPAIRED": "ITEM", "NEW_ACCOUNTS_AVAILABLE": "ITEM",
                ]
                guard let type = known[code] else {
                    return error(400, "INVALID_REQUEST", "INVALID_FIELD", "webhook_code must be one of \(known.keys.sorted().joined(separator: ", "))")
                }
                guard connection.webhookURL != nil else {
                    return error(400, "INVALID_REQUEST", "INVALID_FIELD", "the item has no webhook URL; create it with options.webhook")
                }
                queuePlaidWebhook(connection: connection.id, type: body["webhook_type"]?.stringValue ?? type, code: code)
                return .json(200, .object([("request_id", .string(requestID)), ("webhook_fired", .bool(true))]))
            }

        case "/sandbox/item/reset_login":
            switch item(allowLoginRequired: true) {
            case .failure(let response): return response.response
            case .success(let connection):
                _ = setState(.loginRequired(reason: "ITEM_LOGIN_REQUIRED"), ofConnection: connection.id)
                return .json(200, .object([("request_id", .string(requestID)), ("reset_login", .bool(true))]))
            }

        default:
            return error(404, "INVALID_REQUEST", "NOT_FOUND", "unknown endpoint \(request.path)")
        }
    }

    /// Carries an error response through `Result`.
    struct ErrorResponse: Error {
        let response: SandboxResponse
        init(_ response: SandboxResponse) { self.response = response }
    }

    static func plaidError(type: String, code: String, message: String, display: String?, requestID: String?, status: Int? = nil) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("display_message", .optional(display)), ("documentation_url", .string("https://plaid.com/docs/errors/")),
            ("error_code", .string(code)), ("error_message", .string(message)), ("error_type", .string(type)),
        ]
        if let requestID { members.append(("request_id", .string(requestID))) }
        if let status { members.append(("status", .int(status))) }
        members.append(("suggested_action", .null))
        return .object(members)
    }

    private func plaidFault(_ fault: FaultRule, requestID: String, request: SandboxRequest) -> SandboxResponse? {
        func error(_ status: Int, _ type: String, _ code: String, _ message: String) -> SandboxResponse {
            .json(status, Self.plaidError(type: type, code: code, message: message, display: nil, requestID: requestID))
        }
        switch fault.kind {
        case .rateLimit:
            let code = request.path == "/transactions/sync" ? "TRANSACTIONS_SYNC_LIMIT" : request.path.hasPrefix("/accounts") ? "ACCOUNTS_LIMIT" : "RATE_LIMIT"
            return error(429, "RATE_LIMIT_EXCEEDED", code, "rate limit exceeded for attempts to access this item. please try again later")
        case .serverError: return error(500, "API_ERROR", "INTERNAL_SERVER_ERROR", "an unexpected error occurred")
        case .badGateway: return error(502, "API_ERROR", "INTERNAL_SERVER_ERROR", "an unexpected error occurred")
        case .unavailable: return error(503, "API_ERROR", "PLANNED_MAINTENANCE", "the Plaid API is temporarily unavailable due to planned maintenance")
        case .loginRequired:
            return .json(400, Self.plaidError(type: "ITEM_ERROR", code: "ITEM_LOGIN_REQUIRED", message: "the login details of this item have changed and a user login is required", display: "Please log in again.", requestID: requestID))
        case .tokenExpired: return error(400, "INVALID_INPUT", "INVALID_ACCESS_TOKEN", "could not find matching access token")
        case .mutationDuringPagination:
            return error(400, "TRANSACTIONS_ERROR", "TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION", "Underlying transaction data changed since last page was fetched. Please restart pagination from last update.")
        case .slow, .timeout, .malformedJSON, .truncatedJSON, .oddRows: return nil  // applied to the real answer by the server
        }
    }

    func plaidItem(_ connection: SandboxConnection) -> JSONValue {
        var error: JSONValue = .null
        if case .loginRequired = connection.state {
            error = Self.plaidError(type: "ITEM_ERROR", code: "ITEM_LOGIN_REQUIRED", message: "the login details of this item have changed and a user login is required", display: "Please log in again.", requestID: nil)
        }
        return .object([
            ("available_products", .array(["balance", "identity"].map(JSONValue.string))),
            ("billed_products", .array([.string("transactions")])), ("consent_expiration_time", .null),
            ("error", error), ("institution_id", .string(connection.institution.id)), ("item_id", .string(connection.id)),
            ("products", .array([.string("transactions")])), ("update_type", .string("background")), ("webhook", .string(connection.webhookURL ?? "")),
        ])
    }

    func plaidAccount(_ account: SandboxAccount) -> JSONValue {
        let (current, available) = balances(ofAccount: account.id)
        let (type, subtype): (String, String)
        var availableValue: JSONValue = .number(Format.decimal(available))
        var currentValue: JSONValue = .number(Format.decimal(current))
        var limit: JSONValue = .null
        switch account.kind {
        case .checking: (type, subtype) = ("depository", "checking")
        case .savings: (type, subtype) = ("depository", "savings")
        case .creditCard:
            (type, subtype) = ("credit", "credit card")
            currentValue = .number(Format.decimal(-current))  // Plaid: positive = owed
            limit = account.creditLimit.map { .number(Format.decimal($0)) } ?? .null
        case .loan:
            (type, subtype) = ("loan", "auto")
            currentValue = .number(Format.decimal(-current))
            availableValue = .null
        }
        return .object([
            ("account_id", .string(account.id)),
            ("balances", .object([
                ("available", availableValue), ("current", currentValue), ("iso_currency_code", .string(account.currency)), ("limit", limit),
                ("unofficial_currency_code", .null),
            ])),
            ("mask", .string(account.mask)), ("name", .string(account.name)), ("official_name", .string(account.officialName)),
            ("subtype", .string(subtype)), ("type", .string(type)),
        ])
    }

    func plaidTransaction(_ row: SandboxTransaction) -> JSONValue {
        let merchant = row.merchant
        let pfc: JSONValue
        if let merchant {
            pfc = .object([
                ("confidence_level", .string("VERY_HIGH")), ("detailed", .string(merchant.pfcDetailed)), ("primary", .string(merchant.pfcPrimary)),
            ])
        } else {
            let (primary, detailed): (String, String) =
                switch row.kind {
                case .salary: ("INCOME", "INCOME_WAGES")
                case .interest: ("INCOME", "INCOME_INTEREST_EARNED")
                case .transferIn: ("TRANSFER_IN", "TRANSFER_IN_ACCOUNT_TRANSFER")
                case .transferOut: ("TRANSFER_OUT", "TRANSFER_OUT_ACCOUNT_TRANSFER")
                case .cardPayment, .cardPaymentReceived: ("LOAN_PAYMENTS", "LOAN_PAYMENTS_CREDIT_CARD_PAYMENT")
                case .loanPayment, .loanPaymentReceived: ("LOAN_PAYMENTS", "LOAN_PAYMENTS_CAR_PAYMENT")
                case .bill: ("RENT_AND_UTILITIES", "RENT_AND_UTILITIES_RENT")
                case .fee: ("BANK_FEES", "BANK_FEES_OTHER_BANK_FEES")
                default: ("GENERAL_MERCHANDISE", "GENERAL_MERCHANDISE_OTHER_GENERAL_MERCHANDISE")
                }
            pfc = .object([("confidence_level", .string("HIGH")), ("detailed", .string(detailed)), ("primary", .string(primary))])
        }
        let counterparties: JSONValue =
            merchant.map {
                .array([.object([
                    ("confidence_level", .string("VERY_HIGH")), ("entity_id", .null), ("logo_url", .null), ("name", .string($0.name)),
                    ("type", .string("merchant")), ("website", .optional($0.website)),
                ])])
            } ?? .array([])
        let channel = row.kind == .purchase ? (merchant?.pfcDetailed.contains("ONLINE") == true ? "online" : "in store") : "other"
        return .object([
            ("account_id", .string(row.accountID)), ("account_owner", .null),
            ("amount", .number(Format.decimal(-row.amount))),  // Plaid: positive = money out
            ("authorized_date", .optional(row.authorizedDate?.description)), ("authorized_datetime", .null), ("category", .null),
            ("category_id", .null), ("check_number", .null), ("counterparties", counterparties), ("date", .string(row.date.description)),
            ("datetime", .null), ("iso_currency_code", .string(row.currency)),
            ("location", .object(["address", "city", "country", "lat", "lon", "postal_code", "region", "store_number"].map { ($0, .null) })),
            ("logo_url", .null), ("merchant_entity_id", .null), ("merchant_name", .optional(merchant?.name)), ("name", .string(row.description)),
            ("payment_channel", .string(channel)),
            ("payment_meta", .object(["by_order_of", "payee", "payer", "payment_method", "payment_processor", "ppd_id", "reason", "reference_number"].map { ($0, .null) })),
            ("pending", .bool(row.pending)), ("pending_transaction_id", .optional(row.pendingTransactionID)),
            ("personal_finance_category", pfc), ("transaction_code", .null), ("transaction_id", .string(row.id)),
            ("transaction_type", .string(row.kind == .purchase ? "place" : "special")), ("unofficial_currency_code", .null),
            ("website", .optional(merchant?.website)),
        ])
    }

    /// `/transactions/sync`. The cursor is `base64("v1:<from>:<to>:<offset>")`: the changes
    /// after sequence `from` up to `to` (fixed when paging starts), from position `offset`.
    /// When the data moves past `to` while pages are being read, the next page answers
    /// TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION, as Plaid does.
    private func plaidSync(_ connection: SandboxConnection, body: JSONValue, requestID: String) -> SandboxResponse {
        func error(_ code: String, _ message: String, type: String = "INVALID_REQUEST") -> SandboxResponse {
            .json(400, Self.plaidError(type: type, code: code, message: message, display: nil, requestID: requestID))
        }
        var count = 100
        if let value = body["count"], !value.isNull {
            guard let n = value.intValue, (1...500).contains(n) else { return error("INVALID_FIELD", "count must be an integer between 1 and 500") }
            count = n
        }
        var (from, to, offset) = (0, connection.seq, 0)
        if let text = body["cursor"]?.stringValue, !text.isEmpty {
            let parts = Base64URL.decode(text).map { String(decoding: $0, as: UTF8.self).split(separator: ":").map(String.init) } ?? []
            guard parts.count == 4, parts[0] == "v1", let f = Int(parts[1]), let t = Int(parts[2]), let o = Int(parts[3]), f <= t, t <= connection.seq || o == 0
            else { return error("INVALID_FIELD", "cursor is not a cursor this item gave out", type: "INVALID_INPUT") }
            (from, to, offset) = (f, t, o)
            if offset == 0 { to = connection.seq }
            if offset > 0 && connection.seq > to {
                return error("TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION", "Underlying transaction data changed since last page was fetched. Please restart pagination from last update.", type: "TRANSACTIONS_ERROR")
            }
        }
        let onlyAccount = body["options"]?["account_id"]?.stringValue
        enum Change { case added, modified, removed }
        var changes: [(seq: Int, change: Change, row: SandboxTransaction)] = []
        for account in accounts(ofConnection: connection.id) where onlyAccount == nil || account.id == onlyAccount {
            for key in rowsByAccount[account.id] ?? [] {
                let row = transactions[key]
                let removedBy = row.removedSeq.map { $0 <= to } ?? false
                if row.createdSeq > from && row.createdSeq <= to {
                    if !removedBy { changes.append((row.createdSeq, .added, row)) }
                } else if row.createdSeq <= from {
                    if let removed = row.removedSeq, removed > from, removed <= to {
                        changes.append((removed, .removed, row))
                    } else if !removedBy, row.modifiedSeq > from, row.modifiedSeq <= to {
                        changes.append((row.modifiedSeq, .modified, row))
                    }
                }
            }
        }
        changes.sort { $0.seq < $1.seq }
        let page = changes.dropFirst(offset).prefix(count)
        let hasMore = offset + page.count < changes.count
        let next = hasMore ? "v1:\(from):\(to):\(offset + page.count)" : "v1:\(to):\(to):0"
        var added: [JSONValue] = []
        var modified: [JSONValue] = []
        var removed: [JSONValue] = []
        var touched: [String] = []
        for item in page {
            if !touched.contains(item.row.accountID) { touched.append(item.row.accountID) }
            switch item.change {
            case .added: added.append(plaidTransaction(item.row))
            case .modified: modified.append(plaidTransaction(item.row))
            case .removed: removed.append(.object([("account_id", .string(item.row.accountID)), ("transaction_id", .string(item.row.id))]))
            }
        }
        return .json(200, .object([
            ("accounts", .array(touched.compactMap { accounts[$0] }.map(plaidAccount))), ("added", .array(added)),
            ("has_more", .bool(hasMore)), ("modified", .array(modified)), ("next_cursor", .string(Base64URL.encode(Array(next.utf8)))),
            ("removed", .array(removed)), ("request_id", .string(requestID)),
            ("transactions_update_status", .string("HISTORICAL_UPDATE_COMPLETE")),
        ]))
    }

    // MARK: Webhooks

    /// The ES256 key the sandbox signs Plaid webhooks with, derived from the seed.
    func plaidSigningKey() -> P256.Signing.PrivateKey {
        if let raw = plaid.signingKey, let key = try? P256.Signing.PrivateKey(rawRepresentation: raw) { return key }
        var random = SeededRandom(seed: configuration.seed, stream: "plaid/webhook-key")
        var key: P256.Signing.PrivateKey?
        while key == nil {
            let bytes = (0..<4).flatMap { _ in withUnsafeBytes(of: random.next().bigEndian, Array.init) }
            key = try? P256.Signing.PrivateKey(rawRepresentation: bytes)
        }
        plaid.signingKey = Array(key!.rawRepresentation)
        plaid.keyID = Format.sha256Hex(Array(key!.publicKey.rawRepresentation)).prefix(32).description
        return key!
    }

    /// Queues a Plaid webhook for `connection` if it has a webhook URL: a 2-space-indented
    /// JSON body and a `Plaid-Verification` ES256 JWT over its SHA-256.
    func queuePlaidWebhook(connection id: String, type: String, code: String) {
        guard let connection = connections[id], let url = connection.webhookURL, !url.isEmpty else { return }
        var members: [(String, JSONValue)] = [("environment", .string("sandbox"))]
        switch code {
        case "SYNC_UPDATES_AVAILABLE":
            members += [("historical_update_complete", .bool(true)), ("initial_update_complete", .bool(true))]
        case "ERROR":
            members.append(("error", Self.plaidError(type: "ITEM_ERROR", code: "ITEM_LOGIN_REQUIRED", message: "the login details of this item have changed and a user login is required", display: "Please log in again.", requestID: nil, status: 400)))
        case "USER_PERMISSION_REVOKED":
            members.append(("error", Self.plaidError(type: "ITEM_ERROR", code: "USER_PERMISSION_REVOKED", message: "the user has revoked access to this item", display: nil, requestID: nil, status: 400)))
        case "PENDING_EXPIRATION":
            members.append(("consent_expiration_time", .string(Format.timestamp(now + 7 * 86_400))))
        case "DEFAULT_UPDATE":
            members.append(("new_transactions", .int(0)))
        default: break
        }
        members += [("item_id", .string(id)), ("webhook_code", .string(code)), ("webhook_type", .string(type))]
        let body = JSONValue.object(members).prettySerialized()
        let key = plaidSigningKey()
        let header = JSONValue.object([("alg", .string("ES256")), ("kid", .string(plaid.keyID)), ("typ", .string("JWT"))]).serialized()
        let claims = JSONValue.object([("iat", .int(Int(now))), ("request_body_sha256", .string(Format.sha256Hex(body)))]).serialized()
        let signingInput = "\(Base64URL.encode(header)).\(Base64URL.encode(claims))"
        let signature = (try? key.signature(for: Array(signingInput.utf8)).rawRepresentation).map { Base64URL.encode($0) } ?? ""
        connections[id]?.lastWebhookCode = code
        connections[id]?.lastWebhookAt = Format.timestamp(now)
        outbox.append(OutgoingWebhook(
            provider: .plaid, url: url, headers: [("content-type", "application/json"), ("plaid-verification", "\(signingInput).\(signature)")],
            body: body))
    }
}
