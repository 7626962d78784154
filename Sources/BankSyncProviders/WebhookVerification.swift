public import BankSyncCore
import Crypto
public import Foundation

/// Why an inbound webhook was refused. The message says what failed, never the secret.
public struct WebhookVerificationError: Error, Sendable, CustomStringConvertible, Equatable {
    public let reason: String
    public var description: String { "webhook refused: \(reason)" }
}

/// Verifies Plaid webhooks: the `Plaid-Verification` header is an ES256 JWT whose key comes
/// from `/webhook_verification_key/get` by `kid` (cached), issued at most five minutes ago,
/// carrying the SHA-256 of the raw body.
public actor PlaidWebhookVerifier {
    private var keys: [String: P256.Signing.PublicKey] = [:]
    private let fetchKey: @Sendable (String) async throws -> JSONValue
    private let maxAge: TimeInterval

    /// - Parameter fetchKey: the JWK for a key id (`PlaidClient.webhookKey(id:)`).
    public init(maxAge: TimeInterval = 300, fetchKey: @escaping @Sendable (String) async throws -> JSONValue) {
        self.fetchKey = fetchKey
        self.maxAge = maxAge
    }

    /// Checks `body` (the raw bytes, never re-serialised) against the `Plaid-Verification` header.
    public func verify(header: String?, body: [UInt8], now: Date = Date()) async throws {
        guard let header, !header.isEmpty else { throw WebhookVerificationError(reason: "no Plaid-Verification header") }
        let parts = header.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, let headerBytes = Base64URL.decode(parts[0]), let claimsBytes = Base64URL.decode(parts[1]),
            let signatureBytes = Base64URL.decode(parts[2])
        else { throw WebhookVerificationError(reason: "Plaid-Verification is not a compact JWT") }
        guard let jwtHeader = try? JSONValue.parse(headerBytes), let claims = try? JSONValue.parse(claimsBytes) else {
            throw WebhookVerificationError(reason: "the JWT's header or claims are not JSON")
        }
        guard jwtHeader["alg"]?.stringValue == "ES256" else {
            throw WebhookVerificationError(reason: "the JWT's alg is \(jwtHeader["alg"]?.stringValue ?? "missing"), not ES256")
        }
        guard let kid = jwtHeader["kid"]?.stringValue else { throw WebhookVerificationError(reason: "the JWT has no kid") }
        let key = try await publicKey(kid)
        guard let signature = try? P256.Signing.ECDSASignature(rawRepresentation: signatureBytes),
            key.isValidSignature(signature, for: Array("\(parts[0]).\(parts[1])".utf8))
        else { throw WebhookVerificationError(reason: "the signature does not verify with key \(kid)") }
        guard let issued = claims["iat"]?.intValue else { throw WebhookVerificationError(reason: "the JWT has no iat") }
        let age = now.timeIntervalSince1970 - Double(issued)
        guard age <= maxAge, age >= -maxAge else { throw WebhookVerificationError(reason: "the JWT was issued \(Int(age)) s ago (limit \(Int(maxAge)) s)") }
        let digest = Array(SHA256.hash(data: body)).map { String(format: "%02x", $0) }.joined()
        guard let claimed = claims["request_body_sha256"]?.stringValue, constantTimeEqual(Array(claimed.utf8), Array(digest.utf8)) else {
            throw WebhookVerificationError(reason: "the body's SHA-256 does not match request_body_sha256")
        }
    }

    private func publicKey(_ kid: String) async throws -> P256.Signing.PublicKey {
        if let key = keys[kid] { return key }
        let jwk: JSONValue
        do { jwk = try await fetchKey(kid) } catch { throw WebhookVerificationError(reason: "fetching key \(kid) failed: \(error)") }
        guard jwk["kty"]?.stringValue == "EC", jwk["crv"]?.stringValue == "P-256", let x = jwk["x"]?.stringValue.flatMap(Base64URL.decode),
            let y = jwk["y"]?.stringValue.flatMap(Base64URL.decode), x.count == 32, y.count == 32,
            let key = try? P256.Signing.PublicKey(rawRepresentation: x + y)
        else { throw WebhookVerificationError(reason: "key \(kid) is not a P-256 JWK") }
        if let expired = jwk["expired_at"], !expired.isNull { throw WebhookVerificationError(reason: "key \(kid) has expired") }
        keys[kid] = key
        return key
    }
}

/// Verifies Teller webhooks: `Teller-Signature: t=<unix>,v1=<hex>[,v1=…]` (a
/// ``TimestampedSignature``) under one of the signing secrets (several while they rotate), and
/// `t` at most three minutes old.
public struct TellerWebhookVerifier: Sendable {
    let secrets: [[UInt8]]
    let maxAge: TimeInterval

    public init(secrets: [String], maxAge: TimeInterval = 180) {
        self.secrets = secrets.map { Array($0.utf8) }
        self.maxAge = maxAge
    }

    public func verify(header: String?, body: [UInt8], now: Date = Date()) throws {
        try TimestampedSignature.verify(header: header, name: "Teller-Signature", body: body, secrets: secrets, now: now, tolerance: maxAge)
    }
}

/// The `t=<unix seconds>,v1=<hex>[,v1=<hex>…]` signature scheme: each `v1` is the lower-case
/// hex HMAC-SHA256 of `"<t>.<raw body>"` under one secret. Teller signs its webhooks this way,
/// and BankSync signs its outbound webhooks the same way (one `v1` per valid secret while a
/// secret rotates), so receivers can use one verifier for both.
public enum TimestampedSignature {
    /// The header value for `body` signed at `timestamp` with each of `secrets`.
    public static func sign(body: [UInt8], secrets: [[UInt8]], timestamp: Int64) -> String {
        let message = Array("\(timestamp).".utf8) + body
        return (["t=\(timestamp)"] + secrets.map { "v1=" + hex(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: $0))) })
            .joined(separator: ",")
    }

    /// Checks `header` (named `name` in messages): a `t` within `tolerance` seconds of `now`, and
    /// a `v1` that matches one of `secrets` (compared in constant time).
    /// - Throws: ``WebhookVerificationError`` saying which part failed.
    public static func verify(header: String?, name: String, body: [UInt8], secrets: [[UInt8]], now: Date, tolerance: TimeInterval) throws {
        guard let header, !header.isEmpty else { throw WebhookVerificationError(reason: "no \(name) header") }
        var timestamp: String?
        var signatures: [String] = []
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2 else { continue }
            if pair[0] == "t" { timestamp = pair[1] } else if pair[0] == "v1" { signatures.append(pair[1].lowercased()) }
        }
        guard let timestamp, let seconds = Double(timestamp) else { throw WebhookVerificationError(reason: "\(name) has no t=") }
        guard !signatures.isEmpty else { throw WebhookVerificationError(reason: "\(name) has no v1=") }
        let age = now.timeIntervalSince1970 - seconds
        guard age <= tolerance, age >= -tolerance else { throw WebhookVerificationError(reason: "the signature is \(Int(age)) s old (limit \(Int(tolerance)) s)") }
        let message = Array("\(timestamp).".utf8) + body
        for secret in secrets {
            let expected = hex(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: secret)))
            if signatures.contains(where: { constantTimeEqual(Array($0.utf8), Array(expected.utf8)) }) { return }
        }
        throw WebhookVerificationError(reason: "no v1 signature matches a configured secret")
    }

    static func hex<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}

func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for (x, y) in zip(a, b) { difference |= x ^ y }
    return difference == 0
}
