import BankSyncAPI
import BankSyncCore
import BankSyncJobs
import Foundation

/// Domain values as the API's schemas, and back.
extension APIHandler {
    static func provider(_ value: Components.Schemas.Provider) -> Provider {
        switch value {
        case .plaid: .plaid
        case .teller: .teller
        case .gocardless: .gocardless
        }
    }

    static func handle(_ job: EnqueuedJob) -> Components.Schemas.JobHandle {
        .init(id: job.id, publicAccessToken: job.accessToken ?? "")
    }

    static func user(_ user: User) -> Components.Schemas.User {
        .init(id: user.id.rawValue, externalId: user.externalID, email: user.email, createdAt: user.createdAt, lastActiveAt: user.lastActiveAt)
    }

    static func connection(_ c: Connection) -> Components.Schemas.Connection {
        .init(
            id: c.id.rawValue, userId: c.userID.rawValue, provider: .init(rawValue: c.provider.rawValue) ?? .plaid, institutionId: c.institutionID,
            institutionName: c.institutionName, status: c.status.rawValue, syncState: c.syncState.rawValue, errorCode: c.errorCode, errorCount: c.errorCount,
            lastSyncedAt: c.lastSyncedAt, nextSyncAt: c.nextSyncAt, consentExpiresAt: c.consentExpiresAt, scheduleNote: c.scheduleNote, createdAt: c.createdAt)
    }

    static func account(_ a: Account, balance: Balance?) -> Components.Schemas.Account {
        .init(
            id: a.id.rawValue, connectionId: a.connectionID.rawValue, userId: a.userID.rawValue, name: a.name, officialName: a.officialName, mask: a.mask,
            _type: a.type.rawValue, subtype: a.subtype, status: a.status.rawValue, currency: a.currency.code,
            balance: balance.map {
                .init(
                    current: $0.current.decimalString, available: $0.available?.decimalString, limit: $0.limit?.decimalString, currency: $0.current.currency.code,
                    asOf: $0.asOf)
            })
    }

    static func transaction(_ t: Transaction) -> Components.Schemas.Transaction {
        .init(
            id: t.id.rawValue, accountId: t.accountID.rawValue, userId: t.userID.rawValue, status: t.status == .pending ? .pending : .posted,
            amount: t.amount.decimalString, currency: t.amount.currency.code, date: t.date.description, authorizedDate: t.authorizedDate?.description,
            description: t.description, merchantName: t.merchantName, counterparty: t.counterparty,
            category: t.category.map { .init(code: $0.category, confidence: $0.confidence, source: $0.source.rawValue, note: t.categoryNote) },
            providerCategory: t.providerCategory, pendingTransactionId: t.pendingTransactionID, removedAt: t.removedAt, createdAt: t.createdAt)
    }

    static func rule(_ rule: CategoryRule) -> Components.Schemas.Rule {
        .init(
            id: rule.id.rawValue, name: rule.name, userId: rule.userID?.rawValue, priority: rule.priority,
            conditions: rule.conditions.map { condition in
                switch condition {
                case .text(let field, let match, let value):
                    return .init(kind: .text, field: .init(rawValue: field.rawValue), match: .init(rawValue: match.rawValue), value: value)
                case .amount(let low, let high):
                    let usd = try! Currency(code: "USD")
                    return .init(
                        kind: .amount, min: low.map { Money(minorUnits: $0, currency: usd).decimalString },
                        max: high.map { Money(minorUnits: $0, currency: usd).decimalString })
                case .direction(let direction):
                    return .init(kind: .direction, direction: .init(rawValue: direction.rawValue))
                case .account(let id):
                    return .init(kind: .account, accountId: id.rawValue)
                }
            }, category: rule.category, enabled: rule.enabled, createdAt: rule.createdAt, updatedAt: rule.updatedAt)
    }

    static func notification(_ event: Event) throws -> Components.Schemas.Notification {
        .init(
            id: event.id.rawValue, _type: event.type, connectionId: event.connectionID?.rawValue,
            payload: try JSONDecoder().decode(Components.Schemas.Notification.PayloadPayload.self, from: Data(event.payload.serialized())),
            createdAt: event.createdAt, readAt: event.readAt)
    }

    static func endpoint(_ e: WebhookEndpoint) -> Components.Schemas.WebhookEndpoint {
        .init(
            id: e.id.rawValue, url: e.url, description: e.description, eventTypes: e.eventTypes, enabled: e.disabledAt == nil, createdAt: e.createdAt,
            updatedAt: e.updatedAt, failingSince: e.failingSince, lastSuccessAt: e.lastSuccessAt, disabledAt: e.disabledAt, disabledReason: e.disabledReason)
    }

    static func delivery(_ d: WebhookDelivery, attempts: [WebhookAttempt]?) -> Components.Schemas.WebhookDelivery {
        .init(
            id: d.id.rawValue, endpointId: d.endpointID.rawValue, eventId: d.eventID.rawValue, eventType: d.eventType,
            state: .init(rawValue: d.state.rawValue) ?? .pending, attempts: d.attempts, lastStatus: d.lastStatus, lastOutcome: d.lastOutcome,
            replayOf: d.replayOf?.rawValue, createdAt: d.createdAt, finishedAt: d.finishedAt,
            attemptLog: attempts?.map {
                .init(
                    attempt: $0.attempt, startedAt: $0.startedAt, durationMs: $0.durationMilliseconds, statusCode: $0.statusCode, outcome: $0.outcome,
                    error: $0.error, responseExcerpt: $0.responseExcerpt)
            })
    }

    /// The queue's states as the guide's UI hook expects them.
    static func job(_ status: JobStatus) throws -> Components.Schemas.JobStatus {
        let state: Components.Schemas.JobStatus.StatePayload =
            switch status.state {
            case .available, .retryable: .pending
            case .running: .running
            case .completed: .completed
            case .discarded, .cancelled: .failed
            }
        let detail: String = status.state == .available && status.scheduledAt > Date() ? "scheduled" : status.state.rawValue
        var result: Components.Schemas.JobStatus.ResultPayload?
        if let text = status.result, let data = text.data(using: .utf8) {
            result = try? JSONDecoder().decode(Components.Schemas.JobStatus.ResultPayload.self, from: data)
        }
        return .init(
            id: status.id, name: status.name, state: state, detailState: detail, attempts: status.attempt, createdAt: status.createdAt,
            startedAt: status.attemptedAt, finishedAt: status.finalizedAt, progress: state == .completed ? 100 : (state == .running ? 50 : 0), result: result,
            error: status.lastError?.message)
    }

    static func convert(_ p: Components.Schemas.NotificationPreferences) throws -> NotificationPreferences {
        var preferences = NotificationPreferences(
            balanceChangePercent: p.balanceChangePercent, balanceChangeMinimum: p.balanceChangeMinimum.map(Int64.init),
            balanceChangeAbsolute: p.balanceChangeAbsolute.map(Int64.init), largeTransactionAmount: p.largeTransactionAmount.map(Int64.init),
            largeTransactionMultiple: p.largeTransactionMultiple, largeTransactionPercentile: p.largeTransactionPercentile,
            largeTransactionHistoryDays: p.largeTransactionHistoryDays, largeTransactionMinimumHistory: p.largeTransactionMinimumHistory,
            largeTransactionRecentDays: p.largeTransactionRecentDays, muted: p.muted)
        preferences.syncCompleted = p.syncCompleted.flatMap { SyncCompletedMode(rawValue: $0.rawValue) }
        try preferences.validate()
        return preferences
    }

    static func convert(_ p: NotificationPreferences) throws -> Components.Schemas.NotificationPreferences {
        .init(
            balanceChangePercent: p.balanceChangePercent, balanceChangeMinimum: p.balanceChangeMinimum.map { Int($0) },
            balanceChangeAbsolute: p.balanceChangeAbsolute.map { Int($0) }, largeTransactionAmount: p.largeTransactionAmount.map { Int($0) },
            largeTransactionMultiple: p.largeTransactionMultiple, largeTransactionPercentile: p.largeTransactionPercentile,
            largeTransactionHistoryDays: p.largeTransactionHistoryDays, largeTransactionMinimumHistory: p.largeTransactionMinimumHistory,
            largeTransactionRecentDays: p.largeTransactionRecentDays, syncCompleted: p.syncCompleted.flatMap { .init(rawValue: $0.rawValue) }, muted: p.muted)
    }
}
