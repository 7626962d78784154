import Foundation

/// The synthetic banks: who the users are, what accounts they hold, and what happens in them
/// each day. Everything is drawn from seeded streams named after the connection and the day.
extension SandboxWorld {
    static let catalogue: [SandboxInstitution] = [
        // Plaid's documented sandbox institutions.
        SandboxInstitution(id: "ins_109508", name: "First Platypus Bank", provider: .plaid, country: "US", currency: "USD", bic: nil),
        SandboxInstitution(id: "ins_109509", name: "First Gingham Credit Union", provider: .plaid, country: "US", currency: "USD", bic: nil),
        SandboxInstitution(id: "ins_109510", name: "Tattersall Federal Credit Union", provider: .plaid, country: "US", currency: "USD", bic: nil),
        SandboxInstitution(id: "ins_109511", name: "Tartan Bank", provider: .plaid, country: "US", currency: "USD", bic: nil),
        SandboxInstitution(id: "ins_109512", name: "Houndstooth Bank", provider: .plaid, country: "US", currency: "USD", bic: nil),
        SandboxInstitution(id: "chase", name: "Chase", provider: .teller, country: "US", currency: "USD", bic: nil),
        SandboxInstitution(id: "wells_fargo", name: "Wells Fargo", provider: .teller, country: "US", currency: "USD", bic: nil),
        SandboxInstitution(id: "security_cu", name: "Security Credit Union", provider: .teller, country: "US", currency: "USD", bic: nil),
        SandboxInstitution(id: "SANDBOXFINANCE_SFIN0000", name: "Sandbox Finance", provider: .gocardless, country: "GB", currency: "EUR", bic: "SFIN0000"),
        SandboxInstitution(id: "REVOLUT_REVOGB21", name: "Revolut", provider: .gocardless, country: "GB", currency: "GBP", bic: "REVOGB21"),
        SandboxInstitution(id: "N26_NTSBDEB1", name: "N26 Bank", provider: .gocardless, country: "DE", currency: "EUR", bic: "NTSBDEB1"),
        SandboxInstitution(id: "ING_INGBNL2A", name: "ING", provider: .gocardless, country: "NL", currency: "EUR", bic: "INGBNL2A"),
        SandboxInstitution(id: "SEB_ESSESESS", name: "SEB", provider: .gocardless, country: "SE", currency: "SEK", bic: "ESSESESS"),
    ]

    func institution(_ id: String, provider: SandboxProvider) -> SandboxInstitution? {
        institutions.first { $0.id == id && $0.provider == provider }
    }

    private static let plaidIDAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    private static let tellerIDAlphabet = "0123456789abcdefghijklmnopqrstuv"

    /// An id in the provider's style for an account, transaction or connection.
    func providerID(_ provider: SandboxProvider, _ kind: String, _ random: inout SeededRandom) -> String {
        switch provider {
        case .plaid: return random.string(37, alphabet: Self.plaidIDAlphabet)
        case .teller: return "\(kind)_\(random.string(21, alphabet: Self.tellerIDAlphabet))"
        case .gocardless: return kind == "txn" ? random.string(32, alphabet: "0123456789abcdef") : random.uuid()
        }
    }

    /// Links a new user at `institution`: accounts, and `historyDays` of history up to today.
    /// - Returns: the connection id.
    func createConnection(provider: SandboxProvider, institution: SandboxInstitution, webhook: String? = nil) -> String {
        var random = mint("connection")
        let id = providerID(provider, "enr", &random)
        let token: String
        switch provider {
        case .plaid: token = "access-sandbox-\(random.uuid())"
        case .teller: token = "test_token_\(random.string(13))"
        case .gocardless: token = ""
        }
        let connection = SandboxConnection(
            id: id, provider: provider, userID: "user_\(random.string(10))", institution: institution, accessToken: token,
            webhookURL: webhook, createdDay: today, historyDays: configuration.historyDays)
        connections[id] = connection
        connectionOrder.append(id)
        if !token.isEmpty { connectionByToken[token] = id }

        // Accounts: Teller has no loans; everyone has a checking account.
        var kinds: [SandboxAccountKind] = [.checking, .savings, .creditCard]
        if provider != .teller { kinds.append(.loan) }
        let currency = institution.currency
        let scale: Int64 = currency == "SEK" ? 10 : 1
        for kind in kinds {
            let mask = random.string(4, alphabet: "0123456789")
            let (name, official): (String, String)
            let opening: Int64
            var limit: Int64? = nil
            switch kind {
            case .checking:
                (name, official) = provider == .gocardless ? ("Current Account", "\(institution.name) Current Account") : ("Everyday Checking", "\(institution.name) Everyday Checking")
                opening = Int64(random.int(in: 1_500...6_000)) * 100 * scale
            case .savings:
                (name, official) = ("Savings", "\(institution.name) High Yield Savings")
                opening = Int64(random.int(in: 2_000...25_000)) * 100 * scale
            case .creditCard:
                (name, official) = ("Rewards Card", "\(institution.name) Rewards Visa Signature")
                opening = -Int64(random.int(in: 100...1_500)) * 100 * scale
                limit = Int64(random.int(in: 5...15)) * 1_000_00 * scale
            case .loan:
                (name, official) = ("Auto Loan", "\(institution.name) Auto Loan")
                opening = -Int64(random.int(in: 8_000...24_000)) * 100 * scale
            }
            let iban: String? =
                provider == .gocardless ? "\(institution.country)\(random.string(2, alphabet: "0123456789"))\(institution.bic?.prefix(4) ?? "BANK")\(random.string(14, alphabet: "0123456789"))" : nil
            let account = SandboxAccount(
                id: providerID(provider, "acc", &random), connectionID: id, provider: provider, kind: kind, name: name,
                officialName: official, mask: mask, currency: currency, openingBalance: opening, creditLimit: limit, iban: iban)
            accounts[account.id] = account
            accountsByConnection[account.connectionID, default: []].append(account.id)
            rowsByAccount[account.id] = []
        }
        // History: replay each past day, so pending rows post exactly as they would live.
        let first = today.adding(days: -configuration.historyDays)
        for day in first.number...today.number { _ = simulate(connection: id, day: SandboxDay(day)) }
        return id
    }

    // MARK: Rows

    private func bump(_ connectionID: String) -> Int {
        connections[connectionID]!.seq += 1
        return connections[connectionID]!.seq
    }

    @discardableResult
    func addRow(
        account: SandboxAccount, kind: SandboxTransactionKind, amount: Int64, day: SandboxDay, pending: Bool,
        merchant: Merchant?, counterparty: String?, random: inout SeededRandom, authorized: SandboxDay? = nil,
        pendingTransactionID: String? = nil, postsOn: SandboxDay? = nil, postedAmount: Int64? = nil
    ) -> Int {
        let seq = bump(account.connectionID)
        let provider = account.provider
        let booked = !(provider == .gocardless && pending)
        let row = SandboxTransaction(
            key: transactions.count, id: booked ? providerID(provider, "txn", &random) : "",
            bankTransactionID: provider == .gocardless && booked ? "\(day.description.replacingOccurrences(of: "-", with: ""))\(random.string(5, alphabet: "0123456789"))-1" : nil,
            accountID: account.id, connectionID: account.connectionID, kind: kind, amount: amount, currency: account.currency, date: day,
            authorizedDate: authorized ?? (pending || kind == .purchase ? day : nil), pending: pending,
            pendingTransactionID: pendingTransactionID, merchant: merchant, counterparty: counterparty,
            description: describe(provider: provider, kind: kind, merchant: merchant, counterparty: counterparty, account: account, day: day, random: &random),
            createdSeq: seq, modifiedSeq: seq, removedSeq: nil, postsOn: postsOn, postedAmount: postedAmount)
        transactions.append(row)
        rowsByAccount[account.id, default: []].append(row.key)
        return row.key
    }

    /// Adds one row dated today to a live account (tests and demos: a large purchase, a
    /// windfall) and tells the provider's webhook receiver as a new day's activity would.
    /// - Returns: the row's provider id ("" for a GoCardless pending row), or nil when the
    ///   account does not exist or its connection is not active.
    @discardableResult
    public func injectTransaction(accountID: String, amount: Int64, counterparty: String? = nil, pending: Bool = false) -> String? {
        guard let account = accounts[canonicalAccountID(accountID)], connections[account.connectionID]?.state == .active else { return nil }
        var random = SeededRandom(seed: configuration.seed, stream: "\(account.id)/inject/\(connections[account.connectionID]!.seq)")
        let key = addRow(
            account: account, kind: amount < 0 ? .purchase : .transferIn, amount: amount, day: today, pending: pending, merchant: nil,
            counterparty: counterparty ?? (amount < 0 ? "Large purchase" : "Incoming transfer"), random: &random)
        switch account.provider {
        case .plaid: queuePlaidWebhook(connection: account.connectionID, type: "TRANSACTIONS", code: "SYNC_UPDATES_AVAILABLE")
        case .teller: queueTellerProcessed(connection: account.connectionID, since: today.adding(days: -1))
        case .gocardless: break
        }
        return transactions[key].id
    }

    func removeRow(_ key: Int) {
        guard !transactions[key].removed else { return }
        transactions[key].removed = true
        transactions[key].removedSeq = bump(transactions[key].connectionID)
    }

    func touchRow(_ key: Int) { transactions[key].modifiedSeq = bump(transactions[key].connectionID) }

    private func describe(
        provider: SandboxProvider, kind: SandboxTransactionKind, merchant: Merchant?, counterparty: String?, account: SandboxAccount,
        day: SandboxDay, random: inout SeededRandom
    ) -> String {
        let other = counterparty ?? ""
        switch provider {
        case .plaid:
            if let merchant { return kind == .refund ? "\(merchant.plaidDescriptor) REFUND" : merchant.plaidDescriptor }
            switch kind {
            case .salary: return "\(other.uppercased()) PAYROLL PPD ID: \(random.string(10, alphabet: "0123456789"))"
            case .bill: return "\(other.uppercased()) WEB PMTS"
            case .transferOut, .transferIn: return "ONLINE TRANSFER \(kind == .transferOut ? "TO" : "FROM") SAV ...\(account.mask)"
            case .cardPayment: return "CREDIT CARD AUTOPAY PMT"
            case .cardPaymentReceived: return "AUTOMATIC PAYMENT - THANK YOU"
            case .loanPayment: return "AUTO LOAN PAYMENT"
            case .loanPaymentReceived: return "PAYMENT RECEIVED"
            case .interest: return "INTEREST PAYMENT"
            case .fee: return "MONTHLY SERVICE FEE"
            default: return other.uppercased()
            }
        case .teller:
            if let merchant { return kind == .refund ? "RETURN \(merchant.tellerDescriptor)" : merchant.tellerDescriptor }
            switch kind {
            case .salary: return "ACH DEPOSIT \(other.uppercased()) DIR DEP"
            case .bill: return "ACH DEBIT \(other.uppercased())"
            case .transferOut: return "ONLINE TRANSFER TO SAVINGS XXXXXX\(account.mask)"
            case .transferIn: return "ONLINE TRANSFER FROM CHECKING"
            case .cardPayment: return "PAYMENT TO CREDIT CARD ENDING IN \(account.mask)"
            case .cardPaymentReceived: return "PAYMENT THANK YOU"
            case .interest: return "INTEREST EARNED"
            case .fee: return "SERVICE FEE"
            default: return other.uppercased()
            }
        case .gocardless:
            let reference = random.string(8, alphabet: "0123456789")
            if let merchant {
                return kind == .refund
                    ? "GUTSCHRIFT \(merchant.remittance) REF \(reference)" : "CARD \(account.mask) \(merchant.remittance) \(day.description)"
            }
            switch kind {
            case .salary: return "\(other) SALARY \(day.description.prefix(7)) REF \(reference)"
            case .bill: return "\(other) DIRECT DEBIT MANDATE \(reference)"
            case .transferOut, .transferIn: return "STANDING ORDER SAVINGS \(day.description.prefix(7))"
            case .cardPayment, .cardPaymentReceived: return "CARD ACCOUNT SETTLEMENT \(reference)"
            case .loanPayment, .loanPaymentReceived: return "LOAN INSTALMENT \(reference)"
            case .interest: return "INTEREST CREDIT"
            case .fee: return "ACCOUNT FEE"
            default: return other
            }
        }
    }

    // MARK: One day

    /// The day's activity on one connection: pending rows that post, income, bills, transfers,
    /// card spending, refunds, bank corrections, reversed authorisations.
    func simulate(connection id: String, day: SandboxDay) -> (added: Int, modified: Int, removed: Int) {
        guard let connection = connections[id] else { return (0, 0, 0) }
        var counts = (added: 0, modified: 0, removed: 0)
        var random = SeededRandom(seed: configuration.seed, stream: "\(id)/\(day.number)")
        var profile = SeededRandom(seed: configuration.seed, stream: "\(id)/profile")
        let owned = accounts(ofConnection: id).filter { !$0.closed }
        guard let checking = owned.first(where: { $0.kind == .checking }) else { return counts }
        let savings = owned.first { $0.kind == .savings }
        let card = owned.first { $0.kind == .creditCard }
        let loan = owned.first { $0.kind == .loan }
        let europe = connection.provider == .gocardless
        let scale: Int64 = checking.currency == "SEK" ? 10 : 1
        let employer = profile.pick(europe ? ["ACME GmbH", "Nordlicht AB", "Brightwater Ltd", "Van Dijk B.V."] : ["Acme Corp", "Globex", "Initech", "Hooli"])
        let salary = Int64(profile.int(in: europe ? 2_200...4_200 : 2_100...4_800)) * 100 * scale
        let rent = Int64(profile.int(in: 900...2_400)) * 100 * scale
        let landlord = profile.pick(europe ? ["Hausverwaltung Nord", "Parkside Lettings", "Bostadsbolaget"] : ["Maple Property Mgmt", "Riverside Apartments"])
        let loanPayment = Int64(profile.int(in: 250...480)) * 100 * scale
        let transferAmount = Int64(profile.int(in: 2...8)) * 100_00 * scale

        // 1. Pending rows due today post (or are reversed).
        for account in owned {
            for key in rowsByAccount[account.id] ?? [] {
                let row = transactions[key]
                guard row.pending, !row.removed, let postsOn = row.postsOn, postsOn <= day else { continue }
                guard let postedAmount = row.postedAmount else {
                    removeRow(key)  // authorisation reversed: gone with no successor
                    counts.removed += 1
                    continue
                }
                if connection.provider == .teller && !random.chance(0.1) {
                    // Teller keeps the id: the row flips to posted, usually with a new date.
                    transactions[key].pending = false
                    transactions[key].date = day
                    transactions[key].amount = postedAmount
                    transactions[key].postsOn = nil
                    touchRow(key)
                    counts.modified += 1
                } else {
                    removeRow(key)
                    addRow(
                        account: account, kind: row.kind, amount: postedAmount, day: day, pending: false, merchant: row.merchant,
                        counterparty: row.counterparty, random: &random, authorized: row.authorizedDate ?? row.date,
                        pendingTransactionID: connection.provider == .plaid ? row.id : nil)
                    counts.removed += 1
                    counts.added += 1
                }
            }
        }

        func post(_ account: SandboxAccount?, _ kind: SandboxTransactionKind, _ amount: Int64, merchant: Merchant? = nil, counterparty: String? = nil) {
            guard let account, amount != 0 else { return }
            addRow(account: account, kind: kind, amount: amount, day: day, pending: false, merchant: merchant, counterparty: counterparty, random: &random)
            counts.added += 1
        }

        // 2. Income and fixed outgoings.
        let dom = day.dayOfMonth
        if dom == 1 || dom == 15 { post(checking, .salary, europe && dom == 15 ? 0 : salary, counterparty: employer) }
        if dom == 1 { post(checking, .bill, -rent, counterparty: landlord) }
        for (merchant, billDay) in europe ? Merchant.europeBills : Merchant.usBills where billDay == dom {
            let amount = -Int64(random.int(in: merchant.low * 100...merchant.high * 100)) * scale
            post(europe ? checking : (card ?? checking), .bill, amount, merchant: merchant)
        }
        if dom == 20, let savings {
            post(checking, .transferOut, -transferAmount, counterparty: "Own savings account")
            post(savings, .transferIn, transferAmount, counterparty: "Own checking account")
        }
        if dom == 5, let loan {
            post(checking, .loanPayment, -loanPayment, counterparty: "Auto loan")
            post(loan, .loanPaymentReceived, loanPayment, counterparty: "Checking account")
        }
        if dom == 25, let card {
            let owed = -balances(ofAccount: card.id).current
            if owed > 0 {
                post(checking, .cardPayment, -owed, counterparty: "Credit card")
                post(card, .cardPaymentReceived, owed, counterparty: "Checking account")
            }
        }
        if day.isLastDayOfMonth, let savings {
            post(savings, .interest, max(1, balances(ofAccount: savings.id).current / 400), counterparty: connection.institution.name)
        }

        // 3. Card spending: pending first, posting one to three days later.
        let spending = europe ? Merchant.europeSpending : Merchant.usSpending
        let purchases = random.int(in: day.weekday >= 5 ? 1...4 : 0...3)
        for _ in 0..<purchases {
            let merchant = random.pick(spending)
            let account = (card != nil && random.chance(0.6)) ? card! : checking
            let amount = -Int64(random.int(in: merchant.low * 100...merchant.high * 100)) * scale
            var posted: Int64? = amount
            if merchant.tipped { posted = amount * Int64(random.int(in: 115...122)) / 100 }
            if random.chance(0.03) { posted = nil }  // the authorisation will be reversed
            addRow(
                account: account, kind: .purchase, amount: amount, day: day, pending: true, merchant: merchant, counterparty: nil,
                random: &random, postsOn: day.adding(days: random.int(in: 1...3)), postedAmount: posted)
            counts.added += 1
        }

        // 4. Now and then: a refund of an earlier purchase, a bank correcting a description.
        if random.chance(0.04) {
            let candidates = owned.flatMap { rowsByAccount[$0.id] ?? [] }.filter {
                let row = transactions[$0]
                return row.kind == .purchase && !row.pending && !row.removed && row.merchant != nil
            }
            if !candidates.isEmpty {
                let original = transactions[random.pick(candidates)]
                post(accounts[original.accountID], .refund, -original.amount, merchant: original.merchant)
            }
        }
        if random.chance(0.05) {
            let recent = owned.flatMap { rowsByAccount[$0.id] ?? [] }.filter {
                let row = transactions[$0]
                return !row.pending && !row.removed && row.date.number >= day.number - 10 && !row.description.hasSuffix(" *CORRECTED")
            }
            if !recent.isEmpty {
                let key = random.pick(recent)
                transactions[key].description += " *CORRECTED"
                touchRow(key)
                counts.modified += 1
            }
        }
        return counts
    }
}
