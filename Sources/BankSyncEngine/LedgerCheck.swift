public import BankSyncCore
public import BankSyncStore
public import Foundation
public import Logging
import Metrics

/// Checks that an account's stored rows move the way the bank's balance moves.
///
/// `balance − Σ(stored posted rows)` is the part of the balance older than what was fetched.
/// While the rows are complete and correctly signed it never changes, whatever happens at the
/// bank; a missing row (a gap) or a row with the wrong sign changes it. The first check takes
/// it as the account's baseline; later checks compare. A mismatch is recorded on the account
/// (`ledger_issue`) and logged; a later check that matches again (the gap was back-filled)
/// clears it. Fetching older days than before re-takes the baseline.
///
/// The balance must be read in the same sync as the rows: a balance read before rows that
/// posted in between shows as a mismatch until the next sync.
public struct LedgerCheck: Sendable {
    let store: Store
    let logger: Logger

    public init(store: Store, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// The outcome for one account.
    public enum Outcome: Sendable, Equatable {
        case baseline
        case consistent
        case mismatch(differenceMinor: Int64)
        case noBalance
    }

    /// Checks every account of a connection; returns the outcome per account. The accounts are
    /// read one by one and their outcomes written together, in one session.
    @discardableResult
    public func run(connectionID: Identifier<Connection>, now: Date) async throws -> [Identifier<Account>: Outcome] {
        var outcomes: [Identifier<Account>: Outcome] = [:]
        var checks: [AccountRepository.LedgerCheckRecord] = []
        for account in try await store.accounts.list(connectionID: connectionID) {
            let (outcome, record) = try await check(account)
            outcomes[account.id] = outcome
            if let record { checks.append(record) }
        }
        try await store.accounts.recordLedgerChecks(checks, at: now)
        return outcomes
    }

    /// One account's outcome and what to record for it (nil without a balance).
    func check(_ account: Account) async throws -> (Outcome, AccountRepository.LedgerCheckRecord?) {
        guard let balance = try await store.accounts.balance(accountID: account.id), let state = try await store.accounts.ledgerState(account.id) else {
            return (.noBalance, nil)
        }
        let drift = balance.current.minorUnits - (try await store.accounts.postedSum(account.id))
        guard let baseline = state.baselineMinor else {
            return (.baseline, .init(accountID: account.id, baselineMinor: drift, issue: nil))
        }
        if drift == baseline {
            if state.issue != nil {
                logger.info("ledger check passes again", metadata: ["account_id": "\(account.id)"])
            }
            return (.consistent, .init(accountID: account.id, baselineMinor: nil, issue: nil))
        }
        let difference = drift - baseline
        let amount = Money(minorUnits: difference, currency: account.currency)
        let issue =
            "the stored rows do not add up to the bank's balance: \(amount) unaccounted for since the baseline "
            + "(rows missing from the fetched range, or rows with the wrong sign)"
        if state.issue != issue {
            logger.warning("ledger check failed", metadata: ["account_id": "\(account.id)", "difference_minor": "\(difference)"])
            Counter(label: "banksync_ledger_mismatches_total").increment()
        }
        return (.mismatch(differenceMinor: difference), .init(accountID: account.id, baselineMinor: nil, issue: issue))
    }
}
