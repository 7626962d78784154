import Foundation
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which URLs outbound webhooks may be sent to.
///
/// An endpoint URL must be `http` or `https`, name a host, carry no credentials and be at most
/// 2,048 characters. Its host must resolve, and — unless ``allowPrivateAddresses`` (tests, the
/// demo, a receiver on the same private network on purpose) — only to public addresses:
/// loopback, private (RFC 1918, unique local), link-local, carrier-grade NAT, multicast and
/// reserved ranges are refused, so a tenant cannot point BankSync at the machines around it.
/// The check runs when an endpoint is saved and again before every attempt (DNS can change).
///
/// Limit: the HTTP client resolves the name again when it connects, so a name whose answer
/// changes between the check and the connection (DNS rebinding) is not fully prevented. Run
/// BankSync behind an egress proxy or firewall where that matters (see docs/WEBHOOKS.md).
public struct WebhookAddressPolicy: Sendable {
    public var allowPrivateAddresses: Bool

    public init(allowPrivateAddresses: Bool = false) { self.allowPrivateAddresses = allowPrivateAddresses }

    /// A URL that cannot be used, and why.
    public struct Refusal: Error, Sendable, CustomStringConvertible, Equatable {
        public let reason: String
        public var description: String { reason }

        public init(reason: String) { self.reason = reason }
    }

    /// The URL's parts as delivery needs them.
    public struct Target: Sendable, Equatable {
        public var scheme: String
        public var host: String
        public var port: Int

        public init(scheme: String, host: String, port: Int) {
            self.scheme = scheme
            self.host = host
            self.port = port
        }
    }

    /// Checks the form of `text` (no network).
    /// - Throws: ``Refusal`` naming what is wrong.
    public static func parse(_ text: String) throws(Refusal) -> Target {
        guard !text.isEmpty else { throw Refusal(reason: "the URL is empty") }
        guard text.utf8.count <= 2_048 else { throw Refusal(reason: "the URL is longer than 2048 characters") }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
            throw Refusal(reason: "'\(text.prefix(100))' is not a URL")
        }
        guard scheme == "http" || scheme == "https" else { throw Refusal(reason: "the URL's scheme is '\(scheme)': only http and https are allowed") }
        guard var host = components.host, !host.isEmpty else { throw Refusal(reason: "the URL names no host") }
        guard components.user == nil, components.password == nil else { throw Refusal(reason: "the URL carries credentials: use the signing secret instead") }
        guard components.fragment == nil else { throw Refusal(reason: "the URL has a fragment (#…), which is never sent to a server") }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if let port = components.port, !(1...65_535).contains(port) { throw Refusal(reason: "the URL's port \(port) is out of range") }
        return Target(scheme: scheme, host: host, port: components.port ?? (scheme == "https" ? 443 : 80))
    }

    /// Checks the form of `text` and where its host resolves.
    /// - Returns: the addresses the host resolves to.
    /// - Throws: ``Refusal`` when the form is wrong, the host does not resolve, or it resolves to
    ///   an address this policy refuses.
    @discardableResult
    public func check(_ text: String) async throws(Refusal) -> [String] {
        let target = try Self.parse(text)
        let addresses: [SocketAddress]
        do {
            addresses = try await NIOThreadPool.singleton.runIfActive { try Self.resolve(host: target.host, port: target.port) }
        } catch {
            throw Refusal(reason: "the host '\(target.host)' does not resolve (\(error))")
        }
        guard !addresses.isEmpty else { throw Refusal(reason: "the host '\(target.host)' does not resolve to any address") }
        if !allowPrivateAddresses {
            for address in addresses where !Self.isPublic(address) {
                throw Refusal(
                    reason: "the host '\(target.host)' resolves to \(address.ipAddress ?? "?"), a loopback, private or reserved address; "
                        + "set BANKSYNC_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES=true to allow it")
            }
        }
        return addresses.compactMap(\.ipAddress)
    }

    static func resolve(host: String, port: Int) throws -> [SocketAddress] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &result)
        guard status == 0, let first = result else {
            throw Refusal(reason: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(first) }
        var addresses: [SocketAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            if let sockaddr = info.pointee.ai_addr {
                switch info.pointee.ai_family {
                case AF_INET:
                    sockaddr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { addresses.append(SocketAddress($0.pointee, host: host)) }
                case AF_INET6:
                    sockaddr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { addresses.append(SocketAddress($0.pointee, host: host)) }
                default: break
                }
            }
            cursor = info.pointee.ai_next
        }
        return addresses
    }

    /// Whether `address` is a public unicast address.
    static func isPublic(_ address: SocketAddress) -> Bool {
        switch address {
        case .v4(let v4):
            return isPublicIPv4(UInt32(bigEndian: v4.address.sin_addr.s_addr))
        case .v6(let v6):
            var storage = v6.address.sin6_addr
            let bytes = withUnsafeBytes(of: &storage) { Array($0) }
            return isPublicIPv6(bytes)
        case .unixDomainSocket:
            return false
        }
    }

    /// `value` in host byte order.
    static func isPublicIPv4(_ value: UInt32) -> Bool {
        let refused: [(UInt32, Int)] = [
            (0x0000_0000, 8),  // "this" network
            (0x0A00_0000, 8),  // private
            (0x6440_0000, 10),  // carrier-grade NAT
            (0x7F00_0000, 8),  // loopback
            (0xA9FE_0000, 16),  // link-local (cloud metadata services live here)
            (0xAC10_0000, 12),  // private
            (0xC000_0000, 24),  // IETF protocol assignments
            (0xC000_0200, 24),  // documentation
            (0xC0A8_0000, 16),  // private
            (0xC612_0000, 15),  // benchmarking
            (0xC633_6400, 24),  // documentation
            (0xCB00_7100, 24),  // documentation
            (0xE000_0000, 4),  // multicast
            (0xF000_0000, 4),  // reserved, broadcast
        ]
        return !refused.contains { network, bits in value >> (32 - UInt32(bits)) == network >> (32 - UInt32(bits)) }
    }

    static func isPublicIPv6(_ bytes: [UInt8]) -> Bool {
        guard bytes.count == 16 else { return false }
        if bytes.allSatisfy({ $0 == 0 }) { return false }  // ::
        if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return false }  // ::1
        // IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d): judge the IPv4 address.
        let embedded = UInt32(bytes[12]) << 24 | UInt32(bytes[13]) << 16 | UInt32(bytes[14]) << 8 | UInt32(bytes[15])
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF { return isPublicIPv4(embedded) }
        if bytes[0..<12] == [0x00, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0][...] { return isPublicIPv4(embedded) }
        if bytes[0] & 0xFE == 0xFC { return false }  // unique local fc00::/7
        if bytes[0] == 0xFE && bytes[1] & 0xC0 == 0x80 { return false }  // link-local fe80::/10
        if bytes[0] == 0xFF { return false }  // multicast
        if bytes[0] == 0x20 && bytes[1] == 0x01 && bytes[2] == 0x0D && bytes[3] == 0xB8 { return false }  // documentation
        return true
    }
}
