/// An error in domain data: a value that cannot exist or a state change the model forbids.
public enum DomainError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The text is not a valid `YYYY-MM-DD` calendar date.
    case invalidDate(String)
    /// A state machine was asked to move along an edge it does not have.
    case invalidTransition(machine: String, from: String, to: String)
    /// A raw value is not one of an enumeration's cases.
    case unknownValue(type: String, value: String)
    /// A setting or input field has a value it cannot have; `message` says what was expected.
    case invalidField(field: String, message: String)

    public var description: String {
        switch self {
        case .invalidDate(let text):
            return "invalid date '\(text)': expected YYYY-MM-DD"
        case .invalidTransition(let machine, let from, let to):
            return "invalid \(machine) transition from '\(from)' to '\(to)'"
        case .unknownValue(let type, let value):
            return "unknown \(type) '\(value)'"
        case .invalidField(let field, let message):
            return "\(field): \(message)"
        }
    }
}
