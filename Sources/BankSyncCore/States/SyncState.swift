/// Where the most recent sync of a connection (or a ``SyncRun``) stands.
///
/// `idle → in_progress → completed | failed → in_progress …`. A run never goes from
/// `completed` straight to `failed`: a new attempt passes through `in_progress`.
public enum SyncState: String, StateMachine, Codable {
    case idle
    case inProgress = "in_progress"
    case completed
    case failed

    public static let machineName = "sync state"

    public var allowedNext: Set<SyncState> {
        switch self {
        case .idle: return [.inProgress]
        case .inProgress: return [.completed, .failed]
        case .completed: return [.inProgress, .idle]
        case .failed: return [.inProgress, .idle]
        }
    }

    /// Whether the state ends a run.
    public var isTerminal: Bool { self == .completed || self == .failed }
}
