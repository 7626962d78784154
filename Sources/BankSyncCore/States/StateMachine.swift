/// A closed set of states with an explicit list of allowed moves between them.
///
/// Staying in the same state is always allowed (it is a no-op, so retried writes are idempotent);
/// any other move not listed in ``allowedNext`` is a ``DomainError/invalidTransition(machine:from:to:)``.
public protocol StateMachine: RawRepresentable, CaseIterable, Hashable, Sendable where RawValue == String {
    /// A short name for error messages, e.g. `"connection status"`.
    static var machineName: String { get }
    /// The states this one may move to (excluding itself).
    var allowedNext: Set<Self> { get }
}

extension StateMachine {
    /// Whether moving from `self` to `next` is allowed.
    public func canTransition(to next: Self) -> Bool {
        next == self || allowedNext.contains(next)
    }

    /// Returns `next` if the move is allowed.
    /// - Throws: ``DomainError/invalidTransition(machine:from:to:)`` otherwise.
    public func transition(to next: Self) throws(DomainError) -> Self {
        guard canTransition(to: next) else {
            throw .invalidTransition(machine: Self.machineName, from: rawValue, to: next.rawValue)
        }
        return next
    }

    /// Parses a stored raw value.
    /// - Throws: ``DomainError/unknownValue(type:value:)`` naming the value.
    public static func parse(_ raw: String) throws(DomainError) -> Self {
        guard let value = Self(rawValue: raw) else { throw .unknownValue(type: machineName, value: raw) }
        return value
    }
}
