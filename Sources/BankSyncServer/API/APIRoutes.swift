import BankSyncAPI
import BankSyncCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import OpenAPIHummingbird
import OpenAPIRuntime

/// Registers the generated API operations on the Hummingbird router — all but the few given a
/// direct route here.
///
/// Why: the generated server encodes every response with Foundation's `JSONEncoder` (and its
/// dates with `ISO8601DateFormatter`), which was a third of a transactions page's CPU: 100
/// rows of 16 fields each. `GET /v1/transactions` is the API's hottest read, so it runs the
/// same handler code (`APIHandler.transactionPage`, with its validation and tenant scoping),
/// but parses its query itself and writes the page with ``TransactionPageJSON``. The document
/// stays the contract: the test suite compares this route's rows with the generated
/// operation's, and schemathesis checks it against `/openapi.yaml` like every other operation.
struct APIRouteTransport: ServerTransport {
    typealias Route = @Sendable (Request, BasicRequestContext) async throws -> Response

    let router: Router<BasicRequestContext>
    /// Direct routes by "METHOD /path/template" (the document's path).
    let direct: [String: Route]

    func register(
        _ handler: @escaping @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?),
        method: HTTPRequest.Method, path: String
    ) throws {
        if let route = direct["\(method.rawValue) \(path)"] {
            router.on(RouterPath(path), method: method, use: route)
        } else {
            router.register(handler, method: method, path: path)
        }
    }

    /// The direct routes of ``APIHandler``'s operations.
    static func directRoutes(handler: APIHandler, problems: ProblemMiddleware) -> [String: Route] {
        [
            "GET /v1/transactions": { request, _ in
                do {
                    let page = try await handler.transactionPage(TransactionQuery.parse(request.uri.query))
                    let bytes = TransactionPageJSON.write(page.rows, nextCursor: page.nextCursor)
                    return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
                } catch {
                    return problems.response(for: error, operationID: Operations.ListTransactions.id, fromHandler: true)
                }
            }
        ]
    }
}

/// A transactions page as the document's `TransactionPage` JSON, written straight from the
/// rows: the members of `APIHandler.transaction(_:)`'s generated `Transaction` in its order,
/// absent ones left out, dates as ``InternetTimestamp``. (Through the generated types and
/// `Codable`, even with ``CompactJSONEncoder``, encoding was a quarter of the request.) A test
/// compares every row with the generated `GET /v1/transactions/{id}` answer.
enum TransactionPageJSON {
    static func write(_ rows: [Transaction], nextCursor: String?) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + rows.count * 560)
        out.append(contentsOf: #"{"data":["#.utf8)
        for (index, row) in rows.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            write(row, into: &out)
        }
        out.append(UInt8(ascii: "]"))
        if let nextCursor {
            out.append(contentsOf: #","next_cursor":"#.utf8)
            out.appendJSONString(nextCursor)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    static func write(_ t: Transaction, into out: inout [UInt8]) {
        func member(_ name: StaticString, _ value: String?) {
            guard let value else { return }
            out.append(UInt8(ascii: ","))
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            out.append(contentsOf: #"":"#.utf8)
            out.appendJSONString(value)
        }
        out.append(contentsOf: #"{"id":"#.utf8)
        out.appendJSONString(t.id.rawValue)
        member("account_id", t.accountID.rawValue)
        member("user_id", t.userID.rawValue)
        member("status", t.status == .pending ? "pending" : "posted")
        member("amount", t.amount.decimalString)
        member("currency", t.amount.currency.code)
        member("date", t.date.description)
        member("authorized_date", t.authorizedDate?.description)
        member("description", t.description)
        member("merchant_name", t.merchantName)
        member("counterparty", t.counterparty)
        if let category = t.category {
            out.append(contentsOf: #","category":{"code":"#.utf8)
            out.appendJSONString(category.category)
            out.append(contentsOf: #","confidence":"#.utf8)
            // A stored confidence is a probability; a non-finite one (never written) reads as 0.
            out.append(contentsOf: (category.confidence.isFinite ? category.confidence : 0).description.utf8)
            member("source", category.source.rawValue)
            member("note", t.categoryNote)
            out.append(UInt8(ascii: "}"))
        }
        member("provider_category", t.providerCategory)
        member("pending_transaction_id", t.pendingTransactionID)
        member("removed_at", t.removedAt.map(InternetTimestamp.string))
        member("created_at", InternetTimestamp.string(t.createdAt))
        out.append(UInt8(ascii: "}"))
    }
}

/// `GET /v1/transactions`'s query, parsed as the generated server parses it (form style,
/// `+` as a space, percent-decoding; the first of repeated names; unknown names ignored).
enum TransactionQuery {
    static func parse(_ query: String?) throws(APIProblem) -> Operations.ListTransactions.Input.Query {
        var items: [String: String] = [:]
        for pair in (query ?? "").split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = decode(parts[0]) else { throw .badRequest("the query has a name that is not percent-encoded correctly") }
            guard let value = decode(parts.count == 2 ? parts[1] : "") else {
                throw .badRequest("query parameter \(name.prefix(40)) is not percent-encoded correctly")
            }
            if items[name] == nil { items[name] = value }
        }
        guard let userID = items["user_id"] else { throw .badRequest("the request does not match the API document: query parameter user_id is required") }
        var result = Operations.ListTransactions.Input.Query(userId: userID)
        result.accountId = items["account_id"]
        result.from = items["from"]
        result.to = items["to"]
        result.category = items["category"]
        result.cursor = items["cursor"]
        if let text = items["pending"] {
            switch text {
            case "true": result.pending = true
            case "false": result.pending = false
            default: throw .badRequest("the request does not match the API document: query parameter pending must be true or false, not '\(text.prefix(40))'")
            }
        }
        if let text = items["limit"] {
            guard let limit = Int(text) else {
                throw .badRequest("the request does not match the API document: query parameter limit must be an integer, not '\(text.prefix(40))'")
            }
            result.limit = limit
        }
        return result
    }

    private static func decode(_ text: Substring) -> String? {
        if !text.utf8.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }) { return String(text) }
        return text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }
}

/// The OpenAPI runtime's date transcoder, without `ISO8601DateFormatter` on the hot path:
/// writes ``InternetTimestamp`` text (the same as the runtime's default), reads it back
/// directly and falls back to the formatter for other RFC 3339 forms (offsets).
struct APIDateTranscoder: DateTranscoder {
    func encode(_ date: Date) throws -> String { InternetTimestamp.string(date) }

    func decode(_ text: String) throws -> Date {
        if let date = InternetTimestamp.date(text) { return date }
        return try ISO8601DateTranscoder.iso8601.decode(text)
    }
}
