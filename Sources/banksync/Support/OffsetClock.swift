import Foundation
import Synchronization

/// The engine's clock kept on a sandbox's: real time plus an offset, moved when the sandbox's
/// clock is advanced (so a demo or a benchmark can jump days ahead while time still flows).
final class OffsetClock: Sendable {
    private let offset: Mutex<TimeInterval>
    init(offset: TimeInterval) { self.offset = Mutex(offset) }
    func set(offset: TimeInterval) { self.offset.withLock { $0 = offset } }
    var now: @Sendable () -> Date { { [self] in Date().addingTimeInterval(offset.withLock { $0 }) } }
}
