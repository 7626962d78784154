import BankSyncCore
import Foundation
import Testing

@Suite("State machines")
struct StateMachineTests {
    let now = Date(timeIntervalSince1970: 1_780_000_000)

    @Test("a connection moves through its allowed states")
    func connectionHappyPath() throws {
        var connection = Connection(userID: "u1", provider: .plaid, providerConnectionID: "item", createdAt: now)
        try connection.setStatus(.syncing)
        try connection.setSyncState(.inProgress)
        try connection.setStatus(.requiresReauth)
        try connection.setSyncState(.failed)
        try connection.setStatus(.connected)
        try connection.setStatus(.connected)  // idempotent
        #expect(connection.status == .connected)
        #expect(connection.syncState == .failed)
    }

    @Test(
        "forbidden connection transitions are errors and leave the state unchanged",
        arguments: [
            (ConnectionStatus.disconnected, ConnectionStatus.connected), (.disconnected, .syncing),
            (.requiresReauth, .syncing), (.expired, .syncing), (.revoked, .syncing), (.requiresReauth, .error),
        ])
    func connectionForbidden(from: ConnectionStatus, to: ConnectionStatus) throws {
        var connection = Connection(
            userID: "u1", provider: .teller, providerConnectionID: "enr", status: from, createdAt: now)
        #expect(throws: DomainError.invalidTransition(machine: "connection status", from: from.rawValue, to: to.rawValue)) {
            try connection.setStatus(to)
        }
        #expect(connection.status == from)
    }

    @Test("sync state: completed cannot jump to failed, a new run passes through in_progress")
    func syncState() throws {
        #expect(throws: DomainError.self) { try SyncState.completed.transition(to: .failed) }
        #expect(throws: DomainError.self) { try SyncState.idle.transition(to: .completed) }
        #expect(try SyncState.completed.transition(to: .inProgress) == .inProgress)
    }

    @Test("closed accounts stay closed; pending verification can activate")
    func accountStatus() throws {
        var account = Account(
            connectionID: "c", userID: "u", providerAccountID: "a", name: "Checking", type: .depository,
            status: .pendingVerification, currency: try Currency(code: "USD"), createdAt: now)
        try account.setStatus(.active)
        try account.setStatus(.closed)
        #expect(throws: DomainError.self) { try account.setStatus(.active) }
        #expect(account.status == .closed)
    }

    @Test("transactions go pending to posted, never back")
    func transactionStatus() throws {
        var transaction = Transaction(
            accountID: "a", userID: "u", providerTransactionID: "t", status: .pending,
            amount: try Money(parsing: "-1.00", currencyCode: "USD"), date: try CalendarDate(parsing: "2026-01-05"),
            description: "X", createdAt: now)
        try transaction.setStatus(.posted)
        #expect(throws: DomainError.self) { try transaction.setStatus(.pending) }
        #expect(transaction.status == .posted)
    }

    @Test("a sync run finishes once")
    func syncRunFinishesOnce() throws {
        var run = SyncRun(connectionID: "c", kind: .transactions, startedAt: now)
        try run.finish(.completed, at: now.addingTimeInterval(3))
        #expect(run.finishedAt == now.addingTimeInterval(3))
        #expect(throws: DomainError.self) { try run.finish(.failed, at: now, errorCode: "X") }
        var other = SyncRun(connectionID: "c", kind: .transactions, startedAt: now)
        #expect(throws: DomainError.self) { try other.finish(.inProgress, at: now) }
    }

    @Test("every state of every machine parses from its stored raw value; unknown values are errors")
    func parsing() throws {
        for status in ConnectionStatus.allCases { #expect(try ConnectionStatus.parse(status.rawValue) == status) }
        #expect(try ConnectionStatus.parse("requires_reauth") == .requiresReauth)
        #expect(throws: DomainError.unknownValue(type: "connection status", value: "zombie")) {
            try ConnectionStatus.parse("zombie")
        }
    }

    @Test("only healthy or retryable connections are syncable")
    func syncable() {
        #expect(ConnectionStatus.connected.isSyncable)
        #expect(ConnectionStatus.error.isSyncable)
        #expect(!ConnectionStatus.requiresReauth.isSyncable)
        #expect(!ConnectionStatus.disconnected.isSyncable)
    }
}
