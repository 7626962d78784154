/// Whether a transaction has settled.
///
/// `pending → posted` only. "processed" and "categorized" from the guide are pipeline flags
/// (``Transaction/processedAt``, ``Transaction/categorizedAt``), not states, because a posted
/// transaction is both posted and categorized at once.
public enum TransactionStatus: String, StateMachine, Codable {
    case pending
    case posted

    public static let machineName = "transaction status"

    public var allowedNext: Set<TransactionStatus> {
        switch self {
        case .pending: return [.posted]
        case .posted: return []
        }
    }
}
