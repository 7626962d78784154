import BankSyncAPI
import BankSyncCategorizer
import BankSyncCore
import BankSyncEngine
import BankSyncJobs
import BankSyncProviders
import BankSyncStore
import Foundation
import Logging
import OpenAPIRuntime

/// The REST API's operations (the protocol is generated from `openapi.yaml`). Every operation
/// that names a resource first loads it and checks it belongs to the caller's tenant: another
/// tenant's id answers 404, exactly as an id that does not exist.
struct APIHandler: APIProtocol {
    let store: Store
    let engine: SyncEngine
    let logger: Logger

    var now: Date { engine.queue.now() }

    // MARK: Scoping

    func tenant() throws -> Identifier<Tenant> {
        guard let tenant = APICaller.current.tenant else { throw APIProblem.unauthorized }
        return tenant
    }

    func user(_ id: String) async throws -> User {
        guard let user = try await store.users.get(Identifier(id)), user.tenantID == (try tenant()) else { throw APIProblem.notFound("user \(id)") }
        return user
    }

    func connection(_ id: String) async throws -> Connection {
        guard let connection = try await store.connections.get(Identifier(id)) else { throw APIProblem.notFound("connection \(id)") }
        guard (try? await user(connection.userID.rawValue)) != nil else { throw APIProblem.notFound("connection \(id)") }
        return connection
    }

    func account(_ id: String) async throws -> Account {
        guard let account = try await store.accounts.get(Identifier(id)) else { throw APIProblem.notFound("account \(id)") }
        guard (try? await user(account.userID.rawValue)) != nil else { throw APIProblem.notFound("account \(id)") }
        return account
    }

    func transaction(_ id: String) async throws -> Transaction {
        guard let row = try await store.transactions.get(Identifier(id)) else { throw APIProblem.notFound("transaction \(id)") }
        guard (try? await user(row.userID.rawValue)) != nil else { throw APIProblem.notFound("transaction \(id)") }
        return row
    }

    static func date(_ text: String?, field: String) throws -> CalendarDate? {
        guard let text else { return nil }
        do { return try CalendarDate(parsing: text) } catch { throw APIProblem.invalid(field, "'\(text.prefix(40))' is not a date (YYYY-MM-DD)") }
    }

    static func limit(_ value: Int?) throws -> Int {
        let limit = value ?? 100
        guard (1...500).contains(limit) else { throw APIProblem.invalid("limit", "\(limit) is not from 1 to 500") }
        return limit
    }

    // MARK: Users

    func createUser(_ input: Operations.CreateUser.Input) async throws -> Operations.CreateUser.Output {
        guard case .json(let body) = input.body else { throw APIProblem.badRequest("expected a JSON body") }
        let externalID = body.externalId.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !externalID.isEmpty, externalID.count <= 200 else { throw APIProblem.invalid("external_id", "must be 1 to 200 characters") }
        if let email = body.email, email.count > 320 || !email.contains("@") { throw APIProblem.invalid("email", "'\(email.prefix(60))' is not an email address") }
        let tenant = try tenant()
        if let existing = try await store.users.find(tenantID: tenant, externalID: externalID) { return .ok(.init(body: .json(Self.user(existing)))) }
        let user = User(tenantID: tenant, externalID: externalID, email: body.email, createdAt: now)
        do {
            try await store.users.insert(user)
        } catch let error as StoreError where error.kind == .conflict {
            // Created by a concurrent request: answer with that one.
            if let existing = try await store.users.find(tenantID: tenant, externalID: externalID) { return .ok(.init(body: .json(Self.user(existing)))) }
            throw error
        }
        return .created(.init(body: .json(Self.user(user))))
    }

    func listUsers(_ input: Operations.ListUsers.Input) async throws -> Operations.ListUsers.Output {
        let limit = try Self.limit(input.query.limit)
        let users = try await store.users.list(tenantID: try tenant(), after: input.query.cursor.map { Identifier($0) }, limit: limit)
        return .ok(.init(body: .json(.init(data: users.map(Self.user), nextCursor: users.count == limit ? users.last?.id.rawValue : nil))))
    }

    func getUser(_ input: Operations.GetUser.Input) async throws -> Operations.GetUser.Output {
        .ok(.init(body: .json(Self.user(try await user(input.path.userId)))))
    }

    // MARK: Links and connections

    func createLinkToken(_ input: Operations.CreateLinkToken.Input) async throws -> Operations.CreateLinkToken.Output {
        guard case .json(let body) = input.body else { throw APIProblem.badRequest("expected a JSON body") }
        let user = try await user(input.path.userId)
        let provider = Self.provider(body.provider)
        if let id = body.connectionId {
            let existing = try await connection(id)
            guard existing.userID == user.id, existing.provider == provider else {
                throw APIProblem.invalid("connection_id", "connection \(id) is not a \(provider.rawValue) connection of this user")
            }
        }
        if provider == .gocardless && body.institutionId == nil && body.connectionId == nil {
            throw APIProblem.invalid("institution_id", "GoCardless needs the bank's institution id")
        }
        let job = try await engine.queue.enqueue(
            SyncJobs.createLinkToken,
            LinkTokenJob(
                userID: user.id, provider: provider, connectionID: body.connectionId.map { Identifier($0) }, institutionID: body.institutionId,
                redirectURL: body.redirectUrl))
        return .accepted(.init(body: .json(Self.handle(job))))
    }

    func createConnection(_ input: Operations.CreateConnection.Input) async throws -> Operations.CreateConnection.Output {
        guard case .json(let body) = input.body else { throw APIProblem.badRequest("expected a JSON body") }
        let user = try await user(input.path.userId)
        let provider = Self.provider(body.provider)
        let completion: LinkCompletion
        switch provider {
        case .plaid:
            guard let token = body.publicToken, !token.isEmpty else { throw APIProblem.invalid("public_token", "Plaid needs the public token Link returned") }
            completion = .publicToken(token)
        case .teller:
            guard let token = body.accessToken, !token.isEmpty else { throw APIProblem.invalid("access_token", "Teller needs the enrollment's access token") }
            guard let enrollment = body.enrollmentId, !enrollment.isEmpty else { throw APIProblem.invalid("enrollment_id", "Teller needs the enrollment id") }
            completion = .enrollment(accessToken: token, enrollmentID: enrollment)
        case .gocardless:
            guard let requisition = body.requisitionId, !requisition.isEmpty else { throw APIProblem.invalid("requisition_id", "GoCardless needs the requisition id") }
            completion = .requisition(id: requisition)
        }
        if let name = body.institutionName, name.count > 200 { throw APIProblem.invalid("institution_name", "longer than 200 characters") }
        if let id = body.institutionId, id.count > 100 { throw APIProblem.invalid("institution_id", "longer than 100 characters") }
        var replacing: Identifier<Connection>?
        if let id = body.replacing { replacing = try await connection(id).id }
        let (connection, job) = try await engine.link(
            userID: user.id, provider: provider, completion: completion, institutionID: body.institutionId, institutionName: body.institutionName,
            replacing: replacing)
        return .created(.init(body: .json(.init(connection: Self.connection(connection), job: Self.handle(job)))))
    }

    func listConnections(_ input: Operations.ListConnections.Input) async throws -> Operations.ListConnections.Output {
        let user = try await user(input.query.userId)
        return .ok(.init(body: .json(.init(data: try await store.connections.list(userID: user.id).map(Self.connection)))))
    }

    func getConnection(_ input: Operations.GetConnection.Input) async throws -> Operations.GetConnection.Output {
        .ok(.init(body: .json(Self.connection(try await connection(input.path.connectionId)))))
    }

    func deleteConnection(_ input: Operations.DeleteConnection.Input) async throws -> Operations.DeleteConnection.Output {
        let connection = try await connection(input.path.connectionId)
        try await engine.disconnect(connection.id)
        return .noContent(.init())
    }

    func syncConnection(_ input: Operations.SyncConnection.Input) async throws -> Operations.SyncConnection.Output {
        let connection = try await connection(input.path.connectionId)
        return .accepted(.init(body: .json(Self.handle(try await engine.requestSync(connection.id)))))
    }

    // MARK: Accounts

    func listAccounts(_ input: Operations.ListAccounts.Input) async throws -> Operations.ListAccounts.Output {
        var accounts: [Account] = []
        if let id = input.query.connectionId {
            let connection = try await connection(id)
            if let userID = input.query.userId, userID != connection.userID.rawValue { throw APIProblem.invalid("connection_id", "connection \(id) is not this user's") }
            accounts = try await store.accounts.list(connectionID: connection.id)
        } else if let userID = input.query.userId {
            let user = try await user(userID)
            for connection in try await store.connections.list(userID: user.id) { accounts += try await store.accounts.list(connectionID: connection.id) }
        } else {
            throw APIProblem.invalid("user_id", "give user_id or connection_id")
        }
        var data: [Components.Schemas.Account] = []
        for account in accounts { data.append(Self.account(account, balance: try await store.accounts.balance(accountID: account.id))) }
        return .ok(.init(body: .json(.init(data: data))))
    }

    func getAccount(_ input: Operations.GetAccount.Input) async throws -> Operations.GetAccount.Output {
        let account = try await account(input.path.accountId)
        return .ok(.init(body: .json(Self.account(account, balance: try await store.accounts.balance(accountID: account.id)))))
    }

    func getBalanceHistory(_ input: Operations.GetBalanceHistory.Input) async throws -> Operations.GetBalanceHistory.Output {
        let account = try await account(input.path.accountId)
        let to = try Self.date(input.query.to, field: "to") ?? CalendarDate(now)
        let from = try Self.date(input.query.from, field: "from") ?? to.adding(days: -90)
        guard from <= to else { throw APIProblem.invalid("from", "\(from) is after \(to)") }
        guard to.daysSince(from) <= 3_660 else { throw APIProblem.invalid("from", "the range is longer than ten years") }
        let history = try await store.accounts.balanceHistory(accountID: account.id, from: from, to: to)
        return .ok(.init(body: .json(.init(data: history.map {
            .init(date: $0.date.description, current: $0.current.decimalString, available: $0.available?.decimalString, currency: $0.current.currency.code)
        }))))
    }

    // MARK: Transactions

    func listTransactions(_ input: Operations.ListTransactions.Input) async throws -> Operations.ListTransactions.Output {
        let page = try await transactionPage(input.query)
        return .ok(.init(body: .json(.init(data: page.rows.map(Self.transaction), nextCursor: page.nextCursor))))
    }

    /// The rows and next cursor of a transactions page: ``listTransactions(_:)``'s work, shared
    /// with the direct route that writes them without the generated types (``TransactionPageJSON``).
    ///
    /// The check that the user is the caller tenant's and the page query are both reads, so
    /// they run side by side (on two reading connections in embedded mode, two pooled ones on
    /// PostgreSQL) and the rows are returned only once the check has passed; the request waits
    /// for one round of statements instead of two. A user the caller may not see is a 404
    /// before any complaint about the other parameters, as when the check ran first.
    func transactionPage(_ query: Operations.ListTransactions.Input.Query) async throws -> (rows: [Transaction], nextCursor: String?) {
        async let owner = user(query.userId)
        let limit: Int
        var filter: TransactionRepository.PageFilter
        let after: (date: CalendarDate, id: String)?
        do {
            limit = try Self.limit(query.limit)
            filter = TransactionRepository.PageFilter(
                from: try Self.date(query.from, field: "from"), to: try Self.date(query.to, field: "to"), category: query.category, pending: query.pending)
            after = try query.cursor.map(Self.decodeCursor)
        } catch {
            _ = try await owner
            throw error
        }
        if let id = query.accountId {
            let user = try await owner
            let account = try await account(id)
            guard account.userID == user.id else { throw APIProblem.invalid("account_id", "account \(id) is not this user's") }
            filter.accountID = account.id
        }
        let rows = try await store.transactions.page(userID: Identifier(query.userId), filter: filter, after: after, limit: limit)
        _ = try await owner
        return (rows, rows.count == limit ? rows.last.map(Self.encodeCursor) : nil)
    }

    func getTransaction(_ input: Operations.GetTransaction.Input) async throws -> Operations.GetTransaction.Output {
        .ok(.init(body: .json(Self.transaction(try await transaction(input.path.transactionId)))))
    }

    func updateTransaction(_ input: Operations.UpdateTransaction.Input) async throws -> Operations.UpdateTransaction.Output {
        guard case .json(let body) = input.body else { throw APIProblem.badRequest("expected a JSON body") }
        let row = try await transaction(input.path.transactionId)
        do {
            try await engine.setCategory(row.id, userID: row.userID, category: body.category)
        } catch let error as StoreError where error.kind == .invalidData {
            throw APIProblem.invalid("category", error.message)
        }
        return .ok(.init(body: .json(Self.transaction(try await transaction(row.id.rawValue)))))
    }

    /// Cursors are opaque to clients: base64url of `date|id`.
    static func encodeCursor(_ row: Transaction) -> String { Base64URL.encode(Array("\(row.date)|\(row.id.rawValue)".utf8)) }

    static func decodeCursor(_ text: String) throws -> (date: CalendarDate, id: String) {
        guard let bytes = Base64URL.decode(text), let parts = String(bytes: bytes, encoding: .utf8)?.split(separator: "|", maxSplits: 1), parts.count == 2,
            let date = try? CalendarDate(parsing: String(parts[0]))
        else { throw APIProblem.invalid("cursor", "not a cursor this API returned") }
        return (date, String(parts[1]))
    }

    // MARK: Rules

    func listRules(_ input: Operations.ListRules.Input) async throws -> Operations.ListRules.Output {
        var userID: Identifier<User>?
        if let id = input.query.userId { userID = try await user(id).id }
        return .ok(.init(body: .json(.init(data: try await store.categorization.allRules(tenantID: try tenant(), userID: userID).map(Self.rule)))))
    }

    func createRule(_ input: Operations.CreateRule.Input) async throws -> Operations.CreateRule.Output {
        guard case .json(let body) = input.body else { throw APIProblem.badRequest("expected a JSON body") }
        let rule = try await makeRule(body, id: .generate(), createdAt: now)
        try await saveRule(rule)
        return .created(.init(body: .json(Self.rule(rule))))
    }

    func getRule(_ input: Operations.GetRule.Input) async throws -> Operations.GetRule.Output {
        guard let rule = try await store.categorization.rule(Identifier(input.path.ruleId), tenantID: try tenant()) else { throw APIProblem.notFound("rule \(input.path.ruleId)") }
        return .ok(.init(body: .json(Self.rule(rule))))
    }

    func replaceRule(_ input: Operations.ReplaceRule.Input) async throws -> Operations.ReplaceRule.Output {
        guard case .json(let body) = input.body else { throw APIProblem.badRequest("expected a JSON body") }
        guard let existing = try await store.categorization.rule(Identifier(input.path.ruleId), tenantID: try tenant()) else {
            throw APIProblem.notFound("rule \(input.path.ruleId)")
        }
        let rule = try await makeRule(body, id: existing.id, createdAt: existing.createdAt)
        try await saveRule(rule)
        return .ok(.init(body: .json(Self.rule(rule))))
    }

    func deleteRule(_ input: Operations.DeleteRule.Input) async throws -> Operations.DeleteRule.Output {
        let tenant = try tenant()
        guard try await store.categorization.rule(Identifier(input.path.ruleId), tenantID: tenant) != nil else { throw APIProblem.notFound("rule \(input.path.ruleId)") }
        _ = try await engine.deleteRule(Identifier(input.path.ruleId), tenantID: tenant)
        return .noContent(.init())
    }

    func saveRule(_ rule: CategoryRule) async throws {
        do { _ = try await engine.saveRule(rule) } catch let error as StoreError where error.kind == .invalidData {
            throw APIProblem.invalid(error.message.contains("regular expression") ? "conditions" : "category", error.message)
        }
    }

    func makeRule(_ body: Components.Schemas.RuleInput, id: Identifier<CategoryRule>, createdAt: Date) async throws -> CategoryRule {
        var userID: Identifier<User>?
        if let id = body.userId { userID = try await user(id).id }
        let name = body.name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty, name.count <= 200 else { throw APIProblem.invalid("name", "must be 1 to 200 characters") }
        if let priority = body.priority, !(0...100_000).contains(priority) { throw APIProblem.invalid("priority", "\(priority) is not from 0 to 100000") }
        guard (engine.configuration.categorizer?.taxonomy ?? .standard).contains(body.category) else {
            throw APIProblem.invalid("category", "\(body.category.prefix(100)) is not a category: use a primary or detailed code, e.g. FOOD_AND_DRINK_COFFEE")
        }
        guard !body.conditions.isEmpty, body.conditions.count <= 20 else { throw APIProblem.invalid("conditions", "give 1 to 20 conditions") }
        var conditions: [RuleCondition] = []
        for (index, condition) in body.conditions.enumerated() {
            let field = "conditions[\(index)]"
            switch condition.kind {
            case .text:
                guard let name = condition.field, let match = condition.match, let value = condition.value, !value.isEmpty else {
                    throw APIProblem.invalid(field, "a text condition needs field, match and a non-empty value")
                }
                guard value.count <= 500 else { throw APIProblem.invalid("\(field).value", "longer than 500 characters") }
                conditions.append(.text(field: RuleCondition.TextField(rawValue: name.rawValue)!, match: RuleCondition.TextMatch(rawValue: match.rawValue)!, value: value))
            case .amount:
                guard condition.min != nil || condition.max != nil else { throw APIProblem.invalid(field, "an amount condition needs min, max or both") }
                // Amounts are decimal text with up to two decimals, kept as hundredths of the row's currency
                // unit (RuleCondition.amount compares them with rows of any exponent: ¥, $, BHD).
                func minor(_ text: String?, _ name: String) throws -> Int64? {
                    guard let text else { return nil }
                    do { return try Money(parsing: text, currency: try Currency(code: "USD")).minorUnits } catch {
                        throw APIProblem.invalid("\(field).\(name)", "'\(text.prefix(30))' is not a decimal amount")
                    }
                }
                let low = try minor(condition.min, "min")
                let high = try minor(condition.max, "max")
                if let low, let high, low > high { throw APIProblem.invalid(field, "min is above max") }
                conditions.append(.amount(minMinor: low, maxMinor: high))
            case .direction:
                guard let direction = condition.direction else { throw APIProblem.invalid(field, "a direction condition needs direction") }
                conditions.append(.direction(RuleCondition.Direction(rawValue: direction.rawValue)!))
            case .account:
                guard let id = condition.accountId else { throw APIProblem.invalid(field, "an account condition needs account_id") }
                conditions.append(.account(try await account(id).id))
            }
        }
        return CategoryRule(
            id: id, tenantID: try tenant(), userID: userID, name: name, priority: body.priority ?? 100, conditions: conditions, category: body.category,
            enabled: body.enabled ?? true, createdAt: createdAt, updatedAt: now)
    }

    // MARK: Notifications

    func listNotifications(_ input: Operations.ListNotifications.Input) async throws -> Operations.ListNotifications.Output {
        let user = try await user(input.path.userId)
        let limit = try Self.limit(input.query.limit)
        let events = try await store.events.list(
            userID: user.id, type: input.query._type, unreadOnly: input.query.unread ?? false, before: input.query.cursor.map { Identifier($0) }, limit: limit)
        let unread = try await store.events.unreadCount(userID: user.id)
        return .ok(.init(body: .json(.init(
            data: try events.map(Self.notification), unread: unread, nextCursor: events.count == limit ? events.last?.id.rawValue : nil))))
    }

    func markNotificationsRead(_ input: Operations.MarkNotificationsRead.Input) async throws -> Operations.MarkNotificationsRead.Output {
        guard case .json(let body) = input.body else { throw APIProblem.badRequest("expected a JSON body") }
        let user = try await user(input.path.userId)
        if let ids = body.ids, ids.count > 1_000 { throw APIProblem.invalid("ids", "at most 1000 ids at a time") }
        let marked = try await store.events.markRead(userID: user.id, ids: body.ids.map { $0.map { Identifier($0) } }, at: now)
        return .ok(.init(body: .json(.init(marked: marked, unread: try await store.events.unreadCount(userID: user.id)))))
    }

    func getUserPreferences(_ input: Operations.GetUserPreferences.Input) async throws -> Operations.GetUserPreferences.Output {
        let user = try await user(input.path.userId)
        return .ok(.init(body: .json(try Self.convert(try await store.webhooks.preferences(userID: user.id) ?? NotificationPreferences()))))
    }

    func putUserPreferences(_ input: Operations.PutUserPreferences.Input) async throws -> Operations.PutUserPreferences.Output {
        guard case .json(let body) = input.body else { throw APIProblem.badRequest("expected a JSON body") }
        let user = try await user(input.path.userId)
        let preferences: NotificationPreferences = try Self.convert(body)
        try await store.webhooks.setPreferences(preferences, userID: user.id, tenantID: user.tenantID, now: now)
        return .ok(.init(body: .json(body)))
    }

    func getTenantPreferences(_ input: Operations.GetTenantPreferences.Input) async throws -> Operations.GetTenantPreferences.Output {
        .ok(.init(body: .json(try Self.convert(try await store.webhooks.preferences(tenantID: try tenant()) ?? NotificationPreferences()))))
    }

    func putTenantPreferences(_ input: Operations.PutTenantPreferences.Input) async throws -> Operations.PutTenantPreferences.Output {
        guard case .json(let body) = input.body else { throw APIProblem.badRequest("expected a JSON body") }
        let preferences: NotificationPreferences = try Self.convert(body)
        try await store.webhooks.setPreferences(preferences, tenantID: try tenant(), now: now)
        return .ok(.init(body: .json(body)))
    }

    // MARK: Webhook endpoints

    func endpoint(_ id: String) async throws -> WebhookEndpoint {
        guard let endpoint = try await store.webhooks.get(Identifier(id)), endpoint.tenantID == (try tenant()) else { throw APIProblem.notFound("webhook endpoint \(id)") }
        return endpoint
    }

    func delivery(_ id: String) async throws -> WebhookDelivery {
        guard let delivery = try await store.webhooks.delivery(Identifier(id)), delivery.tenantID == (try tenant()) else { throw APIProblem.notFound("webhook delivery \(id)") }
        return delivery
    }

    func listWebhookEndpoints(_ input: Operations.ListWebhookEndpoints.Input) async throws -> Operations.ListWebhookEndpoints.Output {
        .ok(.init(body: .json(.init(data: try await store.webhooks.endpoints(tenantID: try tenant()).map(Self.endpoint)))))
    }

    func createWebhookEndpoint(_ input: Operations.CreateWebhookEndpoint.Input) async throws -> Operations.CreateWebhookEndpoint.Output {
        guard case .json(let body) = input.body else { throw APIProblem.badRequest("expected a JSON body") }
        guard body.eventTypes.count <= 50 else { throw APIProblem.invalid("event_types", "at most 50 entries") }
        let (endpoint, secret) = try await engine.createWebhookEndpoint(tenantID: try tenant(), url: body.url, eventTypes: body.eventTypes, description: body.description)
        return .created(.init(body: .json(.init(endpoint: Self.endpoint(endpoint), secret: secret))))
    }

    func getWebhookEndpoint(_ input: Operations.GetWebhookEndpoint.Input) async throws -> Operations.GetWebhookEndpoint.Output {
        .ok(.init(body: .json(Self.endpoint(try await endpoint(input.path.endpointId)))))
    }

    func updateWebhookEndpoint(_ input: Operations.UpdateWebhookEndpoint.Input) async throws -> Operations.UpdateWebhookEndpoint.Output {
        guard case .json(let body) = input.body else { throw APIProblem.badRequest("expected a JSON body") }
        let tenant = try tenant()
        var endpoint = try await endpoint(input.path.endpointId)
        if body.url != nil || body.eventTypes != nil || body.description != nil {
            endpoint = try await engine.updateWebhookEndpoint(endpoint.id, tenantID: tenant, url: body.url, eventTypes: body.eventTypes, description: body.description)
        }
        if let enabled = body.enabled { endpoint = try await engine.setWebhookEndpointEnabled(endpoint.id, tenantID: tenant, enabled: enabled) }
        return .ok(.init(body: .json(Self.endpoint(endpoint))))
    }

    func deleteWebhookEndpoint(_ input: Operations.DeleteWebhookEndpoint.Input) async throws -> Operations.DeleteWebhookEndpoint.Output {
        guard try await engine.deleteWebhookEndpoint(Identifier(input.path.endpointId), tenantID: try tenant()) else {
            throw APIProblem.notFound("webhook endpoint \(input.path.endpointId)")
        }
        return .noContent(.init())
    }

    func rotateWebhookSecret(_ input: Operations.RotateWebhookSecret.Input) async throws -> Operations.RotateWebhookSecret.Output {
        let endpoint = try await endpoint(input.path.endpointId)
        let secret = try await engine.rotateWebhookSecret(endpoint.id, tenantID: try tenant())
        return .ok(.init(body: .json(.init(endpoint: Self.endpoint(try await self.endpoint(endpoint.id.rawValue)), secret: secret))))
    }

    func listWebhookDeliveries(_ input: Operations.ListWebhookDeliveries.Input) async throws -> Operations.ListWebhookDeliveries.Output {
        let endpoint = try await endpoint(input.path.endpointId)
        let deliveries = try await store.webhooks.deliveries(
            endpointID: endpoint.id, state: input.query.state.flatMap { WebhookDeliveryState(rawValue: $0.rawValue) }, limit: try Self.limit(input.query.limit))
        return .ok(.init(body: .json(.init(data: deliveries.map { Self.delivery($0, attempts: nil) }))))
    }

    func replayWebhookEvents(_ input: Operations.ReplayWebhookEvents.Input) async throws -> Operations.ReplayWebhookEvents.Output {
        guard case .json(let body) = input.body else { throw APIProblem.badRequest("expected a JSON body") }
        let endpoint = try await endpoint(input.path.endpointId)
        let deliveries = try await engine.replayWebhookEvents(endpointID: endpoint.id, tenantID: try tenant(), from: body.from, to: body.to)
        return .accepted(.init(body: .json(.init(data: deliveries.map { Self.delivery($0, attempts: nil) }))))
    }

    func getWebhookDelivery(_ input: Operations.GetWebhookDelivery.Input) async throws -> Operations.GetWebhookDelivery.Output {
        let delivery = try await delivery(input.path.deliveryId)
        return .ok(.init(body: .json(Self.delivery(delivery, attempts: try await store.webhooks.attempts(deliveryID: delivery.id)))))
    }

    func replayWebhookDelivery(_ input: Operations.ReplayWebhookDelivery.Input) async throws -> Operations.ReplayWebhookDelivery.Output {
        let delivery = try await delivery(input.path.deliveryId)
        return .accepted(.init(body: .json(Self.delivery(try await engine.replayWebhookDelivery(delivery.id, tenantID: try tenant()), attempts: nil))))
    }

    // MARK: Jobs

    func getJob(_ input: Operations.GetJob.Input) async throws -> Operations.GetJob.Output {
        guard let token = APICaller.current.bearer, !token.isEmpty else {
            throw APIProblem(status: 401, title: "Unauthorized", detail: "give the job's publicAccessToken as 'Authorization: Bearer …'")
        }
        // A wrong token and an unknown id answer alike, so ids cannot be probed.
        guard let status = try await engine.queue.status(id: input.path.jobId, token: token) else { throw APIProblem.notFound("job \(input.path.jobId)") }
        return .ok(.init(body: .json(try Self.job(status))))
    }

    func streamJob(_ input: Operations.StreamJob.Input) async throws -> Operations.StreamJob.Output {
        guard let token = APICaller.current.bearer, !token.isEmpty else {
            throw APIProblem(status: 401, title: "Unauthorized", detail: "give the job's publicAccessToken as 'Authorization: Bearer …'")
        }
        let queue = engine.queue
        let id = input.path.jobId
        guard let first = try await queue.status(id: id, token: token) else { throw APIProblem.notFound("job \(id)") }
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        let stream = AsyncThrowingStream<ArraySlice<UInt8>, any Error> { continuation in
            let task = Task {
                var last: Components.Schemas.JobStatus?
                var status: JobStatus? = first
                let deadline = ContinuousClock.now + .seconds(300)
                while let current = status, ContinuousClock.now < deadline, !Task.isCancelled {
                    let mapped = try Self.job(current)
                    if mapped != last {
                        let json = String(decoding: try encoder.encode(mapped), as: UTF8.self)
                        continuation.yield(ArraySlice("event: status\ndata: \(json)\n\n".utf8))
                        last = mapped
                    }
                    if mapped.state == .completed || mapped.state == .failed { break }
                    try await Task.sleep(for: .milliseconds(250))
                    status = try await queue.status(id: id, token: token)
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
        return .ok(.init(body: .textEventStream(HTTPBody(stream, length: .unknown, iterationBehavior: .single))))
    }
}
