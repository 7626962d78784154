import BankSyncCore
import Crypto
import Foundation

/// Lower-case hex SHA-256 of a high-entropy secret (API keys, job access tokens), as stored
/// in place of the secret. A fast hash suffices: the secrets are 256-bit random.
public func secretHash(_ secret: String) -> String {
    var secret = secret
    let digest = secret.withUTF8 { SHA256.hash(data: UnsafeRawBufferPointer($0)) }
    // Written straight into the string's storage: this runs once per enqueued job.
    return String(unsafeUninitializedCapacity: 64) { output in
        digest.withUnsafeBytes { bytes in
            for (index, byte) in bytes.enumerated() {
                output[2 * index] = ASCIIHex.digit(byte >> 4)
                output[2 * index + 1] = ASCIIHex.digit(byte & 0x0f)
            }
        }
        return 64
    }
}
