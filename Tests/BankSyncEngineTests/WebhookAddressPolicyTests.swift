import BankSyncEngine
import BankSyncProviders
import Foundation
import Testing

@Suite("Webhook endpoint addresses and signatures")
struct WebhookAddressPolicyTests {
    static func refusal(_ text: String, policy: WebhookAddressPolicy = WebhookAddressPolicy()) async -> String? {
        do {
            try await policy.check(text)
            return nil
        } catch {
            return error.reason
        }
    }

    @Test("URLs that are not http(s), name no host, carry credentials or a fragment are refused, saying why")
    func form() throws {
        #expect(throws: WebhookAddressPolicy.Refusal(reason: "the URL's scheme is 'ftp': only http and https are allowed")) {
            try WebhookAddressPolicy.parse("ftp://example.com/")
        }
        #expect(throws: WebhookAddressPolicy.Refusal.self) { try WebhookAddressPolicy.parse("") }
        #expect(throws: WebhookAddressPolicy.Refusal.self) { try WebhookAddressPolicy.parse("example.com/hook") }
        #expect(throws: WebhookAddressPolicy.Refusal.self) { try WebhookAddressPolicy.parse("https://user:secret@example.com/") }
        #expect(throws: WebhookAddressPolicy.Refusal.self) { try WebhookAddressPolicy.parse("https://example.com/#part") }
        #expect(throws: WebhookAddressPolicy.Refusal.self) { try WebhookAddressPolicy.parse("https://example.com/" + String(repeating: "a", count: 2_100)) }
        #expect(try WebhookAddressPolicy.parse("HTTPS://Example.com/hooks?x=1") == .init(scheme: "https", host: "Example.com", port: 443))
        #expect(try WebhookAddressPolicy.parse("http://[::1]:8080/") == .init(scheme: "http", host: "::1", port: 8080))
    }

    @Test("loopback, private, link-local, shared and reserved addresses are refused unless allowed")
    func addresses() async throws {
        for url in [
            "http://127.0.0.1:9/", "http://localhost/", "http://10.1.2.3/", "http://172.16.0.1/", "http://172.31.255.255/", "http://192.168.1.1/",
            "http://169.254.169.254/latest/meta-data", "http://100.64.0.1/", "http://0.0.0.0/", "http://224.0.0.1/", "http://[::1]/", "http://[fe80::1]/",
            "http://[fd00::1]/", "http://[::ffff:127.0.0.1]/",
        ] {
            let reason = await Self.refusal(url)
            #expect(reason?.contains("private or reserved") == true, "\(url): \(reason ?? "accepted")")
        }
        #expect(await Self.refusal("http://127.0.0.1:9/", policy: WebhookAddressPolicy(allowPrivateAddresses: true)) == nil)
        #expect(await Self.refusal("http://8.8.8.8/hook") == nil)
        #expect(await Self.refusal("http://[2606:4700:4700::1111]/hook") == nil)
        #expect(await Self.refusal("https://no-such-host.invalid/")?.contains("does not resolve") == true)
    }

    @Test("a signature is HMAC-SHA256 over \"<t>.<body>\"; it fails for another body, another secret or an old timestamp")
    func signatures() throws {
        let body = Array(#"{"id":"evt_1"}"#.utf8)
        let secret = Array("whsec_test".utf8)
        let header = TimestampedSignature.sign(body: body, secrets: [secret], timestamp: 1_800_000_000)
        // The documented example: computed independently with `openssl dgst -sha256 -hmac`.
        #expect(header == "t=1800000000,v1=45705be2a45ab5acdd1395cc695e9e7073125385ec24194921c401dff44176f8")
        let now = Date(timeIntervalSince1970: 1_800_000_100)
        try TimestampedSignature.verify(header: header, name: "BankSync-Signature", body: body, secrets: [secret], now: now, tolerance: 300)
        #expect(throws: WebhookVerificationError.self) {
            try TimestampedSignature.verify(header: header, name: "BankSync-Signature", body: body + [0x20], secrets: [secret], now: now, tolerance: 300)
        }
        #expect(throws: WebhookVerificationError.self) {
            try TimestampedSignature.verify(header: header, name: "BankSync-Signature", body: body, secrets: [Array("other".utf8)], now: now, tolerance: 300)
        }
        #expect(throws: WebhookVerificationError.self) {
            try TimestampedSignature.verify(
                header: header, name: "BankSync-Signature", body: body, secrets: [secret], now: now.addingTimeInterval(600), tolerance: 300)
        }
        // Two secrets (during a rotation): either one verifies.
        let both = TimestampedSignature.sign(body: body, secrets: [Array("new".utf8), secret], timestamp: 1_800_000_000)
        try TimestampedSignature.verify(header: both, name: "BankSync-Signature", body: body, secrets: [secret], now: now, tolerance: 300)
        try TimestampedSignature.verify(header: both, name: "BankSync-Signature", body: body, secrets: [Array("new".utf8)], now: now, tolerance: 300)
    }
}
