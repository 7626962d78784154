/// The health of a link to a bank, as the user and the scheduler see it.
///
/// ```
/// connected ⇄ syncing ─► requires_reauth ─► connected (after the user re-links)
///     │           │    ─► pending_refresh ─► connected / syncing
///     │           └──► error ⇄ syncing          (errorCount counts consecutive failures)
///     └─► expired (consent ran out) ─► connected (renewed)
///  any live state ─► revoked (user/bank withdrew consent) / disconnected (terminal)
/// ```
public enum ConnectionStatus: String, StateMachine, Codable {
    case connected
    case syncing
    case requiresReauth = "requires_reauth"
    case pendingRefresh = "pending_refresh"
    case disconnected
    case revoked
    case expired
    case error

    public static let machineName = "connection status"

    public var allowedNext: Set<ConnectionStatus> {
        switch self {
        case .connected:
            return [.syncing, .requiresReauth, .pendingRefresh, .error, .expired, .revoked, .disconnected]
        case .syncing:
            return [.connected, .requiresReauth, .pendingRefresh, .error, .expired, .revoked, .disconnected]
        case .pendingRefresh:
            return [.connected, .syncing, .requiresReauth, .error, .expired, .revoked, .disconnected]
        case .error:
            return [.connected, .syncing, .requiresReauth, .pendingRefresh, .expired, .revoked, .disconnected]
        case .requiresReauth:
            return [.connected, .expired, .revoked, .disconnected]
        case .expired:
            return [.connected, .revoked, .disconnected]
        case .revoked:
            return [.connected, .disconnected]
        case .disconnected:
            return []
        }
    }

    /// Whether the scheduler may start a sync for a connection in this state.
    public var isSyncable: Bool {
        switch self {
        case .connected, .pendingRefresh, .error: return true
        case .syncing, .requiresReauth, .disconnected, .revoked, .expired: return false
        }
    }
}
