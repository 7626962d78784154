import Foundation
import BankSyncCore
public import Logging

/// What a handler gets besides its payload.
public struct JobContext: Sendable {
    public let jobID: String
    public let name: String
    /// This attempt, 1-based.
    public let attempt: Int
    public let maxAttempts: Int
    let baseLogger: Logger

    init(jobID: String, name: String, attempt: Int, maxAttempts: Int, logger: Logger) {
        self.jobID = jobID
        self.name = name
        self.attempt = attempt
        self.maxAttempts = maxAttempts
        self.baseLogger = logger
    }

    /// A logger whose lines carry `job_id` and `job`. Built on use: most jobs never log, and
    /// attaching metadata up front was a measurable share of a no-op job's cost.
    public var logger: Logger {
        var logger = baseLogger
        logger[metadataKey: "job_id"] = "\(jobID)"
        logger[metadataKey: "job"] = "\(name)"
        return logger
    }
}

/// The handlers this process can run, by job name.
public struct JobRegistry: Sendable {
    struct Entry: Sendable {
        let options: JobOptions
        let payloadType: String
        /// Decodes the payload (throwing ``PayloadDecodingError``), runs the handler, encodes the result.
        let run: @Sendable (String, JobContext) async throws -> String?
    }

    private(set) var entries: [String: Entry] = [:]

    public init() {}

    /// Registers the handler for a definition. A second registration of a name replaces the first.
    public mutating func register<Payload, Output>(
        _ definition: JobDefinition<Payload, Output>,
        handler: @escaping @Sendable (Payload, JobContext) async throws -> Output
    ) {
        let decoder = CompactJSONDecoder()
        entries[definition.name] = Entry(options: definition.options, payloadType: "\(Payload.self)") { text, context in
            let payload: Payload
            do {
                payload = try decoder.decode(Payload.self, from: text)
            } catch {
                throw PayloadDecodingError(job: definition.name, type: "\(Payload.self)", reason: "\(error)")
            }
            let output = try await handler(payload, context)
            if Output.self == EmptyResult.self { return nil }
            return try CompactJSONEncoder().encodeToString(output)
        }
    }

    /// The names registered, sorted.
    public var names: [String] { entries.keys.sorted() }
}

/// The result of a job that returns nothing worth storing.
public struct EmptyResult: Codable, Sendable, Equatable {
    public init() {}
}

/// A stored payload that no longer decodes as the handler's type (the type changed).
struct PayloadDecodingError: Error, CustomStringConvertible {
    let job: String
    let type: String
    let reason: String
    var description: String { "payload of job '\(job)' does not decode as \(type): \(reason)" }
}
