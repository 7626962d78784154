/// A typed identifier: an `Identifier<Account>` cannot be passed where an `Identifier<Connection>`
/// is expected. The raw value is an opaque string (a lower-case, time-ordered UUID — ``TimeOrderedID`` — for ids BankSync mints).
public struct Identifier<Entity>: Hashable, Sendable, Codable, CustomStringConvertible, RawRepresentable,
    ExpressibleByStringLiteral
{
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }

    /// A new identifier: unique, and ordered by creation time to the millisecond.
    public static func generate() -> Identifier { Identifier(TimeOrderedID.make()) }

    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
