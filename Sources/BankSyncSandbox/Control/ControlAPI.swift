import BankSyncCore
import Foundation

/// The sandbox's own API under `/sandbox/…`, apart from the provider paths: create
/// connections, move the clock, set faults, change a connection's state, and read the ground
/// truth of any account.
extension SandboxWorld {
    /// Answers a control-API request (`path` below `/sandbox`).
    public func control(_ request: SandboxRequest) -> SandboxResponse {
        func error(_ status: Int, _ message: String) -> SandboxResponse { .json(status, .object([("error", .string(message))])) }
        var body: JSONValue = .object([])
        if !request.body.isEmpty && request.pathSegments != ["inbox"] {
            do { body = try JSONValue.parse(request.body) } catch { return self.controlError(400, "request body is not JSON: \(error)") }
        }
        let segments = request.pathSegments
        switch (request.method, segments) {
        case ("GET", []):
            return .json(200, .object([
                ("now", .string(Format.timestamp(now))), ("today", .string(today.description)), ("seed", .string(String(configuration.seed))),
                ("providers", .object([
                    ("plaid", .object([("base_url", .string("\(request.origin)/plaid")), ("client_id", .string(configuration.plaidClientID)), ("secret", .string(configuration.plaidSecret))])),
                    ("teller", .object([("base_url", .string("\(request.origin)/teller"))])),
                    ("gocardless", .object([("base_url", .string("\(request.origin)/gocardless/api/v2")), ("secret_id", .string(configuration.gocardlessSecretID)), ("secret_key", .string(configuration.gocardlessSecretKey))])),
                ])),
                ("institutions", .array(institutions.map { .object([("id", .string($0.id)), ("name", .string($0.name)), ("provider", .string($0.provider.rawValue)), ("country", .string($0.country)), ("currency", .string($0.currency))]) })),
                ("connections", .int(connectionOrder.count)),
            ]))

        case ("GET", ["clock"]):
            return .json(200, .object([("now", .string(Format.timestamp(now))), ("today", .string(today.description))]))
        case ("POST", ["clock", "advance"]):
            let days = body["days"]?.intValue ?? 0
            let seconds = body["seconds"]?.intValue ?? 0
            guard days >= 0, seconds >= 0, days + seconds > 0, days <= 3_650 else {
                return error(400, "give \"days\" (0…3650) and/or \"seconds\" (≥ 0) to move the clock forward; it never goes back")
            }
            let counts = advance(seconds: Int64(days) * 86_400 + Int64(seconds))
            return .json(200, .object([
                ("now", .string(Format.timestamp(now))), ("today", .string(today.description)),
                ("added", .int(counts.added)), ("modified", .int(counts.modified)), ("removed", .int(counts.removed)),
            ]))

        case ("GET", ["connections"]):
            return .json(200, .object([("connections", .array(allConnections().map(controlConnection)))]))
        case ("POST", ["connections"]):
            guard let name = body["provider"]?.stringValue, let provider = SandboxProvider(rawValue: name) else {
                return error(400, "\"provider\" must be one of plaid, teller, gocardless")
            }
            let wanted = body["institution_id"]?.stringValue ?? institutions.first { $0.provider == provider }!.id
            guard let institution = institution(wanted, provider: provider) else {
                return error(400, "no \(provider.rawValue) institution \(wanted); GET /sandbox/ lists them")
            }
            let id: String
            if provider == .gocardless {
                // The whole consent dance: agreement, requisition, the user saying yes.
                let created = gocardless(SandboxRequest(
                    method: "POST", path: "/api/v2/requisitions/", headers: [("authorization", "Bearer \(gocardlessJWT(type: "access", lifetime: 60))")],
                    body: JSONValue.object([("redirect", .string("https://example.invalid/done")), ("institution_id", .string(institution.id))]).serialized(),
                    origin: request.origin))
                guard created.status == 201, let requisitionID = (try? JSONValue.parse(created.body))?["id"]?.stringValue,
                    completeGoCardlessConsent(requisition: requisitionID) != nil,
                    let connectionID = gocardless.requisitions.first(where: { $0.id == requisitionID })?.connectionID
                else { return error(500, "creating the requisition failed: \(created.text)") }
                id = connectionID
            } else {
                id = createConnection(provider: provider, institution: institution, webhook: body["webhook"]?.stringValue)
            }
            return .json(201, controlConnection(connections[id]!))
        case ("GET", let path) where path.count == 2 && path[0] == "connections":
            guard let connection = connections[path[1]] else { return error(404, "no connection \(path[1])") }
            return .json(200, controlConnection(connection))
        case ("POST", let path) where path.count == 3 && path[0] == "connections" && path[2] == "state":
            let state: SandboxConnectionState
            switch body["state"]?.stringValue {
            case "active": state = .active
            case "login_required":
                state = .loginRequired(reason: body["reason"]?.stringValue ?? "credentials_invalid")
            default: return error(400, "\"state\" must be \"active\" or \"login_required\" (with an optional \"reason\", e.g. mfa_required)")
            }
            guard setState(state, ofConnection: path[1]) else { return error(404, "no live connection \(path[1])") }
            return .json(200, controlConnection(connections[path[1]]!))
        case ("POST", let path) where path.count == 3 && path[0] == "connections" && path[2] == "expire":
            // GoCardless: make the agreement run out now.
            guard let requisition = gocardless.requisitions.first(where: { $0.connectionID == path[1] }),
                let index = gocardless.agreements.firstIndex(where: { $0.id == requisition.agreementID })
            else { return error(404, "no GoCardless connection \(path[1])") }
            gocardless.agreements[index].accepted = now - Int64(gocardless.agreements[index].accessValidForDays) * 86_400
            return .json(200, controlConnection(connections[path[1]]!))

        case ("GET", let path) where path.count == 2 && path[0] == "accounts":
            guard let account = accounts[path[1]] else { return error(404, "no account \(path[1])") }
            return .json(200, truth(account))
        case ("POST", let path) where path.count == 3 && path[0] == "accounts" && path[2] == "transactions":
            // {"amount": -750000, "counterparty": "…", "pending": false}: one row today, in minor units.
            guard let amount = body["amount"]?.intValue, amount != 0 else {
                return error(400, "give \"amount\": a non-zero integer in minor units (negative = money leaves the account)")
            }
            let pending = body["pending"]?.boolValue ?? false
            guard let id = injectTransaction(accountID: path[1], amount: Int64(amount), counterparty: body["counterparty"]?.stringValue, pending: pending) else {
                return error(404, "no live account \(path[1])")
            }
            return .json(201, .object([("id", .string(id)), ("account_id", .string(canonicalAccountID(path[1]))), ("amount", .int(amount)), ("pending", .bool(pending))]))

        case ("POST", ["inbox"]):
            receive(request)
            return .json(200, .object([("received", .bool(true))]))
        case ("GET", ["inbox"]):
            return .json(200, .object([("messages", .array(inbox.map { message in
                .object([
                    ("received_at", .string(Format.timestamp(message.receivedAt))),
                    ("headers", .object(message.headers.map { ($0.0, .string($0.1)) })),
                    ("body", .string(String(decoding: message.body, as: UTF8.self))),
                ])
            }))]))
        case ("DELETE", ["inbox"]):
            clearInbox()
            return .json(200, .object([("messages", .int(0))]))
        case ("GET", ["faults"]):
            return .json(200, faultsJSON())
        case ("PUT", ["faults"]), ("POST", ["faults"]):
            do {
                struct Body: Decodable { let rules: [FaultRule] }
                let rules = try JSONDecoder().decode(Body.self, from: Data(request.body)).rules
                for (index, rule) in rules.enumerated() {
                    if let problem = rule.problem { return error(400, "rules[\(index)]: \(problem)") }
                }
                setFaults(rules)
                return .json(200, faultsJSON())
            } catch {
                return self.controlError(400, "expected {\"rules\": [{\"provider\", \"endpoint\", \"kind\", \"calls\" or \"rate\", …}]}: \(error)")
            }
        case ("DELETE", ["faults"]):
            setFaults([])
            return .json(200, faultsJSON())

        case ("PUT", ["teller", "webhook"]):
            setTellerWebhookURL(body["url"]?.stringValue)
            return .json(200, .object([("url", .optional(tellerWebhookURL))]))

        case ("GET", let path) where path.count == 3 && path[0] == "gocardless" && path[1] == "consent":
            // `?same_customer_as=<requisition>`: a reconnect by the customer of an earlier requisition.
            guard let location = completeGoCardlessConsent(requisition: path[2], sameCustomerAs: request.queryValue("same_customer_as")) else {
                return error(404, "no requisition \(path[2])")
            }
            return SandboxResponse(status: 302, headers: [("location", location)], body: [])

        default:
            return error(404, "no sandbox endpoint \(request.method) /sandbox/\(segments.joined(separator: "/")); GET /sandbox/ describes the sandbox")
        }
    }

    private func controlError(_ status: Int, _ message: String) -> SandboxResponse { .json(status, .object([("error", .string(message))])) }

    private func faultsJSON() -> JSONValue {
        let data = (try? JSONEncoder.sorted.encode(["rules": faults.rules])) ?? Data("{}".utf8)
        return (try? JSONValue.parse(Array(data))) ?? .object([])
    }

    private func controlConnection(_ connection: SandboxConnection) -> JSONValue {
        let state: String
        switch connection.state {
        case .active: state = "active"
        case .loginRequired(let reason): state = "login_required:\(reason)"
        case .removed: state = "removed"
        }
        var members: [(String, JSONValue)] = [
            ("id", .string(connection.id)), ("provider", .string(connection.provider.rawValue)), ("institution_id", .string(connection.institution.id)),
            ("user_id", .string(connection.userID)), ("state", .string(state)),
            ("accounts", .array(accounts(ofConnection: connection.id).map { .string($0.id) })),
        ]
        if !connection.accessToken.isEmpty { members.append(("access_token", .string(connection.accessToken))) }
        if let requisition = gocardless.requisitions.first(where: { $0.connectionID == connection.id }) {
            members.append(("requisition_id", .string(requisition.id)))
        }
        return .object(members)
    }

    /// The ground truth of an account in BankSync's conventions: minor units, negative = money
    /// leaves, current balance = opening + posted rows, available also counts pending rows.
    func truth(_ account: SandboxAccount) -> JSONValue {
        let (current, available) = balances(ofAccount: account.id)
        return .object([
            ("account_id", .string(account.id)), ("connection_id", .string(account.connectionID)), ("provider", .string(account.provider.rawValue)),
            ("kind", .string(account.kind.rawValue)), ("currency", .string(account.currency)), ("closed", .bool(account.closed)),
            ("current_minor_units", .number(String(current))), ("available_minor_units", .number(String(available))),
            ("transactions", .array(currentTransactions(ofAccount: account.id).map { row in
                .object([
                    ("id", .string(row.id)), ("date", .string(row.date.description)), ("amount_minor_units", .number(String(row.amount))),
                    ("pending", .bool(row.pending)), ("description", .string(row.description)), ("merchant", .optional(row.merchant?.name)),
                    ("kind", .string(row.kind.rawValue)), ("pending_transaction_id", .optional(row.pendingTransactionID)),
                ])
            })),
        ])
    }
}

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return encoder
    }
}
