import BankSyncJobs
import BankSyncStore
import BankSyncTesting
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Runs `services` in a ServiceGroup for the duration of `body`, then shuts them down gracefully.
func withServices<T: Sendable>(_ services: [any Service], _ body: () async throws -> T) async throws -> T {
    let group = ServiceGroup(
        configuration: .init(services: services.map { .init(service: $0) }, gracefulShutdownSignals: [], logger: testLogger()))
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        do {
            let result = try await body()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        } catch {
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
    }
}

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
func fastWorker(_ queue: JobQueue, _ registry: JobRegistry, name: String = "default", concurrency: Int = 4) -> JobWorker {
    JobWorker(
        queue: queue, registry: registry,
        configuration: .init(queue: name, concurrency: concurrency, leaseDuration: .seconds(5), pollInterval: .milliseconds(50), shutdownDeadline: .seconds(2)),
        logger: testLogger())
}

func fastBackoff() -> Backoff { .exponential(base: .milliseconds(10), cap: .milliseconds(40), jitter: 0) }
