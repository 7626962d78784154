import BankSyncCore
import Crypto
import Foundation

/// GoCardless Bank Account Data's state: agreements, requisitions, bank quotas.
struct GoCardlessState: Sendable {
    struct Agreement: Sendable {
        let id: String
        let created: Int64
        let institutionID: String
        let maxHistoricalDays: Int
        let accessValidForDays: Int
        let accessScope: [String]
        var accepted: Int64?
    }

    struct Requisition: Sendable {
        let id: String
        let created: Int64
        let redirect: String
        var status: String
        let institutionID: String
        let agreementID: String
        let reference: String
        var accounts: [String] = []
        let userLanguage: String
        var connectionID: String?
    }

    var agreements: [Agreement] = []
    var requisitions: [Requisition] = []
    /// Successful bank calls per "account/scope/day".
    var quotaUsed: [String: Int] = [:]
    /// Account ids a reconnect's requisition issued → the world's account (GoCardless gives
    /// every requisition its own account ids, even for the same bank accounts).
    var accountAliases: [String: String] = [:]
}

/// GoCardless Bank Account Data (v2): JWT bearer auth from `/api/v2/token/new/`, paths
/// ending in `/`, string amounts, `booked` + `pending` transactions, per-account per-scope daily
/// bank quotas in `http_x_ratelimit_account_success_*` headers, and the `{summary, detail,
/// status_code}` envelope.
extension SandboxWorld {
    func gocardless(_ request: SandboxRequest) -> SandboxResponse {
        func error(_ status: Int, _ summary: String, _ detail: String, type: String? = nil, headers: [(String, String)] = []) -> SandboxResponse {
            var members: [(String, JSONValue)] = [("summary", .string(summary)), ("detail", .string(detail))]
            if let type { members.append(("type", .string(type))) }
            members.append(("status_code", .int(status)))
            return .json(status, .object(members), headers: headers)
        }
        func fieldErrors(_ fields: [(String, String)]) -> SandboxResponse { Self.gocardlessFieldErrors(fields) }
        // Paths end in a slash; some clients (nordigen-python 1.4) leave it off, which the
        // real API tolerates, so the sandbox does too.
        guard request.path.hasPrefix("/api/v2/") else {
            return error(404, "Not found.", "Not found. Bank Account Data paths start with /api/v2/.")
        }
        let segments = Array(request.pathSegments.dropFirst(2))  // after api/v2
        var body: JSONValue = .object([])
        if request.method == "POST" || request.method == "PUT" {
            if request.header("content-type")?.contains("application/x-www-form-urlencoded") == true {
                body = .object(Self.formFields(request.body).map { ($0.0, .string($0.1)) })
            } else if !request.body.isEmpty {
                do { body = try JSONValue.parse(request.body) } catch {
                    return self.gocardlessParseError("\(error)")
                }
            }
        }

        // Tokens need no bearer.
        if segments == ["token", "new"] && request.method == "POST" {
            let missing = ["secret_id", "secret_key"].filter { body[$0]?.stringValue == nil }
            if !missing.isEmpty { return fieldErrors(missing.map { ($0, "This field is required.") }) }
            guard body["secret_id"]?.stringValue == configuration.gocardlessSecretID, body["secret_key"]?.stringValue == configuration.gocardlessSecretKey else {
                return error(401, "Authentication failed", "No active account found with the given credentials")
            }
            return .json(200, .object([
                ("access", .string(gocardlessJWT(type: "access", lifetime: 86_400))), ("access_expires", .int(86_400)),
                ("refresh", .string(gocardlessJWT(type: "refresh", lifetime: 2_592_000))), ("refresh_expires", .int(2_592_000)),
            ]))
        }
        if segments == ["token", "refresh"] && request.method == "POST" {
            guard let refresh = body["refresh"]?.stringValue else { return fieldErrors([("refresh", "This field is required.")]) }
            guard gocardlessTokenValid(refresh, type: "refresh") else { return error(401, "Invalid token", "Token is invalid or expired") }
            return .json(200, .object([("access", .string(gocardlessJWT(type: "access", lifetime: 86_400))), ("access_expires", .int(86_400))]))
        }
        guard let authorization = request.header("authorization"), authorization.hasPrefix("Bearer "),
            gocardlessTokenValid(String(authorization.dropFirst(7)), type: "access")
        else {
            return error(401, "Invalid token", "Token is invalid or expired")
        }
        if let fault = fault(for: .gocardless, endpoint: request.path), let response = gocardlessFault(fault) { return response }

        switch (request.method, segments.first ?? "", segments.count) {
        case ("GET", "institutions", 1):
            var list = institutions.filter { $0.provider == .gocardless }
            if let country = request.queryValue("country") {
                guard country.count == 2, country.allSatisfy(\.isLetter) else {
                    return fieldErrors([("country", "Invalid country choice: \(country) is not a valid choice.")])
                }
                list = list.filter { $0.country.lowercased() == country.lowercased() }
            }
            return .json(200, .array(list.map { gocardlessInstitution($0, full: false) }))
        case ("GET", "institutions", 2):
            guard let institution = institution(segments[1], provider: .gocardless) else { return error(404, "Not found.", "Not found.") }
            return .json(200, gocardlessInstitution(institution, full: true))

        case ("POST", "agreements", 2) where segments[1] == "enduser":
            switch createAgreement(body) {
            case .failure(let e): return e.response
            case .success(let agreement): return .json(201, gocardlessAgreement(agreement))
            }
        case ("GET", "agreements", 2) where segments[1] == "enduser":
            return paginated(gocardless.agreements.map(gocardlessAgreement), request: request)
        case ("GET", "agreements", 3) where segments[1] == "enduser":
            guard let agreement = gocardless.agreements.first(where: { $0.id == segments[2] }) else { return error(404, "Not found.", "Not found.") }
            return .json(200, gocardlessAgreement(agreement))
        case ("DELETE", "agreements", 3) where segments[1] == "enduser":
            guard let index = gocardless.agreements.firstIndex(where: { $0.id == segments[2] }) else { return error(404, "Not found.", "Not found.") }
            gocardless.agreements.remove(at: index)
            return .json(200, .object([("summary", .string("End User Agreement deleted")), ("detail", .string("End User Agreement \(segments[2]) deleted"))]))

        case ("POST", "requisitions", 1):
            return createRequisition(body, origin: request.origin)
        case ("GET", "requisitions", 1):
            return paginated(gocardless.requisitions.map { gocardlessRequisition($0, origin: request.origin) }, request: request)
        case ("GET", "requisitions", 2):
            guard let requisition = gocardless.requisitions.first(where: { $0.id == segments[1] }) else { return error(404, "Not found.", "Not found.") }
            return .json(200, gocardlessRequisition(refreshExpiry(requisition), origin: request.origin))
        case ("DELETE", "requisitions", 2):
            guard let index = gocardless.requisitions.firstIndex(where: { $0.id == segments[1] }) else { return error(404, "Not found.", "Not found.") }
            let requisition = gocardless.requisitions.remove(at: index)
            gocardless.agreements.removeAll { $0.id == requisition.agreementID }
            if let id = requisition.connectionID { connections[id]?.state = .removed }
            return .json(200, .object([("summary", .string("Requisition deleted")), ("detail", .string("Requisition \(requisition.id) deleted with all its End User Agreements"))]))

        case ("GET", "accounts", 2), ("GET", "accounts", 3):
            return gocardlessAccount(segments: segments, request: request)

        default:
            return error(404, "Not found.", "Not found.")
        }
    }

    /// Validation errors keyed by field, as the API sends them, plus the envelope's own
    /// `summary` and `detail` (which the published schema requires of every 400).
    static func gocardlessFieldErrors(_ fields: [(String, String)]) -> SandboxResponse {
        let summary = fields.count == 1 ? fields[0].1 : "Invalid fields: \(fields.map(\.0).joined(separator: ", "))"
        return .json(400, .object(
            [("summary", .string(summary)), ("detail", .string(fields.map { "\($0.0): \($0.1)" }.joined(separator: "; ")))]
                + fields.map { ($0.0, .object([("summary", .string($0.1)), ("detail", .string($0.1))])) } + [("status_code", .int(400))]))
    }

    private func gocardlessParseError(_ reason: String) -> SandboxResponse {
        .json(400, .object([("summary", .string("Parse error")), ("detail", .string("JSON parse error - \(reason)")), ("status_code", .int(400))]))
    }

    static func formFields(_ body: [UInt8]) -> [(String, String)] {
        String(decoding: body, as: UTF8.self).split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0) }
            return (parts[0], parts.count > 1 ? parts[1] : "")
        }
    }

    private func gocardlessFault(_ fault: FaultRule) -> SandboxResponse? {
        func error(_ status: Int, _ summary: String, _ detail: String, type: String? = nil) -> SandboxResponse {
            var members: [(String, JSONValue)] = [("summary", .string(summary)), ("detail", .string(detail))]
            if let type { members.append(("type", .string(type))) }
            members.append(("status_code", .int(status)))
            return .json(status, .object(members), headers: status == 429 ? [("http_x_ratelimit_limit", "100"), ("http_x_ratelimit_remaining", "0"), ("http_x_ratelimit_reset", "60")] : [])
        }
        switch fault.kind {
        case .rateLimit: return error(429, "Rate limit exceeded", "The rate limit for this resource is 100/minute. Please try again in 60 seconds")
        case .serverError: return error(500, "Couldn't update account transactions", "Request to Institution returned an error", type: "UnknownRequestError")
        case .badGateway: return error(502, "Bad gateway", "The institution could not be reached", type: "ConnectionError")
        case .unavailable: return error(503, "Service temporarily unavailable", "The institution is temporarily unavailable", type: "ServiceError")
        case .loginRequired: return error(401, "End User Agreement (EUA) has expired", "The end user must re-authenticate. Please create a new EUA and requisition.", type: "EUAExpiredError")
        case .tokenExpired: return error(401, "Invalid token", "Token is invalid or expired")
        case .mutationDuringPagination, .slow, .timeout, .malformedJSON, .truncatedJSON, .oddRows: return nil
        }
    }

    // MARK: Tokens

    private func gocardlessKey() -> SymmetricKey {
        var random = SeededRandom(seed: configuration.seed, stream: "gocardless/jwt-key")
        return SymmetricKey(data: (0..<4).flatMap { _ in withUnsafeBytes(of: random.next(), Array.init) })
    }

    /// An HS256 JWT whose `exp` follows the sandbox clock.
    func gocardlessJWT(type: String, lifetime: Int64) -> String {
        var random = mint("gocardless-jti")
        let header = Base64URL.encode(JSONValue.object([("alg", .string("HS256")), ("typ", .string("JWT"))]).serialized())
        let claims = Base64URL.encode(JSONValue.object([
            ("token_type", .string(type)), ("exp", .int(Int(now + lifetime))), ("iat", .int(Int(now))),
            ("jti", .string(random.string(32, alphabet: "0123456789abcdef"))), ("id", .int(1)), ("secret_id", .string(configuration.gocardlessSecretID)),
        ]).serialized())
        let mac = HMAC<SHA256>.authenticationCode(for: Array("\(header).\(claims)".utf8), using: gocardlessKey())
        return "\(header).\(claims).\(Base64URL.encode(Array(mac)))"
    }

    func gocardlessTokenValid(_ token: String, type: String) -> Bool {
        let parts = token.split(separator: ".").map(String.init)
        guard parts.count == 3, let signature = Base64URL.decode(parts[2]),
            HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: Array("\(parts[0]).\(parts[1])".utf8), using: gocardlessKey()),
            let payload = Base64URL.decode(parts[1]), let claims = try? JSONValue.parse(payload),
            claims["token_type"]?.stringValue == type, let exp = claims["exp"]?.intValue
        else { return false }
        return Int64(exp) > now
    }

    // MARK: Objects

    private func gocardlessInstitution(_ institution: SandboxInstitution, full: Bool) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("id", .string(institution.id)), ("name", .string(institution.name)), ("bic", .optional(institution.bic)),
            ("transaction_total_days", .string("730")), ("countries", .array([.string(institution.country)])),
            ("logo", .string("https://cdn.instantor.com/logos/\(institution.id.lowercased()).png")),
            ("max_access_valid_for_days", .string("180")),
        ]
        if full {
            members += [
                ("supported_payments", .object([])),
                ("supported_features", .array(["account_selection", "business_accounts", "card_accounts", "pending_transactions"].map(JSONValue.string))),
                ("identification_codes", .array([])),
            ]
        }
        return .object(members)
    }

    private func gocardlessAgreement(_ agreement: GoCardlessState.Agreement) -> JSONValue {
        .object([
            ("id", .string(agreement.id)), ("created", .string(Format.timestamp(agreement.created))),
            ("institution_id", .string(agreement.institutionID)), ("max_historical_days", .int(agreement.maxHistoricalDays)),
            ("access_valid_for_days", .int(agreement.accessValidForDays)), ("access_scope", .array(agreement.accessScope.map(JSONValue.string))),
            ("accepted", agreement.accepted.map { .string(Format.timestamp($0)) } ?? .null), ("reconfirmation", .bool(false)),
        ])
    }

    private func gocardlessRequisition(_ requisition: GoCardlessState.Requisition, origin: String) -> JSONValue {
        .object([
            ("id", .string(requisition.id)), ("created", .string(Format.timestamp(requisition.created))), ("redirect", .string(requisition.redirect)),
            ("status", .string(requisition.status)), ("institution_id", .string(requisition.institutionID)), ("agreement", .string(requisition.agreementID)),
            ("reference", .string(requisition.reference)), ("accounts", .array(requisition.accounts.map(JSONValue.string))),
            ("user_language", .string(requisition.userLanguage)), ("link", .string("\(origin)/sandbox/gocardless/consent/\(requisition.id)")),
            ("account_selection", .bool(false)), ("redirect_immediate", .bool(false)),
        ])
    }

    private func paginated(_ results: [JSONValue], request: SandboxRequest) -> SandboxResponse {
        let limit = request.queryValue("limit").flatMap(Int.init) ?? 100
        let offset = request.queryValue("offset").flatMap(Int.init) ?? 0
        let page = Array(results.dropFirst(max(0, offset)).prefix(max(1, limit)))
        let path = request.path
        let next: JSONValue = offset + page.count < results.count ? .string("\(request.origin)/gocardless\(path)?limit=\(limit)&offset=\(offset + page.count)") : .null
        let previous: JSONValue = offset > 0 ? .string("\(request.origin)/gocardless\(path)?limit=\(limit)&offset=\(max(0, offset - limit))") : .null
        return .json(200, .object([("count", .int(results.count)), ("next", next), ("previous", previous), ("results", .array(page))]))
    }

    private func createAgreement(_ body: JSONValue) -> Result<GoCardlessState.Agreement, ErrorResponse> {
        func fail(_ field: String, _ message: String) -> Result<GoCardlessState.Agreement, ErrorResponse> {
            .failure(ErrorResponse(Self.gocardlessFieldErrors([(field, message)])))
        }
        guard let institutionID = body["institution_id"]?.stringValue else { return fail("institution_id", "This field is required.") }
        guard institution(institutionID, provider: .gocardless) != nil else {
            return fail("institution_id", "Unknown Institution ID \(institutionID)")
        }
        let history = body["max_historical_days"].flatMap { $0.intValue ?? $0.stringValue.flatMap(Int.init) } ?? 90
        guard (1...730).contains(history) else { return fail("max_historical_days", "max_historical_days must be between 1 and 730") }
        let valid = body["access_valid_for_days"].flatMap { $0.intValue ?? $0.stringValue.flatMap(Int.init) } ?? 90
        guard (1...180).contains(valid) else { return fail("access_valid_for_days", "access_valid_for_days must be between 1 and 180 for this institution") }
        let scope = body["access_scope"]?.arrayValue?.compactMap(\.stringValue) ?? ["balances", "details", "transactions"]
        guard !scope.isEmpty, scope.allSatisfy({ ["balances", "details", "transactions"].contains($0) }) else {
            return fail("access_scope", "Choose one or more of balances, details, transactions")
        }
        var random = mint("gocardless-agreement")
        let agreement = GoCardlessState.Agreement(
            id: random.uuid(), created: now, institutionID: institutionID, maxHistoricalDays: history, accessValidForDays: valid, accessScope: scope)
        gocardless.agreements.append(agreement)
        return .success(agreement)
    }

    private func createRequisition(_ body: JSONValue, origin: String) -> SandboxResponse {
        func fail(_ field: String, _ message: String) -> SandboxResponse { Self.gocardlessFieldErrors([(field, message)]) }
        guard let redirect = body["redirect"]?.stringValue, !redirect.isEmpty else { return fail("redirect", "This field is required.") }
        guard redirect.count <= 1024, redirect.hasPrefix("http://") || redirect.hasPrefix("https://") else { return fail("redirect", "Enter a valid URL.") }
        guard let institutionID = body["institution_id"]?.stringValue else { return fail("institution_id", "This field is required.") }
        guard institution(institutionID, provider: .gocardless) != nil else { return fail("institution_id", "Unknown Institution ID \(institutionID)") }
        var random = mint("gocardless-requisition")
        let reference = body["reference"]?.stringValue ?? random.uuid()
        guard !gocardless.requisitions.contains(where: { $0.reference == reference }) else {
            return fail("reference", "Client reference must be unique")
        }
        let agreementID: String
        if let given = body["agreement"]?.stringValue {
            guard let agreement = gocardless.agreements.first(where: { $0.id == given }) else { return fail("agreement", "Unknown End User Agreement \(given)") }
            guard agreement.institutionID == institutionID else {
                return fail("agreement", "Provided institution_id is different from the one in the End User Agreement")
            }
            agreementID = given
        } else {
            switch createAgreement(.object([("institution_id", .string(institutionID))])) {
            case .failure(let e): return e.response
            case .success(let agreement): agreementID = agreement.id
            }
        }
        let requisition = GoCardlessState.Requisition(
            id: random.uuid(), created: now, redirect: redirect, status: "CR", institutionID: institutionID, agreementID: agreementID,
            reference: reference, userLanguage: body["user_language"]?.stringValue ?? "EN")
        gocardless.requisitions.append(requisition)
        return .json(201, gocardlessRequisition(requisition, origin: origin))
    }

    /// The end user finishing the bank's consent screens: the requisition links, its accounts
    /// appear (with history), the agreement is accepted.
    /// - Parameter previous: a reconnect: the user logs in as the bank customer of this earlier
    ///   requisition. The same bank accounts appear under new account ids (as GoCardless issues
    ///   them per requisition) with the same transactions, and a login-required bank is healthy again.
    /// - Returns: where the browser goes next (`redirect?ref=<reference>`), or nil if unknown.
    public func completeGoCardlessConsent(requisition id: String, sameCustomerAs previous: String? = nil) -> String? {
        guard let index = gocardless.requisitions.firstIndex(where: { $0.id == id }) else { return nil }
        var requisition = gocardless.requisitions[index]
        if requisition.status == "CR" {
            if let previous, let earlier = gocardless.requisitions.first(where: { $0.id == previous }), let connectionID = earlier.connectionID {
                var random = mint("gocardless-account-alias")
                requisition.connectionID = connectionID
                requisition.accounts = accounts(ofConnection: connectionID).map { account in
                    let alias = random.uuid()
                    gocardless.accountAliases[alias] = account.id
                    return alias
                }
                if case .loginRequired = connections[connectionID]?.state { connections[connectionID]?.state = .active }
            } else {
                let institution = institution(requisition.institutionID, provider: .gocardless)!
                let connectionID = createConnection(provider: .gocardless, institution: institution)
                requisition.connectionID = connectionID
                requisition.accounts = accounts(ofConnection: connectionID).map(\.id)
            }
            requisition.status = "LN"
            if let a = gocardless.agreements.firstIndex(where: { $0.id == requisition.agreementID }) { gocardless.agreements[a].accepted = now }
            gocardless.requisitions[index] = requisition
        }
        let separator = requisition.redirect.contains("?") ? "&" : "?"
        return "\(requisition.redirect)\(separator)ref=\(requisition.reference.addingPercentEncoding(withAllowedCharacters: .urlQueryValueAllowed) ?? requisition.reference)"
    }

    /// Marks a linked requisition expired once its agreement has run out.
    @discardableResult
    private func refreshExpiry(_ requisition: GoCardlessState.Requisition) -> GoCardlessState.Requisition {
        guard requisition.status == "LN", let agreement = gocardless.agreements.first(where: { $0.id == requisition.agreementID }),
            let accepted = agreement.accepted, accepted + Int64(agreement.accessValidForDays) * 86_400 <= now,
            let index = gocardless.requisitions.firstIndex(where: { $0.id == requisition.id })
        else { return requisition }
        gocardless.requisitions[index].status = "EX"
        return gocardless.requisitions[index]
    }

    private func gocardlessAccount(segments: [String], request: SandboxRequest) -> SandboxResponse {
        func error(_ status: Int, _ summary: String, _ detail: String, type: String? = nil, headers: [(String, String)] = []) -> SandboxResponse {
            var members: [(String, JSONValue)] = [("summary", .string(summary)), ("detail", .string(detail))]
            if let type { members.append(("type", .string(type))) }
            members.append(("status_code", .int(status)))
            return .json(status, .object(members), headers: headers)
        }
        let accountID = segments[1]
        guard let account = accounts[gocardless.accountAliases[accountID] ?? accountID], account.provider == .gocardless,
            let requisition = gocardless.requisitions.first(where: { $0.accounts.contains(accountID) })
        else {
            return error(404, "Account ID \(accountID) not found", "Please check whether you specified a valid Account ID")
        }
        let current = refreshExpiry(requisition)
        let agreement = gocardless.agreements.first { $0.id == current.agreementID }
        let expired = current.status == "EX" || agreement == nil
        let connection = connections[account.connectionID]!
        if segments.count == 2 {
            return .json(200, .object([
                ("id", .string(accountID)), ("created", .string(Format.timestamp(requisition.created))),
                ("last_accessed", .string(Format.timestamp(now))), ("iban", .optional(account.iban)),
                ("status", .string(expired ? "EXPIRED" : "READY")), ("institution_id", .string(requisition.institutionID)),
                ("owner_name", .string("Sandbox User \(connection.userID.suffix(4))")), ("name", .string(account.name)),
            ]))
        }
        let scope = segments[2]
        guard ["details", "balances", "transactions"].contains(scope) else { return error(404, "Not found.", "Not found.") }
        if expired, let agreement {
            let end = (agreement.accepted ?? now) + Int64(agreement.accessValidForDays) * 86_400
            return error(
                401, "End User Agreement (EUA) \(agreement.id) has expired",
                "EUA was valid for \(agreement.accessValidForDays) days and it expired at \(Format.timestamp(end)). The end user must re-authenticate. Please create a new EUA and requisition.",
                type: "EUAExpiredError")
        }
        guard let agreement else { return error(403, "No valid End User Agreement", "No valid End User Agreement for this account") }
        if case .loginRequired = connection.state {
            return error(401, "Access has expired or it has been revoked", "Access has expired or it has been revoked. To restore access reconnect the account.", type: "AccessExpiredError")
        }
        guard agreement.accessScope.contains(scope) else {
            return error(403, "End User Agreement (EUA) access scope error", "EUA doesn't allow access to \(scope). Please create a new EUA with the \(scope) scope.", type: "AccessScopeError")
        }
        // The bank's quota: only successful calls count; it renews at the sandbox's midnight.
        let quotaKey = "\(account.id)/\(scope)/\(today.number)"
        let used = gocardless.quotaUsed[quotaKey] ?? 0
        let limit = configuration.gocardlessDailyLimit
        let resetIn = Int64(today.number + 1) * 86_400 - now
        func quotaHeaders(remaining: Int) -> [(String, String)] {
            [
                ("http_x_ratelimit_limit", "100"), ("http_x_ratelimit_remaining", "99"), ("http_x_ratelimit_reset", "60"),
                ("http_x_ratelimit_account_success_limit", "\(limit)"), ("http_x_ratelimit_account_success_remaining", "\(remaining)"),
                ("http_x_ratelimit_account_success_reset", "\(resetIn)"),
            ]
        }
        guard used < limit else {
            return error(
                429, "Couldn't update account \(scope)", "Daily request limit set by the Institution has been exceeded.", type: "RateLimitError",
                headers: quotaHeaders(remaining: 0))
        }
        let response: SandboxResponse
        switch scope {
        case "details":
            let cashType = switch account.kind {
            case .checking: "CACC"
            case .savings: "SVGS"
            case .creditCard: "CARD"
            case .loan: "LOAN"
            }
            response = .json(200, .object([("account", .object([
                ("resourceId", .string(String(account.id.prefix(8)))), ("iban", .optional(account.iban)), ("currency", .string(account.currency)),
                ("ownerName", .string("Sandbox User \(connection.userID.suffix(4))")), ("name", .string(account.name)),
                ("product", .string(account.officialName)), ("cashAccountType", .string(cashType)), ("status", .string("enabled")),
                ("bic", .optional(connection.institution.bic)),
            ]))]))
        case "balances":
            let (booked, available) = balances(ofAccount: account.id)
            response = .json(200, .object([("balances", .array([
                .object([
                    ("balanceAmount", .object([("amount", .string(Format.decimal(available))), ("currency", .string(account.currency))])),
                    ("balanceType", .string("interimAvailable")), ("creditLimitIncluded", .bool(account.kind == .creditCard)),
                    ("referenceDate", .string(today.description)),
                ]),
                .object([
                    ("balanceAmount", .object([("amount", .string(Format.decimal(booked))), ("currency", .string(account.currency))])),
                    ("balanceType", .string("interimBooked")), ("creditLimitIncluded", .bool(false)), ("referenceDate", .string(today.description)),
                ]),
            ]))]))
        default:
            var from = today.adding(days: -agreement.maxHistoricalDays)
            var to = today
            if let text = request.queryValue("date_from") {
                guard let day = SandboxDay(parsing: text) else { return error(400, "Invalid date_from", "date_from must be YYYY-MM-DD, not \(text)") }
                from = max(from, day)
            }
            if let text = request.queryValue("date_to") {
                guard let day = SandboxDay(parsing: text) else { return error(400, "Invalid date_to", "date_to must be YYYY-MM-DD, not \(text)") }
                to = day
            }
            if let f = request.queryValue("date_from").flatMap(SandboxDay.init(parsing:)), f > to {
                return error(400, "Incorrect date range", "Starting date '\(f)' is greater than end date '\(to)'. When specifying date range, starting date must precede the end date.")
            }
            let rows = currentTransactions(ofAccount: account.id).filter { $0.date >= from && $0.date <= to }
                .sorted { ($0.date, $0.key) > ($1.date, $1.key) }
            response = .json(200, .object([
                ("transactions", .object([
                    ("booked", .array(rows.filter { !$0.pending }.map { gocardlessTransaction($0, booked: true) })),
                    ("pending", .array(rows.filter(\.pending).map { gocardlessTransaction($0, booked: false) })),
                ])),
                ("last_updated", .string(Format.timestamp(now))),
            ]))
        }
        gocardless.quotaUsed[quotaKey] = used + 1
        var withHeaders = response
        withHeaders.headers += quotaHeaders(remaining: limit - used - 1)
        return withHeaders
    }

    private func gocardlessTransaction(_ row: SandboxTransaction, booked: Bool) -> JSONValue {
        var members: [(String, JSONValue)] = []
        if booked {
            members += [
                ("transactionId", .optional(row.bankTransactionID)), ("internalTransactionId", .string(row.id)),
                ("bookingDate", .string(row.date.description)),
            ]
        }
        members.append(("valueDate", .string((row.authorizedDate ?? row.date).description)))
        members.append(("transactionAmount", .object([("amount", .string(Format.decimal(row.amount))), ("currency", .string(row.currency))])))
        let name = row.merchant?.name ?? row.counterparty
        if let name { members.append((row.amount < 0 ? "creditorName" : "debtorName", .string(name))) }
        members.append(("remittanceInformationUnstructured", .string(row.description)))
        if booked {
            let (code, proprietary) =
                switch row.kind {
                case .purchase: ("PMNT-CCRD-POSD", "POS")
                case .refund: ("PMNT-CCRD-RIMB", "REFUND")
                case .salary: ("PMNT-RCDT-ESCT", "SALARY")
                case .bill: ("PMNT-IDDT-ESDD", "DIRECT_DEBIT")
                case .transferIn, .transferOut: ("PMNT-ICDT-STDO", "STANDING_ORDER")
                case .interest: ("PMNT-MCOP-INTR", "INTEREST")
                case .fee: ("ACMT-MDOP-CHRG", "FEE")
                default: ("PMNT-ICDT-ESCT", "TRANSFER")
                }
            members += [("bankTransactionCode", .string(code)), ("proprietaryBankTransactionCode", .string(proprietary))]
        }
        return .object(members)
    }
}

extension CharacterSet {
    /// Unreserved characters (RFC 3986): what a query value may carry unescaped.
    static let urlQueryValueAllowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
}
