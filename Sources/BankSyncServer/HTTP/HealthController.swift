public import BankSyncStore
public import Hummingbird
import Logging

/// `/health/live` and `/health/ready`, for process supervisors and load balancers.
///
/// Liveness says only that the process answers. Readiness says it can do its work: the database
/// answers and its schema is exactly the version this binary knows (a database migrated by a
/// newer binary, or not yet migrated, is not ready).
public struct HealthController: Sendable {
    let database: Database
    let migrator: Migrator

    public init(database: Database, migrator: Migrator) {
        self.database = database
        self.migrator = migrator
    }

    /// The JSON body of both endpoints.
    public struct Status: ResponseCodable, Equatable {
        public var status: String
        public var database: String?
        public var schemaVersion: Int?
        public var supportedSchemaVersion: Int?
        public var reason: String?

        enum CodingKeys: String, CodingKey {
            case status, database, reason
            case schemaVersion = "schema_version"
            case supportedSchemaVersion = "supported_schema_version"
        }
    }

    public func addRoutes(to router: Router<some RequestContext>) {
        router.get("/health/live") { _, _ in Status(status: "ok") }
        router.get("/health/ready") { _, context in
            await ready(logger: context.logger)
        }
    }

    func ready(logger: Logger) async -> EditedResponse<Status> {
        var body = Status(status: "ready", database: database.engine.rawValue, supportedSchemaVersion: Migrator.latestVersion)
        do {
            try await database.ping()
            body.schemaVersion = try await migrator.currentVersion()
            try await migrator.ensureCompatible()
            return EditedResponse(status: .ok, response: body)
        } catch {
            body.status = "not_ready"
            body.reason = (error as? StoreError)?.message ?? "\(error)"
            logger.warning("readiness check failed", metadata: ["reason": "\(body.reason ?? "")"])
            return EditedResponse(status: .serviceUnavailable, response: body)
        }
    }
}

extension HealthController.Status {
    init(status: String, database: String? = nil, supportedSchemaVersion: Int? = nil) {
        self.status = status
        self.database = database
        self.supportedSchemaVersion = supportedSchemaVersion
    }
}
