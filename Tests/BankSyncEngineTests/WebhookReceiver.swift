import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import BankSyncTesting
import Synchronization

/// A real HTTP receiver on loopback for outbound webhook tests: records every request per path
/// and answers as the test's `reply` says (status, headers, body, delay), by path and by how
/// many requests that path has had.
final class WebhookReceiver: Sendable {
    struct Received: Sendable {
        let path: String
        let headers: [String: String]
        let body: [UInt8]
        func header(_ name: String) -> String? { headers[name.lowercased()] }
    }

    struct Reply: Sendable {
        var status = 200
        var headers: [(String, String)] = []
        var body: [UInt8] = Array("ok".utf8)
        var delay: Duration = .zero
        /// Sends the body one byte at a time, this long apart (a receiver that trickles).
        var trickle: Duration?
    }

    private let log = Mutex<[Received]>([])

    func received(_ path: String? = nil) -> [Received] { log.withLock { all in all.filter { path == nil || $0.path == path } } }

    /// Runs `body` with the receiver listening; its argument is the base URL (`http://127.0.0.1:port`).
    static func run<T: Sendable>(
        reply: @escaping @Sendable (_ path: String, _ count: Int) -> Reply, _ body: (WebhookReceiver, String) async throws -> T
    ) async throws -> T {
        let receiver = WebhookReceiver()
        var logger = Logger(label: "webhook-receiver")
        logger.logLevel = .critical
        let port = Mutex<Int?>(nil)
        let responder = CallbackResponder<BasicRequestContext> { request, _ in
            let bytes = try await request.body.collect(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let path = request.uri.path
            let count = receiver.log.withLock { all in
                all.append(Received(path: path, headers: headers, body: Array(bytes.readableBytesView)))
                return all.filter { $0.path == path }.count
            }
            let answer = reply(path, count)
            if answer.delay > .zero { try await Task.sleep(for: answer.delay) }
            var fields = HTTPFields()
            for (name, value) in answer.headers { if let field = HTTPField.Name(name) { fields.append(HTTPField(name: field, value: value)) } }
            guard let gap = answer.trickle else {
                return Response(status: .init(code: answer.status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
            }
            let slow = answer.body
            return Response(status: .init(code: answer.status), headers: fields, body: ResponseBody { writer in
                for byte in slow {
                    try await writer.write(ByteBuffer(bytes: [byte]))
                    try await Task.sleep(for: gap)
                }
                try await writer.finish(nil)
            })
        }
        let app = Application(
            responder: responder, configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "webhook-receiver"),
            onServerRunning: { channel in port.withLock { $0 = channel.localAddress?.port } }, logger: logger)
        return try await withServices([app]) {
            let deadline = ContinuousClock.now + .seconds(10)
            while port.withLock({ $0 }) == nil {
                guard ContinuousClock.now < deadline else { throw CancellationError() }
                try await Task.sleep(for: .milliseconds(5))
            }
            return try await body(receiver, "http://127.0.0.1:\(port.withLock { $0! })")
        }
    }
}
