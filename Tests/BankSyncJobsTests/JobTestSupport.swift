import BankSyncJobs
import BankSyncStore
import BankSyncTesting
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

struct TimedOut: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes.
func eventually(_ what: String, timeout: Duration = .seconds(20), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw TimedOut(what: what)
}

/// A thread-safe counter/recorder for handlers.
final class Recorder: Sendable {
    private let state = Mutex<[String: Int]>([:])
    @discardableResult
    func bump(_ key: String, by delta: Int = 1) -> Int { state.withLock { $0[key, default: 0] += delta; return $0[key]! } }
    func value(_ key: String) -> Int { state.withLock { $0[key, default: 0] } }
    var all: [String: Int] { state.withLock { $0 } }
}

/// A settable clock for scheduler tests.
final class TestClock: Sendable {
    private let current: Mutex<Date>
    init(_ date: Date) { current = Mutex(date) }
    var now: Date { current.withLock { $0 } }
    func set(_ date: Date) { current.withLock { $0 = date } }
}

struct Ping: Codable, Sendable, Equatable {
    var n: Int
}

struct Echo: Codable, Sendable, Equatable {
    var doubled: Int
}

/// Fast settings so tests do not wait on production intervals.
func fastWorker(
    _ queue: JobQueue, _ registry: JobRegistry, name: String = "default", concurrency: Int = 4,
    shutdownDeadline: Duration = .seconds(2), cancellationGrace: Duration = .seconds(5)
) -> JobWorker {
    JobWorker(
        queue: queue, registry: registry,
        configuration: .init(
            queue: name, concurrency: concurrency, leaseDuration: .seconds(5), pollInterval: .milliseconds(50),
            shutdownDeadline: shutdownDeadline, cancellationGrace: cancellationGrace),
        logger: testLogger())
}

func fastBackoff() -> Backoff { .exponential(base: .milliseconds(10), cap: .milliseconds(40), jitter: 0) }
