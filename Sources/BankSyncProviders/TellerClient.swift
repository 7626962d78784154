public import AsyncHTTPClient
public import BankSyncCore
public import Foundation
public import Logging
import NIOHTTP1
import NIOSSL

/// Teller: REST `GET`/`DELETE` with the access token as the HTTP Basic username, and in
/// development and production a client certificate (mutual TLS) issued by Teller.
public struct TellerClient: Sendable {
    public struct Configuration: Sendable {
        /// `https://api.teller.io`, or the BankSync sandbox's `/teller`.
        public var baseURL: String
        /// Teller-Version header.
        public var version: String

        public init(baseURL: String = "https://api.teller.io", version: String = "2020-10-12") {
            self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
            self.version = version
        }
    }

    public let configuration: Configuration
    let http: ProviderHTTP

    public init(
        configuration: Configuration, client: HTTPClient, logger: Logger, limits: (any ProviderLimits)? = nil, timeout: Duration = .seconds(30),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.configuration = configuration
        self.http = ProviderHTTP(client: client, provider: .teller, timeout: timeout, logger: logger, limits: limits, now: now)
    }

    /// An HTTP client presenting Teller's client certificate (PEM files from the Teller
    /// dashboard's `teller.zip`). Errors name the file that could not be read.
    public static func makeHTTPClient(certificatePath: String, privateKeyPath: String) throws -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        do {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certificatePath).map { .certificate($0) }
        } catch {
            throw ProviderError(.permanent, provider: .teller, code: "certificate", message: "cannot read the Teller client certificate at \(certificatePath): \(error)")
        }
        do {
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: privateKeyPath, format: .pem))
        } catch {
            throw ProviderError(.permanent, provider: .teller, code: "certificate", message: "cannot read the Teller private key at \(privateKeyPath): \(error)")
        }
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
    }

    func get(_ path: String, token: String, method: HTTPMethod = .GET) async throws -> ProviderHTTP.Reply {
        let credentials = Data("\(token):".utf8).base64EncodedString()
        let reply = try await http.send(
            method, configuration.baseURL + path, headers: [("authorization", "Basic \(credentials)"), ("teller-version", configuration.version)],
            endpoint: path.split(separator: "?").first.map(String.init) ?? path)
        guard (200..<300).contains(reply.status) else { throw Self.classify(reply) }
        return reply
    }

    /// Teller's `{"error": {"code", "message"}}` → what the engine does.
    static func classify(_ reply: ProviderHTTP.Reply) -> ProviderError {
        let json = try? JSONValue.parse(reply.body)
        let code = json?["error"]?["code"]?.stringValue
        let message = json?["error"]?["message"]?.stringValue ?? "HTTP \(reply.status)"
        let kind: ProviderError.Kind
        switch reply.status {
        case 404 where code?.hasPrefix("enrollment.disconnected") == true: kind = .reauthRequired
        case 404, 410: kind = .notFound
        case 401, 403: kind = .invalidToken
        case 429:
            let retry = reply.headers.first(name: "retry-after").flatMap(Double.init).map { reply.receivedAt.addingTimeInterval($0) }
            kind = .rateLimited(retryAt: retry ?? reply.receivedAt.addingTimeInterval(60))
        case 500...: kind = .transient
        default: kind = .permanent
        }
        return ProviderError(kind, provider: .teller, code: code, message: message, httpStatus: reply.status)
    }

    public func accounts(_ credential: ConnectionCredential) async throws -> [ProviderAccount] {
        let reply = try await get("/accounts", token: credential.secret)
        let json = try reply.json(.teller, requestID: nil)
        return try (json.arrayValue ?? []).map { row in
            let reader = FieldReader(provider: .teller, context: "account")
            let code = try reader.string(row, "currency")
            let currency: Currency
            do { currency = try Currency(code: code) } catch { throw reader.fail("unknown currency \(code)") }
            return ProviderAccount(
                providerAccountID: try reader.string(row, "id"), name: try reader.string(row, "name"), mask: reader.optionalString(row, "last_four"),
                type: row["type"]?.stringValue == "credit" ? .credit : .depository, subtype: reader.optionalString(row, "subtype"), currency: currency,
                isOpen: row["status"]?.stringValue != "closed")
        }
    }

    /// Live balances of `account`. Teller reports a card's ledger as the positive amount owed: flipped here.
    public func balance(_ credential: ConnectionCredential, account: ProviderAccount) async throws -> ProviderBalance {
        let reply = try await get("/accounts/\(account.providerAccountID)/balances", token: credential.secret)
        let json = try reply.json(.teller, requestID: nil)
        let reader = FieldReader(provider: .teller, context: "balances")
        let credit = account.type == .credit
        let ledger = try json["ledger"].flatMap(\.decimalText).map { try reader.money($0, currency: account.currency.code, field: "ledger", negate: credit) }
        let available = try json["available"].flatMap(\.decimalText).map { try reader.money($0, currency: account.currency.code, field: "available") }
        guard let current = ledger ?? available else { throw reader.fail("neither ledger nor available") }
        return ProviderBalance(providerAccountID: account.providerAccountID, current: current, available: available)
    }

    /// Every transaction of `account` dated within `from…to`, paging with `from_id` (Teller
    /// lists newest first). Credit-card amounts are flipped: Teller shows a purchase positive.
    public func transactions(_ credential: ConnectionCredential, account: ProviderAccount, from: CalendarDate, to: CalendarDate, pageSize: Int = 250)
        async throws -> TransactionWindow
    {
        var rows: [ProviderTransaction] = []
        var rejected: [RejectedRow] = []
        var fromID: String?
        let credit = account.type == .credit
        while true {
            var query = "start_date=\(from)&end_date=\(to)&count=\(pageSize)"
            if let fromID { query += "&from_id=\(fromID)" }
            let reply = try await get("/accounts/\(account.providerAccountID)/transactions?\(query)", token: credential.secret)
            let page = try reply.json(.teller, requestID: nil).arrayValue ?? []
            for row in page {
                let reader = FieldReader(provider: .teller, context: "transaction")
                do {
                    rows.append(try Self.transaction(row, reader: reader, account: account, credit: credit))
                } catch let error as ProviderError {
                    rejected.append(RejectedRow(providerTransactionID: row["id"]?.stringValue, providerAccountID: account.providerAccountID, reason: error.message))
                }
            }
            guard page.count == pageSize, let last = page.last?["id"]?.stringValue else { break }
            fromID = last
        }
        return TransactionWindow(providerAccountID: account.providerAccountID, from: from, to: to, transactions: rows, rejected: rejected)
    }

    /// One row of `/transactions`. A `status` other than `pending` counts as posted.
    static func transaction(_ row: JSONValue, reader: FieldReader, account: ProviderAccount, credit: Bool) throws -> ProviderTransaction {
                ProviderTransaction(
                    providerTransactionID: try reader.string(row, "id"), providerAccountID: account.providerAccountID,
                    amount: try reader.money(row["amount"]?.decimalText, currency: account.currency.code, field: "amount", negate: credit),
                    date: try reader.date(row, "date"), isPending: row["status"]?.stringValue == "pending",
                    description: try reader.string(row, "description"), counterparty: row["details"]?["counterparty"]?["name"]?.stringValue,
                    providerCategory: row["details"]?["category"]?.stringValue)
    }

    /// Teller has no status endpoint: a cheap data call tells.
    public func health(_ credential: ConnectionCredential) async throws -> ProviderConnectionHealth {
        do {
            _ = try await get("/accounts", token: credential.secret)
            return .healthy
        } catch let error as ProviderError {
            switch error.kind {
            case .reauthRequired: return .reauthRequired(reason: error.code ?? "enrollment.disconnected")
            case .invalidToken: return .revoked
            default: throw error
            }
        }
    }

    /// Ends the enrollment (all its accounts).
    public func remove(_ credential: ConnectionCredential) async throws {
        _ = try await get("/accounts", token: credential.secret, method: .DELETE)
    }
}
