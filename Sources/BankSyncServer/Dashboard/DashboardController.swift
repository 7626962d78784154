import BankSyncCategorizer
import BankSyncCore
import BankSyncEngine
import BankSyncJobs
import BankSyncStore
import Foundation
import Hummingbird
import Logging
import Mustache
import NIOCore

/// The dashboard: server-rendered pages (swift-mustache templates in `Resources/templates`,
/// charts as inline SVG, no JavaScript) under `/dashboard`.
///
/// Sign-in takes one of the tenant's API keys and keeps it in an `HttpOnly`, `SameSite=Strict`
/// cookie scoped to `/dashboard` (so no other site can post forms with it); every page
/// authenticates it like the API does and shows only that tenant's data.
struct DashboardController: Sendable {
    let store: Store
    let engine: SyncEngine
    let templates: MustacheLibrary
    let logger: Logger
    static let cookie = "banksync_key"

    init(store: Store, engine: SyncEngine, logger: Logger) {
        self.store = store
        self.engine = engine
        self.logger = logger
        var library = MustacheLibrary()
        if let directory = Bundle.module.resourceURL?.appendingPathComponent("templates"),
            let files = try? FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
        {
            for file in files where file.pathExtension == "mustache" {
                do { try library.register(String(contentsOf: file, encoding: .utf8), named: file.deletingPathExtension().lastPathComponent) } catch {
                    logger.error("dashboard template does not parse", metadata: ["template": "\(file.lastPathComponent)", "error": "\(error)"])
                }
            }
        }
        self.templates = library
    }

    func addRoutes(to router: Router<some RequestContext>) {
        router.get("/dashboard/login") { _, _ in page("login", ["title": "Sign in"], signedIn: false) }
        router.post("/dashboard/login") { request, _ in try await login(request) }
        router.post("/dashboard/logout") { _, _ in
            var response = Response.redirect(to: "/dashboard/login", type: .found)
            response.headers[.setCookie] = "\(Self.cookie)=; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age=0"
            return response
        }
        router.get("/dashboard") { request, _ in try await signedIn(request) { tenant in try await overview(tenant, flash: Self.flash(request)) } }
        router.get("/dashboard/accounts/:id") { request, context in
            try await signedIn(request) { tenant in try await account(tenant, id: context.parameters.get("id") ?? "") }
        }
        router.get("/dashboard/transactions") { request, _ in try await signedIn(request) { tenant in try await transactions(tenant, request: request) } }
        router.get("/dashboard/jobs") { request, _ in try await signedIn(request) { tenant in try await jobs(tenant, flash: Self.flash(request)) } }
        router.get("/dashboard/activity") { request, _ in try await signedIn(request) { tenant in try await activity(tenant, flash: Self.flash(request)) } }
        router.post("/dashboard/connections/:id/sync") { request, context in
            try await signedIn(request) { tenant in
                let id = context.parameters.get("id") ?? ""
                guard let connection = try await store.connections.get(Identifier(id)), try await owns(tenant, connection.userID) else { return notFound() }
                do {
                    _ = try await engine.requestSync(connection.id)
                    return redirect("/dashboard", flash: "Sync requested for \(connection.institutionName ?? connection.provider.rawValue).")
                } catch let error as StoreError {
                    return redirect("/dashboard", flash: error.message)
                }
            }
        }
        router.post("/dashboard/transactions/:id/category") { request, context in
            try await signedIn(request) { tenant in
                let form = try await Self.form(request)
                let id = context.parameters.get("id") ?? ""
                guard let row = try await store.transactions.get(Identifier(id)), try await owns(tenant, row.userID) else { return notFound() }
                var back = form["back"] ?? "/dashboard/transactions"
                if !back.hasPrefix("/dashboard/") { back = "/dashboard/transactions" }
                let category = (form["category"] ?? "").trimmingCharacters(in: .whitespaces)
                guard !category.isEmpty else { return Response.redirect(to: back, type: .found) }
                do {
                    try await engine.setCategory(row.id, userID: row.userID, category: category)
                } catch let error as StoreError {
                    return redirect(back, flash: error.message)
                }
                return redirect(back, flash: "\(row.merchantName ?? row.description) is now \(category).")
            }
        }
        router.post("/dashboard/jobs/:id/retry") { request, context in
            try await signedIn(request) { tenant in
                let id = context.parameters.get("id") ?? ""
                guard try await tenantJobs(tenant).contains(where: { $0.status.id == id }) else { return notFound() }
                let done = try await engine.queue.retry(id: id)
                return redirect("/dashboard/jobs", flash: done ? "Job \(id) will run again." : "Job \(id) is not failed or cancelled.")
            }
        }
        router.post("/dashboard/jobs/:id/cancel") { request, context in
            try await signedIn(request) { tenant in
                let id = context.parameters.get("id") ?? ""
                guard try await tenantJobs(tenant).contains(where: { $0.status.id == id }) else { return notFound() }
                let done = try await engine.queue.cancel(id: id)
                return redirect("/dashboard/jobs", flash: done ? "Job \(id) cancelled." : "Job \(id) has already started or finished.")
            }
        }
        router.post("/dashboard/deliveries/:id/replay") { request, context in
            try await signedIn(request) { tenant in
                let id = context.parameters.get("id") ?? ""
                do {
                    _ = try await engine.replayWebhookDelivery(Identifier(id), tenantID: tenant)
                    return redirect("/dashboard/activity", flash: "Delivery \(id) sent again.")
                } catch let error as StoreError {
                    return redirect("/dashboard/activity", flash: error.message)
                }
            }
        }
    }

    // MARK: Sign-in

    func login(_ request: Request) async throws -> Response {
        let key = (try await Self.form(request)["key"] ?? "").trimmingCharacters(in: .whitespaces)
        guard key.hasPrefix("bsk_"), try await store.tenants.authenticate(secret: key) != nil else {
            return page("login", ["title": "Sign in", "error": "That is not a live API key of this server."], signedIn: false, status: .unauthorized)
        }
        var response = Response.redirect(to: "/dashboard", type: .found)
        response.headers[.setCookie] = "\(Self.cookie)=\(key); Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age=43200"
        return response
    }

    func signedIn(_ request: Request, _ body: (Identifier<Tenant>) async throws -> Response) async throws -> Response {
        let cookies = request.headers[values: .cookie].flatMap { $0.split(separator: ";") }.map { $0.trimmingCharacters(in: .whitespaces) }
        let key = cookies.first { $0.hasPrefix("\(Self.cookie)=") }.map { String($0.dropFirst(Self.cookie.count + 1)) }
        guard let key, !key.isEmpty, let apiKey = try await store.tenants.authenticate(secret: key) else {
            return Response.redirect(to: "/dashboard/login", type: .found)
        }
        return try await body(apiKey.tenantID)
    }

    func owns(_ tenant: Identifier<Tenant>, _ user: Identifier<User>) async throws -> Bool {
        try await store.users.get(user)?.tenantID == tenant
    }

    // MARK: Pages

    func overview(_ tenant: Identifier<Tenant>, flash: String?) async throws -> Response {
        let users = try await store.users.list(tenantID: tenant, limit: 500)
        var connections: [[String: Any]] = []
        var accountCount = 0
        var trouble = 0
        for user in users {
            for connection in try await store.connections.list(userID: user.id) {
                var accounts: [[String: Any]] = []
                for account in try await store.accounts.list(connectionID: connection.id) {
                    let balance = try await store.accounts.balance(accountID: account.id)
                    accounts.append([
                        "id": account.id.rawValue, "name": account.name, "mask": account.mask ?? "----", "type": account.subtype ?? account.type.rawValue,
                        "balance": balance.map { "\($0.current)" } ?? "—", "sign": (balance?.current.minorUnits ?? 0) < 0 ? "out" : "",
                        "asOf": balance.map { "as of \(Self.time($0.asOf))" } ?? "",
                    ])
                }
                accountCount += accounts.count
                let status = connection.status.rawValue
                let statusClass = connection.status == .connected ? "ok" : (connection.status == .syncing || connection.status == .pendingRefresh ? "warn" : "bad")
                if statusClass == "bad" { trouble += 1 }
                connections.append([
                    "id": connection.id.rawValue, "user": user.externalID, "provider": connection.provider.rawValue,
                    "institution": connection.institutionName ?? connection.institutionID ?? "", "status": status, "statusClass": statusClass,
                    "lastSync": connection.lastSyncedAt.map(Self.time) ?? "never", "nextSync": connection.nextSyncAt.map(Self.time) ?? "—",
                    "schedule": connection.scheduleNote ?? "", "error": connection.errorCode ?? "", "accounts": accounts,
                ])
            }
        }
        return page(
            "overview",
            [
                "title": "Connections", "flash": flash as Any, "userCount": users.count, "connectionCount": connections.count,
                "accountCount": accountCount, "troubleCount": trouble, "connections": connections,
            ], here: "/dashboard")
    }

    func account(_ tenant: Identifier<Tenant>, id: String) async throws -> Response {
        guard let account = try await store.accounts.get(Identifier(id)), try await owns(tenant, account.userID) else { return notFound() }
        let balance = try await store.accounts.balance(accountID: account.id)
        let to = CalendarDate(engine.queue.now())
        let history = try await store.accounts.balanceHistory(accountID: account.id, from: to.adding(days: -90), to: to)
        let rows = try await store.transactions.page(userID: account.userID, filter: .init(accountID: account.id), limit: 20)
        return page(
            "account",
            [
                "title": account.name, "id": account.id.rawValue, "userID": account.userID.rawValue, "name": account.name, "mask": account.mask ?? "----",
                "type": account.subtype ?? account.type.rawValue, "currency": account.currency.code,
                "balance": balance.map { $0.current.decimalString } ?? "—", "available": balance?.available?.decimalString ?? "—",
                "sign": (balance?.current.minorUnits ?? 0) < 0 ? "out" : "", "transactionCount": try await store.transactions.count(accountID: account.id),
                "chart": Self.chart(history.map { ($0.date, $0.current.minorUnits) }, currency: account.currency), "rows": rows.map(Self.row),
            ], here: "/dashboard")
    }

    func transactions(_ tenant: Identifier<Tenant>, request: Request) async throws -> Response {
        let users = try await store.users.list(tenantID: tenant, limit: 500)
        let query = request.uri.queryParameters
        let selected = query["user"].map(String.init).flatMap { id in users.first { $0.id.rawValue == id } } ?? users.first
        var rows: [Transaction] = []
        var accountFilter: Identifier<Account>?
        var next: String?
        if let selected {
            if let id = query["account"].map(String.init), let account = try await store.accounts.get(Identifier(id)), account.userID == selected.id {
                accountFilter = account.id
            }
            var after: (date: CalendarDate, id: String)?
            if let cursor = query["after"].map({ String($0).removingPercentEncoding ?? String($0) }), let bar = cursor.firstIndex(of: "|"), let date = try? CalendarDate(parsing: String(cursor[..<bar])) {
                after = (date, String(cursor[cursor.index(after: bar)...]))
            }
            rows = try await store.transactions.page(userID: selected.id, filter: .init(accountID: accountFilter), after: after, limit: 50)
            if rows.count == 50, let last = rows.last {
                var components = URLComponents()
                components.path = "/dashboard/transactions"
                components.queryItems = [URLQueryItem(name: "user", value: selected.id.rawValue), URLQueryItem(name: "after", value: "\(last.date)|\(last.id.rawValue)")]
                    + (accountFilter.map { [URLQueryItem(name: "account", value: $0.rawValue)] } ?? [])
                next = components.string
            }
        }
        let back = request.uri.description
        var names: [Identifier<Account>: String] = [:]
        for row in rows where names[row.accountID] == nil { names[row.accountID] = try await store.accounts.get(row.accountID)?.name ?? "" }
        let taxonomy = engine.configuration.categorizer?.taxonomy ?? .standard
        let categories = (taxonomy.primaries + taxonomy.primaryOf.keys).sorted()
        return page(
            "transactions",
            [
                "title": "Transactions", "subtitle": selected.map { "of \($0.externalID)" } ?? "",
                "users": users.map { ["id": $0.id.rawValue, "externalID": $0.externalID, "selected": $0.id == selected?.id] },
                "account": accountFilter?.rawValue as Any, "categories": categories,
                "rows": rows.map { row -> [String: Any] in
                    var values = Self.row(row)
                    values["account"] = names[row.accountID] ?? ""
                    values["back"] = back
                    return values
                }, "next": next as Any, "flash": Self.flash(request) as Any,
            ], here: "/dashboard/transactions")
    }

    /// The tenant's jobs among the newest 5,000: those whose payload names one of its
    /// connections or users, or the tenant itself (the jobs table has no tenant column: payloads
    /// carry ids only).
    func tenantJobs(_ tenant: Identifier<Tenant>) async throws -> [JobSummary] {
        var ids: Set<String> = [tenant.rawValue]
        for user in try await store.users.list(tenantID: tenant, limit: 100_000) {
            ids.insert(user.id.rawValue)
            for connection in try await store.connections.list(userID: user.id) { ids.insert(connection.id.rawValue) }
        }
        return try await engine.queue.recent(limit: 5_000).filter { job in
            guard case .object(let fields)? = try? JSONValue.parse(Array(job.payload.utf8)) else { return false }
            return fields.contains { key, value in ["connectionID", "userID", "tenantID"].contains(key) && value.stringValue.map(ids.contains) == true }
        }
    }

    func jobs(_ tenant: Identifier<Tenant>, flash: String?) async throws -> Response {
        let jobs = try await tenantJobs(tenant).map(\.status)
        let states = JobState.allCases.map(\.rawValue)
        let counts = Dictionary(grouping: jobs, by: \.name).sorted { $0.key < $1.key }.map { name, list -> [String: Any] in
            ["name": name, "cells": states.map { state in list.filter { $0.state.rawValue == state }.count }]
        }
        let failures = jobs.filter { $0.state == .discarded || ($0.state == .retryable) || ($0.state == .cancelled) }.prefix(50).map { job -> [String: Any] in
            [
                "id": job.id, "name": job.name, "when": Self.time(job.finalizedAt ?? job.scheduledAt), "attempts": "\(job.attempt)/\(job.maxAttempts)",
                "error": job.errors.last?.message ?? "", "canRetry": job.state == .discarded || job.state == .cancelled,
            ]
        }
        let waiting = jobs.filter { $0.state == .available || $0.state == .retryable }.prefix(50).map { job -> [String: Any] in
            ["id": job.id, "name": job.name, "when": Self.time(job.scheduledAt), "attempts": "\(job.attempt)/\(job.maxAttempts)"]
        }
        return page(
            "jobs", ["title": "Jobs", "flash": flash as Any, "scanned": 5_000, "states": states, "counts": counts, "failures": Array(failures), "waiting": Array(waiting)],
            here: "/dashboard/jobs")
    }

    func activity(_ tenant: Identifier<Tenant>, flash: String?) async throws -> Response {
        let users = Dictionary(uniqueKeysWithValues: try await store.users.list(tenantID: tenant, limit: 100_000).map { ($0.id, $0.externalID) })
        let now = engine.queue.now()
        let events = try await store.events.list(tenantID: tenant, from: now.addingTimeInterval(-30 * 86_400), to: now.addingTimeInterval(86_400))
            .suffix(100).reversed().map { event -> [String: Any] in
                [
                    "when": Self.time(event.createdAt), "user": event.userID.flatMap { users[$0] } ?? "(tenant)", "type": event.type,
                    "details": String(String(decoding: event.payload.serialized(), as: UTF8.self).prefix(160)),
                ]
            }
        var endpoints: [[String: Any]] = []
        for endpoint in try await store.webhooks.endpoints(tenantID: tenant) {
            let deliveries = try await store.webhooks.deliveries(endpointID: endpoint.id, limit: 20).map { delivery -> [String: Any] in
                [
                    "id": delivery.id.rawValue, "when": Self.time(delivery.createdAt), "type": delivery.eventType, "state": delivery.state.rawValue,
                    "stateClass": delivery.state == .delivered ? "ok" : (delivery.state == .pending ? "warn" : "bad"), "attempts": delivery.attempts,
                    "outcome": [delivery.lastStatus.map { "HTTP \($0)" }, delivery.lastOutcome].compactMap { $0 }.joined(separator: " · "),
                ]
            }
            endpoints.append([
                "url": endpoint.url, "state": endpoint.disabledAt == nil ? (endpoint.failingSince == nil ? "enabled" : "failing") : "disabled",
                "stateClass": endpoint.disabledAt == nil ? (endpoint.failingSince == nil ? "ok" : "warn") : "bad", "events": endpoint.eventTypes.joined(separator: ", "),
                "reason": endpoint.disabledReason ?? endpoint.lastSuccessAt.map { "last delivered \(Self.time($0))" } ?? "nothing delivered yet",
                "deliveries": deliveries,
            ])
        }
        return page("activity", ["title": "Activity", "flash": flash as Any, "events": Array(events), "endpoints": endpoints], here: "/dashboard/activity")
    }

    // MARK: Pieces

    static func row(_ row: Transaction) -> [String: Any] {
        [
            "id": row.id.rawValue, "date": row.date.description, "pending": row.status == .pending, "description": row.merchantName ?? row.description,
            "amount": row.amount.decimalString, "sign": row.amount.minorUnits < 0 ? "out" : "in", "category": row.category?.category ?? "—",
            "confidence": row.category.map { String(format: "%.2f", $0.confidence) } ?? "", "source": row.category?.source.rawValue ?? "none",
        ]
    }

    /// A balance line as SVG coordinates (600 × 180, 50 px left for labels).
    static func chart(_ points: [(CalendarDate, Int64)], currency: Currency) -> [String: Any] {
        let width = 640.0
        let height = 200.0
        let left = 50.0
        let right = width - 10
        let top = 20.0
        let bottom = height - 30
        var result: [String: Any] = ["width": Int(width), "height": Int(height), "right": Int(right), "dateY": Int(height - 10), "bottomLabelY": Int(bottom)]
        guard let first = points.first, let last = points.last else {
            result["points"] = ""
            result["zeroY"] = Int(bottom)
            return result
        }
        let values = points.map(\.1)
        let low = min(values.min()!, 0)
        let high = max(values.max()!, 0)
        let span = Double(max(high - low, 1))
        let days = Double(max(last.0.daysSince(first.0), 1))
        func y(_ value: Int64) -> Double { bottom - (Double(value - low) / span) * (bottom - top) }
        result["points"] = points.map { date, value in
            String(format: "%.1f,%.1f", left + Double(date.daysSince(first.0)) / days * (right - left), y(value))
        }.joined(separator: " ")
        result["zeroY"] = Int(y(0))
        result["max"] = Money(minorUnits: high, currency: currency).decimalString
        result["min"] = Money(minorUnits: low, currency: currency).decimalString
        result["from"] = first.0.description
        result["to"] = last.0.description
        result["toX"] = Int(right)
        return result
    }

    /// The `flash` query parameter (a redirect's message), decoded.
    static func flash(_ request: Request) -> String? {
        request.uri.queryParameters["flash"].map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0) }
    }

    /// `yyyy-MM-dd HH:mm UTC`, without a DateFormatter per call (pages format hundreds).
    static func time(_ date: Date) -> String {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        let minute = Int((seconds % 86_400 + 86_400) % 86_400) / 60
        return "\(CalendarDate(date)) \(String(format: "%02d:%02d", minute / 60, minute % 60)) UTC"
    }

    func page(_ name: String, _ values: [String: Any], here: String? = nil, signedIn: Bool = true, status: HTTPResponse.Status = .ok) -> Response {
        // An absent optional must read as "no value" to the template, not as the text "nil".
        var context = values.filter { _, value in !(Mirror(reflecting: value).displayStyle == .optional && Mirror(reflecting: value).children.isEmpty) }
        context["signedIn"] = signedIn
        context["nav"] = signedIn
            ? [("/dashboard", "Connections"), ("/dashboard/transactions", "Transactions"), ("/dashboard/jobs", "Jobs"), ("/dashboard/activity", "Activity")].map {
                ["href": $0.0, "label": $0.1, "here": $0.0 == here]
            } : []
        let html = templates.render(context, withTemplate: name) ?? "<!doctype html><p>template \(name) is missing</p>"
        return Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    func redirect(_ path: String, flash: String) -> Response {
        var components = URLComponents(string: path) ?? URLComponents()
        components.queryItems = (components.queryItems ?? []).filter { $0.name != "flash" } + [URLQueryItem(name: "flash", value: flash)]
        return Response.redirect(to: components.string ?? path, type: .found)
    }

    func notFound() -> Response {
        page("login", ["title": "Not found", "error": "There is nothing of yours here."], status: .notFound)
    }

    /// An `application/x-www-form-urlencoded` body (at most 64 KiB).
    static func form(_ request: Request) async throws -> [String: String] {
        let buffer = try await request.body.collect(upTo: 65_536)
        var components = URLComponents()
        components.percentEncodedQuery = String(buffer: buffer).replacingOccurrences(of: "+", with: "%20")
        var fields: [String: String] = [:]
        for item in components.queryItems ?? [] { fields[item.name] = item.value ?? "" }
        return fields
    }
}
