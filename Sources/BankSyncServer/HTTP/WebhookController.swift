import BankSyncCore
import BankSyncJobs
public import BankSyncEngine
import BankSyncProviders
import BankSyncStore
import Foundation
public import Hummingbird
import Logging
import NIOCore

/// Inbound provider webhooks: `POST /webhooks/plaid` and `POST /webhooks/teller`.
///
/// The signature is checked before anything is read from the body (Plaid: the ES256 JWT in
/// `Plaid-Verification`, key fetched by `kid`, issued at most 5 minutes ago, body SHA-256;
/// Teller: HMAC-SHA256 in `Teller-Signature` within 3 minutes; both on the engine's clock). Then the engine records the
/// state or enqueues the work, and the answer goes back at once: providers retry slow
/// receivers, and the work runs as jobs.
public struct WebhookController: Sendable {
    let runtime: EngineRuntime
    /// Webhook bodies are small; anything larger is refused unread.
    static let maximumBody = 1 << 20

    public init(runtime: EngineRuntime) { self.runtime = runtime }

    /// What a webhook POST is answered with.
    public struct Reply: ResponseCodable, Equatable {
        public var action: String
        public var connectionID: String?

        enum CodingKeys: String, CodingKey {
            case action
            case connectionID = "connection_id"
        }
    }

    public func addRoutes(to router: Router<some RequestContext>) {
        router.post("/webhooks/plaid") { request, context in
            try await receive(.plaid, request: request, logger: context.logger)
        }
        router.post("/webhooks/teller") { request, context in
            try await receive(.teller, request: request, logger: context.logger)
        }
    }

    func receive(_ provider: Provider, request: Request, logger: Logger) async throws -> Reply {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: Self.maximumBody)
        } catch {
            throw HTTPError(.contentTooLarge, message: "webhook bodies are limited to \(Self.maximumBody) bytes")
        }
        let body = Array(buffer.readableBytesView)
        do {
            switch provider {
            case .plaid:
                guard let verifier = runtime.plaidVerifier else { throw HTTPError(.notFound, message: "Plaid is not configured") }
                try await verifier.verify(header: request.headers[.init("Plaid-Verification")!], body: body, now: runtime.engine.queue.now())
            case .teller:
                guard let verifier = runtime.tellerVerifier else { throw HTTPError(.notFound, message: "Teller webhooks are not configured (BANKSYNC_TELLER_WEBHOOK_SECRETS)") }
                try verifier.verify(header: request.headers[.init("Teller-Signature")!], body: body, now: runtime.engine.queue.now())
            case .gocardless:
                throw HTTPError(.notFound)
            }
        } catch let error as WebhookVerificationError {
            logger.warning("webhook refused", metadata: ["provider": "\(provider.rawValue)", "reason": "\(error.reason)"])
            throw HTTPError(.unauthorized, message: error.description)
        }
        do {
            let outcome = try await runtime.engine.handleWebhook(provider: provider, body: body)
            logger.info(
                "webhook received",
                metadata: ["provider": "\(provider.rawValue)", "action": "\(outcome.action)", "connection_id": "\(outcome.connectionID?.rawValue ?? "-")"])
            return Reply(action: outcome.action, connectionID: outcome.connectionID?.rawValue)
        } catch let error as StoreError where error.kind == .invalidData {
            throw HTTPError(.badRequest, message: error.message)
        }
    }
}
