/// Jobs that exercise the queue itself, so an operator can check that workers run
/// (`banksync jobs ping`) and tests can drive real worker processes.
public enum Diagnostics {
    /// Sleeps for the given time, then completes with what it was given.
    public struct Sleep: Codable, Sendable, Equatable {
        public var milliseconds: Int
        public var note: String?

        public init(milliseconds: Int, note: String? = nil) {
            self.milliseconds = milliseconds
            self.note = note
        }
    }

    /// `diagnostics.sleep` on the `default` queue, three attempts, ten-minute timeout.
    public static let sleep = JobDefinition<Sleep, Sleep>(
        name: "diagnostics.sleep", options: JobOptions(maxAttempts: 3, timeout: .seconds(600)))

    /// Registers the diagnostics handlers.
    public static func register(in registry: inout JobRegistry) {
        registry.register(sleep) { payload, _ in
            try await Task.sleep(for: .milliseconds(payload.milliseconds))
            return payload
        }
    }
}
