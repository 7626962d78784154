import BankSyncJobs
import BankSyncStore
import BankSyncTesting
import Foundation
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
            let worker = JobWorker(
                queue: queue, registry: registry,
                configuration: .init(concurrency: 4, leaseDuration: .seconds(5), pollInterval: .milliseconds(50), shutdownDeadline: .seconds(1)),
                logger: testLogger())
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
