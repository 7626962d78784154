import BankSyncCore

/// The `odd_rows` fault: a 200 answer to a transactions call whose rows are partly unreadable
/// or unusual, the way real feeds sometimes are. The rest of the answer is left as it was.
///
/// - Plaid `/transactions/sync`: the first row of `added` (else `modified`) gets the currency
///   `XQZ`; the second gets values of `payment_channel` and `personal_finance_category` that
///   no version of the API has; a copy of the third (or first) row appears for an account
///   the Item does not have.
/// - Teller `/accounts/{id}/transactions`: the first row's amount is `12.5.0`; the second has
///   `status` `reversed` and `type` `teleport`.
/// - GoCardless `/accounts/{id}/transactions/`: the first booked row's currency is `XQZ`; the
///   first pending row has no date at all.
///
/// The truth API is not changed: a client that skips the unreadable rows and reads the others
/// converges again on the next clean answer.
enum OddRows {
    /// Rewrites `body` for `provider`; a body of another shape comes back unchanged.
    static func apply(_ provider: SandboxProvider, to body: [UInt8]) -> [UInt8] {
        guard let json = try? JSONValue.parse(body) else { return body }
        let changed: JSONValue? =
            switch provider {
            case .plaid: plaid(json)
            case .teller: teller(json)
            case .gocardless: gocardless(json)
            }
        return changed?.serialized() ?? body
    }

    static func plaid(_ json: JSONValue) -> JSONValue? {
        let list = (json["added"]?.arrayValue?.isEmpty == false) ? "added" : "modified"
        guard var rows = json[list]?.arrayValue, !rows.isEmpty else { return nil }
        let stray = rows[rows.count > 2 ? 2 : 0]
        rows[0] = rows[0].setting("iso_currency_code", .string("XQZ"))
        if rows.count > 1 {
            rows[1] = rows[1].setting("payment_channel", .string("telepathy"))
                .setting("personal_finance_category", .object([("primary", .string("NEW_PRIMARY")), ("detailed", .string("NEW_PRIMARY_NEW_DETAILED"))]))
        }
        rows.append(stray.setting("account_id", .string("acct-not-on-this-item"))
            .setting("transaction_id", .string((stray["transaction_id"]?.stringValue ?? "txn") + "-stray")))
        return json.setting(list, .array(rows))
    }

    static func teller(_ json: JSONValue) -> JSONValue? {
        guard var rows = json.arrayValue, !rows.isEmpty else { return nil }
        rows[0] = rows[0].setting("amount", .string("12.5.0"))
        if rows.count > 1 { rows[1] = rows[1].setting("status", .string("reversed")).setting("type", .string("teleport")) }
        return .array(rows)
    }

    static func gocardless(_ json: JSONValue) -> JSONValue? {
        guard let transactions = json["transactions"] else { return nil }
        var result = transactions
        if var booked = transactions["booked"]?.arrayValue, !booked.isEmpty {
            let amount = booked[0]["transactionAmount"] ?? .object([])
            booked[0] = booked[0].setting("transactionAmount", amount.setting("currency", .string("XQZ")))
            result = result.setting("booked", .array(booked))
        }
        if var pending = transactions["pending"]?.arrayValue, !pending.isEmpty {
            pending[0] = pending[0].removing("bookingDate").removing("valueDate").removing("bookingDateTime")
            result = result.setting("pending", .array(pending))
        }
        return json.setting("transactions", result)
    }
}

extension JSONValue {
    /// This object with `key` set to `value` (replaced in place, else appended).
    func setting(_ key: String, _ value: JSONValue) -> JSONValue {
        guard case .object(var members) = self else { return self }
        if let index = members.firstIndex(where: { $0.0 == key }) { members[index].1 = value } else { members.append((key, value)) }
        return .object(members)
    }

    /// This object without `key`.
    func removing(_ key: String) -> JSONValue {
        guard case .object(let members) = self else { return self }
        return .object(members.filter { $0.0 != key })
    }
}
