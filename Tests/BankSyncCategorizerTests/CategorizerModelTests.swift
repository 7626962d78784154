import BankSyncCategorizer
import Foundation
import Testing

/// A small labeled world written for these tests: a few merchants per category in the ways
/// banks print them.
enum Toy {
    static let merchants: [(String, String)] = [
        ("STARBUCKS", "FOOD_AND_DRINK_COFFEE"), ("BLUE BOTTLE COFFEE", "FOOD_AND_DRINK_COFFEE"), ("PEETS COFFEE", "FOOD_AND_DRINK_COFFEE"),
        ("SHELL OIL", "TRANSPORTATION_GAS"), ("CHEVRON", "TRANSPORTATION_GAS"), ("EXXONMOBIL", "TRANSPORTATION_GAS"),
        ("SAFEWAY", "FOOD_AND_DRINK_GROCERIES"), ("TRADER JOE'S", "FOOD_AND_DRINK_GROCERIES"), ("WHOLE FOODS MKT", "FOOD_AND_DRINK_GROCERIES"),
        ("NETFLIX.COM", "ENTERTAINMENT_TV_AND_MOVIES"), ("HULU", "ENTERTAINMENT_TV_AND_MOVIES"), ("AMC THEATRES", "ENTERTAINMENT_TV_AND_MOVIES"),
    ]
    static let cities = ["SAN FRANCISCO CA", "OAKLAND CA", "NEW YORK NY", "AUSTIN TX", "SEATTLE WA", ""]

    static func rows(seedOffset: Int = 0) -> [LabeledRow] {
        var rows: [LabeledRow] = []
        for (index, (name, label)) in merchants.enumerated() {
            for (c, city) in cities.enumerated() {
                let store = 100 + (index * 37 + c * 11 + seedOffset) % 900
                rows.append(LabeledRow(
                    input: CategorizerInput(description: "POS DEBIT \(name) #\(store) \(city)", amountMinor: -Int64(300 + store * 7)), label: label,
                    group: name))
            }
        }
        return rows
    }

    static func train(seed: UInt64 = 7, averageEpochs: Bool = true, ensemble: Int = 1) throws -> CategoryModel {
        var options = ModelTrainer.Options()
        options.seed = seed
        options.bits = 16
        options.averageEpochs = averageEpochs
        options.ensemble = ensemble
        return try ModelTrainer.train(rows().map { ($0.input, $0.label) }, options: options, now: Date(timeIntervalSince1970: 1_780_000_000))
    }
}

@Suite("Categorizer model: training, prediction, weights file")
struct CategorizerModelTests {
    @Test("a trained model names the category of new descriptors of its merchants, with a probability")
    func learnsMerchants() throws {
        let model = try Toy.train()
        let prediction = model.predict(CategorizerInput(description: "SQ *BLUE BOTTLE COFFEE 0412 BERKELEY CA", amountMinor: -575))
        #expect(prediction.label == "FOOD_AND_DRINK_COFFEE")
        #expect(prediction.confidence > 0.3 && prediction.confidence <= 1)
        #expect(model.predict(CategorizerInput(description: "CHEVRON 0091 RENO NV", amountMinor: -4_500)).label == "TRANSPORTATION_GAS")
        #expect(model.predict(CategorizerInput(description: "NETFLIX.COM LOS GATOS CA")).label == "ENTERTAINMENT_TV_AND_MOVIES")
    }

    @Test("retraining with the same seed gives the same weights file, byte for byte; another seed does not")
    func deterministic() throws {
        let first = try WeightsFile.encode(try Toy.train(seed: 7))
        let second = try WeightsFile.encode(try Toy.train(seed: 7))
        #expect(first == second)
        #expect(try WeightsFile.encode(try Toy.train(seed: 8)) != first)
    }

    @Test("averaged and ensembled training are deterministic, differ from the last pass's weights, and still learn")
    func averagedAndEnsembled() throws {
        let lastPass = try WeightsFile.encode(try Toy.train(averageEpochs: false))
        let averaged = try WeightsFile.encode(try Toy.train(averageEpochs: true))
        let ensembled = try WeightsFile.encode(try Toy.train(ensemble: 3))
        #expect(averaged != lastPass)
        #expect(ensembled != averaged)
        #expect(try WeightsFile.encode(try Toy.train(ensemble: 3)) == ensembled)
        for model in [try Toy.train(averageEpochs: false), try Toy.train(), try Toy.train(ensemble: 3)] {
            let right = Toy.rows(seedOffset: 5).filter { model.predict($0.input).label == $0.label }.count
            #expect(right == Toy.rows().count, "every toy row is learned")
        }
    }

    @Test("a weights file reads back to the same predictions")
    func roundTrip() throws {
        let model = try Toy.train()
        let loaded = try WeightsFile.decode(try WeightsFile.encode(model), path: "memory")
        #expect(loaded.labels == model.labels && loaded.temperature == model.temperature)
        for row in Toy.rows(seedOffset: 3) { #expect(loaded.predict(row.input) == model.predict(row.input)) }
    }

    @Test("a corrupt, truncated or foreign weights file fails with its path and the reason")
    func corruptWeights() throws {
        let bytes = try WeightsFile.encode(try Toy.train())
        func reason(_ damaged: [UInt8]) -> String {
            do {
                _ = try WeightsFile.decode(damaged, path: "/srv/model.bscm")
                return "loaded"
            } catch {
                #expect(error.description.hasPrefix("the categorizer weights file /srv/model.bscm cannot be loaded: "))
                return error.description
            }
        }
        var flipped = bytes
        flipped[bytes.count / 2] ^= 0x40
        #expect(reason(flipped).contains("checksum does not match"))
        #expect(reason(Array(bytes.prefix(bytes.count - 100))).contains("checksum does not match"))
        #expect(reason(Array("not a model at all, just some text that is long enough".utf8)).contains("does not start with BSCM"))
        #expect(reason([0x42]).contains("too short"))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bscm-\(UUID().uuidString)")
        #expect(throws: CategorizerError.self) { try WeightsFile.read(path: directory.path) }
    }

    @Test(
        "odd text is categorized or left to the threshold, never a crash: empty, other scripts, emoji, very long, digits only",
        arguments: ["", "   ", "東京 ラーメン 一蘭", "مقهى الشرق", "☕️☕️☕️", String(repeating: "VERYLONGDESCRIPTOR ", count: 2_000), "0000 1111 2222", "\u{0}\u{1}\u{7F}"])
    func oddText(text: String) throws {
        let model = try Toy.train()
        let prediction = model.predict(CategorizerInput(description: text, merchant: text))
        #expect(model.labels.contains(prediction.label))
        #expect(prediction.confidence > 0 && prediction.confidence <= 1)
    }

    @Test("features: digit runs fold, case and punctuation do not matter, long text is bounded")
    func features() {
        let hasher = FeatureHasher(bits: 16)
        var a: [Int32] = []
        var b: [Int32] = []
        hasher.features(CategorizerInput(description: "SQ *Blue-Bottle #0412"), into: &a)
        hasher.features(CategorizerInput(description: "sq blue bottle 77"), into: &b)
        #expect(a == b)
        var long: [Int32] = []
        hasher.features(CategorizerInput(description: String(repeating: "abcdefgh ", count: 10_000)), into: &long)
        #expect(long.count < 2_000)
    }
}

@Suite("Categorizer data: taxonomy, CSV, split, evaluation")
struct CategorizerDataTests {
    @Test("the shipped taxonomy has Plaid's 16 primary and 104 detailed categories; provider categories map onto it")
    func taxonomy() {
        let taxonomy = Taxonomy.standard
        #expect(taxonomy.primaries.count == 16 && taxonomy.primaryOf.count == 104)
        #expect(taxonomy.primary(of: "FOOD_AND_DRINK_COFFEE") == "FOOD_AND_DRINK")
        #expect(taxonomy.code(forProviderCategory: "FOOD_AND_DRINK/FOOD_AND_DRINK_COFFEE") == "FOOD_AND_DRINK_COFFEE")
        #expect(taxonomy.code(forProviderCategory: "FOOD_AND_DRINK/SOMETHING_NEW") == "FOOD_AND_DRINK")
        #expect(taxonomy.code(forProviderCategory: "groceries") == "FOOD_AND_DRINK_GROCERIES")
        #expect(taxonomy.code(forProviderCategory: "fuel") == "TRANSPORTATION_GAS")
        #expect(taxonomy.code(forProviderCategory: "teleportation") == nil)
        #expect(taxonomy.code(forProviderCategory: "PMNT-ICDT-STDO") == nil)
        for (_, code) in Taxonomy.teller { #expect(taxonomy.contains(code), "\(code)") }
    }

    @Test("CSV: quotes, doubled quotes, CRLF, a byte-order mark, optional columns; errors name the line or column")
    func csv() throws {
        let text = "\u{FEFF}description,category,amount\r\n\"SQ *CAFE, \"\"THE\"\" SPOT\",FOOD_AND_DRINK,-4.50\r\nSHELL,TRANSPORTATION_GAS,\r\n"
        let rows = try LabeledCSV.read(text)
        #expect(rows.map(\.input.description) == ["SQ *CAFE, \"THE\" SPOT", "SHELL"])
        #expect(rows.map(\.input.amountMinor) == [-450, nil])
        #expect(throws: CategorizerError.invalidData("the CSV has no \"category\" column (it has: description, label)")) {
            try LabeledCSV.read("description,label\nx,y\n")
        }
        #expect(throws: CategorizerError.invalidData("CSV line 3 has 1 fields, the header has 2")) { try LabeledCSV.read("description,category\na,B\nc\n") }
        #expect(throws: CategorizerError.invalidData("CSV line 2: a quoted field is not closed")) { try LabeledCSV.read("description,category\n\"open,B\n") }
        #expect(throws: CategorizerError.invalidData("CSV line 2: amount \"12,5\" is not a number")) {
            try LabeledCSV.read("description,category,amount\nx,B,\"12,5\"\n")
        }
    }

    @Test("a grouped split keeps each group on one side and is the same for the same seed")
    func split() {
        let rows = Toy.rows()
        let (train, test) = LabeledCSV.split(rows, testShare: 0.3, seed: 5)
        #expect(train.count + test.count == rows.count && !test.isEmpty && !train.isEmpty)
        #expect(Set(train.compactMap(\.group)).isDisjoint(with: Set(test.compactMap(\.group))))
        #expect(LabeledCSV.split(rows, testShare: 0.3, seed: 5).test == test)
    }

    @Test("metrics agree with a hand count: accuracy, macro-F1 over every label seen, abstentions")
    func metrics() {
        func p(_ label: String, _ confidence: Double) -> CategoryModel.Prediction { CategoryModel.Prediction(label: label, confidence: confidence, runnerUp: nil) }
        let evaluation = Evaluation(
            truth: ["A", "A", "B", "C"], predictions: [p("A", 0.9), p("B", 0.4), p("B", 0.8), p("A", 0.3)], threshold: 0.5)
        // A: precision 1/2, recall 1/2 → F1 0.5; B: precision 1/2, recall 1 → 2/3; C: 0.
        #expect(evaluation.accuracy == 0.5)
        #expect(abs(evaluation.macroF1 - (0.5 + 2.0 / 3.0 + 0) / 3) < 1e-12)
        #expect(evaluation.abstainRate == 0.5 && evaluation.answeredAccuracy == 1)
        #expect(evaluation.confusions.first?.count == 1)
    }
}

@Suite("The shipped model")
struct ShippedModelTests {
    @Test("loads at start-up and names everyday descriptors it has not seen verbatim")
    func shipped() throws {
        let model = try ShippedModel.load()
        #expect(model.labels.allSatisfy { Taxonomy.standard.contains($0) })
        let cases: [(String, Int64, String)] = [
            ("SQ *STARBUCKS 01234 DENVER CO", -645, "FOOD_AND_DRINK"), ("SHELL OIL 57444 HOUSTON TX", -5_210, "TRANSPORTATION"),
            ("NETFLIX.COM", -1_549, "ENTERTAINMENT"), ("ADP PAYROLL PPD 884411", 312_000, "INCOME"),
        ]
        for (text, amount, primary) in cases {
            let prediction = model.predict(CategorizerInput(description: text, amountMinor: amount))
            #expect(Taxonomy.standard.primary(of: prediction.label) == primary, "\(text) → \(prediction.label) (\(prediction.confidence))")
        }
    }

    @Test("money going out is never income or a transfer in; money coming in is never a transfer out or a loan payment")
    func directionConsistent() throws {
        let model = try ShippedModel.load()
        let payroll = model.predict(CategorizerInput(description: "ADP PAYROLL DIRECT DEP PPD 884411", amountMinor: -312_000))
        #expect(!payroll.label.hasPrefix("INCOME") && !payroll.label.hasPrefix("TRANSFER_IN"), "\(payroll.label)")
        #expect(model.predict(CategorizerInput(description: "ADP PAYROLL DIRECT DEP PPD 884411", amountMinor: 312_000)).label.hasPrefix("INCOME"))
        let mortgage = model.predict(CategorizerInput(description: "WELLS FARGO HOME MORTGAGE", amountMinor: 180_000))
        #expect(!mortgage.label.hasPrefix("LOAN_PAYMENTS") && !mortgage.label.hasPrefix("TRANSFER_OUT"), "\(mortgage.label)")
        #expect(payroll.confidence > 0 && payroll.confidence <= 1)
    }

    @Test("a configured weights file that is damaged stops start-up with its path and the reason")
    func damagedConfiguredFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("damaged-\(UUID().uuidString).bscm").path
        var bytes = try WeightsFile.encode(try ShippedModel.load())
        bytes[bytes.count - 40] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: CategorizerError.corruptWeights(path: path, reason: "its checksum does not match: the file is truncated or altered")) {
            try ShippedModel.load(path: path)
        }
    }
}
