public import BankSyncCore
/// A request as the sandbox's APIs see it, independent of the HTTP server.
public struct SandboxRequest: Sendable {
    public var method: String
    /// The path below the provider's prefix, e.g. `/transactions/sync`.
    public var path: String
    public var query: [(String, String)]
    /// Header names in lower case.
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// `scheme://host:port` the client reached us at, for links in responses.
    public var origin: String

    public init(method: String, path: String, query: [(String, String)] = [], headers: [(String, String)] = [], body: [UInt8] = [], origin: String = "http://127.0.0.1") {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers.map { ($0.0.lowercased(), $0.1) }
        self.body = body
        self.origin = origin
    }

    public func header(_ name: String) -> String? {
        let name = name.lowercased()
        return headers.first { $0.0 == name }?.1
    }

    public func queryValue(_ name: String) -> String? { query.first { $0.0 == name }?.1 }

    var pathSegments: [String] { path.split(separator: "/").map(String.init) }
}

/// A response from one of the sandbox's APIs.
public struct SandboxResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// Wait this long before answering (slow-response and timeout faults).
    public var delayMilliseconds: Int = 0

    public init(status: Int, headers: [(String, String)] = [], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func json(_ status: Int, _ value: JSONValue, headers: [(String, String)] = []) -> SandboxResponse {
        SandboxResponse(status: status, headers: [("content-type", "application/json")] + headers, body: value.serialized())
    }

    public static func empty(_ status: Int) -> SandboxResponse { SandboxResponse(status: status, body: []) }

    /// The body as text (tests and logs).
    public var text: String { String(decoding: body, as: UTF8.self) }
}
