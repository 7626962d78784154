/// The lifecycle of a bank account as the provider reports it.
///
/// `closed` is terminal: a bank that reopens an account reports a new one.
public enum AccountStatus: String, StateMachine, Codable {
    case active
    case inactive
    case closed
    case pendingVerification = "pending_verification"

    public static let machineName = "account status"

    public var allowedNext: Set<AccountStatus> {
        switch self {
        case .active: return [.inactive, .closed]
        case .inactive: return [.active, .closed]
        case .pendingVerification: return [.active, .inactive, .closed]
        case .closed: return []
        }
    }
}
