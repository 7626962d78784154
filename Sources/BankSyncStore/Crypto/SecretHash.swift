import Crypto
import Foundation

/// Lower-case hex SHA-256 of a high-entropy secret (API keys, job access tokens), as stored
/// in place of the secret. A fast hash suffices: the secrets are 256-bit random.
public func secretHash(_ secret: String) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var hex = [UInt8]()
    hex.reserveCapacity(64)
    for byte in SHA256.hash(data: Data(secret.utf8)) {
        hex.append(digits[Int(byte >> 4)])
        hex.append(digits[Int(byte & 0x0f)])
    }
    return String(decoding: hex, as: UTF8.self)
}
