import BankSyncJobs
import BankSyncStore
import BankSyncTesting
import Foundation
import Metrics
import MetricsTestKit
import Testing

/// One metrics backend for the whole test process (swift-metrics bootstraps once). Tests read
/// only the series of job names they made up, so parallel tests do not disturb each other.
let testMetrics: TestMetrics = {
    let metrics = TestMetrics()
    MetricsSystem.bootstrap(metrics)
    return metrics
}()

@Suite("Job metrics")
struct MetricsTests {
    @Test("enqueued, started, completed, failed and retried are counted per job name, with durations and start latency")
    func counted() async throws {
        let metrics = testMetrics
        try await withTestStore(.sqlite) { store, _ in
            let queue = JobQueue(database: store.database, logger: testLogger())
            let name = "metrics-\(UUID().uuidString.prefix(8))"
            let flaky = JobDefinition<Ping, EmptyResult>(name: name, options: .init(maxAttempts: 3, backoff: fastBackoff()))
            let calls = Recorder()
            var registry = JobRegistry()
            registry.register(flaky) { _, _ in
                if calls.bump("calls") == 1 { throw TestFailure(message: "first attempt fails") }
                return EmptyResult()
            }
            let job = try await queue.enqueue(flaky, Ping(n: 1))
            try await withServices([fastWorker(queue, registry)]) {
                try await eventually("completion") { try await queue.status(id: job.id, token: job.accessToken!)?.state == .completed }
            }
            let dims = [("job", name)]
            #expect(metrics.counterTotal(label: "banksync_jobs_enqueued_total", dimensions: dims) == 1)
            #expect(metrics.counterTotal(label: "banksync_jobs_started_total", dimensions: dims) == 2)
            #expect(metrics.counterTotal(label: "banksync_jobs_failed_total", dimensions: dims) == 1)
            #expect(metrics.counterTotal(label: "banksync_jobs_retried_total", dimensions: dims) == 1)
            #expect(metrics.counterTotal(label: "banksync_jobs_completed_total", dimensions: dims) == 1)
            let duration = try metrics.expectTimer("banksync_job_duration_seconds", [("job", name), ("outcome", "completed")])
            #expect(duration.values.count == 1)
            let latency = try metrics.expectTimer("banksync_job_start_latency_seconds", [("queue", "default")])
            #expect(!latency.values.isEmpty)

            try await JobMaintenance(queue: queue, logger: testLogger()).publishDepth()
        }
    }
}
