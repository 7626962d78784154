import BankSyncJobs
import BankSyncStore
import BankSyncTesting
import Foundation
import Synchronization
import Testing

@Suite("Graceful shutdown")
struct ShutdownTests {
    @Test("shutdown lets a short job finish, and gives a long one back without counting the attempt", arguments: TestEngine.available)
    func drainThenRelease(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let queue = JobQueue(database: store.database, logger: testLogger())
            let definition = JobDefinition<Ping, EmptyResult>(name: "sleepy", options: .init(maxAttempts: 1))
            let started = Recorder()
            var registry = JobRegistry()
            registry.register(definition) { ping, _ in
                started.bump("started")
                try await Task.sleep(for: .milliseconds(ping.n))
                return EmptyResult()
            }
            let short = try await queue.enqueue(definition, Ping(n: 300))
            let long = try await queue.enqueue(definition, Ping(n: 60_000))
            let worker = fastWorker(queue, registry, shutdownDeadline: .seconds(1))
            let clock = ContinuousClock()
            let begin = clock.now
            try await withServices([worker]) {
                try await eventually("both started") { started.value("started") == 2 }
            }
            #expect(clock.now - begin < .seconds(10))
            let shortStatus = try #require(try await queue.status(id: short.id, token: short.accessToken!))
            let longStatus = try #require(try await queue.status(id: long.id, token: long.accessToken!))
            #expect(shortStatus.state == .completed)
            #expect(longStatus.state == .available)
            #expect(longStatus.attempt == 0)
            #expect(longStatus.errors.isEmpty)
        }
    }
}

/// A handler's wait that ignores cancellation, until ``open()``.
final class StubbornGate: Sendable {
    private let state = Mutex<(waiting: Bool, opened: Bool, continuation: CheckedContinuation<Void, Never>?)>((false, false, nil))

    var isWaiting: Bool { state.withLock { $0.waiting } }

    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { state -> Bool in
                state.waiting = true
                if state.opened { return true }
                state.continuation = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    func open() {
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.opened = true
            defer { state.continuation = nil }
            return state.continuation
        }
        continuation?.resume()
    }
}

@Suite("Shutdown with a stubborn handler")
struct StubbornShutdownTests {
    @Test("a handler that ignores cancellation holds shutdown only for the grace; its job stays leased for rescue", arguments: TestEngine.available)
    func stubbornHandler(engine: TestEngine) async throws {
        try await withTestStore(engine) { store, _ in
            let queue = JobQueue(database: store.database, logger: testLogger())
            let definition = JobDefinition<Ping, EmptyResult>(name: "stubborn", options: .init(maxAttempts: 1))
            let gate = StubbornGate()
            var registry = JobRegistry()
            registry.register(definition) { _, _ in
                await gate.wait()
                return EmptyResult()
            }
            let job = try await queue.enqueue(definition, Ping(n: 1))
            let worker = fastWorker(queue, registry, concurrency: 2, shutdownDeadline: .milliseconds(200), cancellationGrace: .milliseconds(300))
            let clock = ContinuousClock()
            let begin = clock.now
            try await withServices([worker]) {
                try await eventually("the handler waiting") { gate.isWaiting }
            }
            #expect(clock.now - begin < .seconds(10))
            let status = try #require(try await queue.status(id: job.id, token: job.accessToken!))
            #expect(status.state == .running)
            #expect(status.attempt == 1)
            gate.open()
        }
    }
}
