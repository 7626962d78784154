import Synchronization

/// A level-triggered wake-up: ``signal()`` before ``wait(timeout:)`` is not lost, many signals
/// while nobody waits collapse into one. Waiting ends on a signal, the timeout, or cancellation.
final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.pending = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns when signalled (consuming the signal) or after `timeout`.
    func wait(timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForSignal() }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForSignal() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.pending || Task.isCancelled {
                        state.pending = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }
}

/// Fans wake-ups out to the workers of each queue in this process.
public final class JobNotifier: Sendable {
    private let subscribers = Mutex<[String: [WakeSignal]]>([:])

    public init() {}

    func subscribe(queue: String) -> WakeSignal {
        let signal = WakeSignal()
        subscribers.withLock { $0[queue, default: []].append(signal) }
        return signal
    }

    func unsubscribe(_ signal: WakeSignal, queue: String) {
        subscribers.withLock { $0[queue]?.removeAll { $0 === signal } }
    }

    /// Wakes this process's workers of `queue`.
    public func notify(queue: String) {
        for signal in subscribers.withLock({ $0[queue] ?? [] }) { signal.signal() }
    }
}
