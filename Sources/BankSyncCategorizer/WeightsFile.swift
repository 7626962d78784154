import Crypto
public import Foundation

/// The model on disk: `BSCM` magic and format version, a JSON header (labels, feature bits,
/// temperature, provenance), the class biases, then per bucket seen in training its number,
/// IDF, scale and one signed byte per category (weight = byte × scale), and a SHA-256 of
/// everything before it. Little-endian throughout. Loading checks every length, index and the
/// checksum, so a truncated or altered file fails start-up with its path and the reason
/// instead of categorizing with garbage.
public enum WeightsFile {
    static let magic: [UInt8] = Array("BSCM".utf8)
    static let version: UInt32 = 1

    struct Header: Codable {
        var labels: [String]
        var bits: Int
        var temperature: Double
        var info: CategoryModel.Info
        var buckets: Int
    }

    /// The file's bytes for `model`.
    public static func encode(_ model: CategoryModel) throws -> [UInt8] {
        var out = magic
        append(version, to: &out)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        let header = try encoder.encode(Header(
            labels: model.labels, bits: model.hasher.bits, temperature: model.temperature, info: model.info, buckets: model.buckets.count))
        append(UInt32(header.count), to: &out)
        out += header
        for value in model.bias { append(value.bitPattern, to: &out) }
        let classes = model.labels.count
        for (index, bucket) in model.buckets.enumerated() {
            append(UInt32(bucket), to: &out)
            append(model.idf[index].bitPattern, to: &out)
            let scale = model.scales[index]
            append(scale.bitPattern, to: &out)
            for c in 0..<classes { out.append(UInt8(bitPattern: model.steps[index * classes + c])) }
        }
        out += Array(SHA256.hash(data: out))
        return out
    }

    /// Writes `model` to `path` (replacing it atomically).
    public static func write(_ model: CategoryModel, to path: String) throws {
        try Data(try encode(model)).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// Reads a model.
    /// - Throws: ``CategorizerError/corruptWeights(path:reason:)`` naming what is wrong.
    public static func read(path: String) throws(CategorizerError) -> CategoryModel {
        let bytes: [UInt8]
        do { bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path))) } catch {
            throw .corruptWeights(path: path, reason: "it cannot be read (\(error.localizedDescription))")
        }
        return try decode(bytes, path: path)
    }

    /// Parses a model from `bytes`; `path` only names it in errors.
    public static func decode(_ bytes: [UInt8], path: String) throws(CategorizerError) -> CategoryModel {
        func fail(_ reason: String) -> CategorizerError { .corruptWeights(path: path, reason: reason) }
        guard bytes.count >= 4 + 4 + 4 + 32 else { throw fail("it is \(bytes.count) bytes, too short to be a weights file") }
        guard Array(bytes[0..<4]) == magic else { throw fail("it does not start with BSCM: not a BankSync weights file") }
        let body = bytes[0..<(bytes.count - 32)]
        guard Array(SHA256.hash(data: Array(body))) == Array(bytes[(bytes.count - 32)...]) else {
            throw fail("its checksum does not match: the file is truncated or altered")
        }
        var reader = Reader(bytes: Array(body), position: 4)
        guard let version = reader.uint32(), version == Self.version else { throw fail("format version \(reader.lastUInt32 ?? 0) is not \(Self.version)") }
        guard let headerLength = reader.uint32(), let headerBytes = reader.bytes(Int(headerLength)) else { throw fail("the header is cut off") }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let header: Header
        do { header = try decoder.decode(Header.self, from: Data(headerBytes)) } catch { throw fail("the header is not valid: \(error)") }
        guard (10...24).contains(header.bits) else { throw fail("feature bits \(header.bits) are outside 10…24") }
        guard header.labels.count >= 2, header.labels.count <= Int(UInt16.max), Set(header.labels).count == header.labels.count else {
            throw fail("it has \(header.labels.count) categories (need at least two, no repeats)")
        }
        guard header.temperature.isFinite, header.temperature > 0 else { throw fail("temperature \(header.temperature) is not positive") }
        let buckets = 1 << header.bits
        var bias: [Float] = []
        for _ in header.labels {
            guard let bits = reader.uint32() else { throw fail("the biases are cut off") }
            bias.append(Float(bitPattern: bits))
        }
        let classes = header.labels.count
        var known: [Int32] = []
        var idf: [Float] = []
        var scales: [Float] = []
        var steps: [Int8] = []
        steps.reserveCapacity(header.buckets * classes)
        var previous = -1
        for _ in 0..<header.buckets {
            guard let bucket = reader.uint32(), let idfBits = reader.uint32(), let scaleBits = reader.uint32(), let row = reader.bytes(classes) else {
                throw fail("the weights are cut off")
            }
            guard Int(bucket) < buckets, Int(bucket) > previous else { throw fail("bucket \(bucket) is out of range or out of order") }
            let weight = Float(bitPattern: idfBits)
            let scale = Float(bitPattern: scaleBits)
            guard weight.isFinite, weight > 0, scale.isFinite, scale >= 0 else { throw fail("bucket \(bucket) has an IDF of \(weight) and a scale of \(scale)") }
            previous = Int(bucket)
            known.append(Int32(bucket))
            idf.append(weight)
            scales.append(scale)
            for byte in row {
                guard byte != 0x80 else { throw fail("bucket \(bucket) has a weight step of -128 (steps are -127…127)") }
                steps.append(Int8(bitPattern: byte))
            }
        }
        guard reader.position == reader.bytes.count else { throw fail("\(reader.bytes.count - reader.position) unexpected bytes after the weights") }
        return CategoryModel(
            labels: header.labels, hasher: FeatureHasher(bits: header.bits), temperature: header.temperature, info: header.info, bias: bias,
            buckets: known, idf: idf, scales: scales, steps: steps)
    }

    static func append<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
    }

    struct Reader {
        let bytes: [UInt8]
        var position: Int
        var lastUInt32: UInt32?

        mutating func bytes(_ count: Int) -> [UInt8]? {
            guard count >= 0, position + count <= bytes.count else { return nil }
            defer { position += count }
            return Array(bytes[position..<position + count])
        }

        mutating func uint32() -> UInt32? {
            guard position + 4 <= bytes.count else { return nil }
            var value: UInt32 = 0
            for offset in 0..<4 { value |= UInt32(bytes[position + offset]) << (8 * offset) }
            position += 4
            lastUInt32 = value
            return value
        }

        mutating func uint16() -> UInt16? {
            guard position + 2 <= bytes.count else { return nil }
            defer { position += 2 }
            return UInt16(bytes[position]) | UInt16(bytes[position + 1]) << 8
        }
    }
}
