import ArgumentParser
import BankSyncCategorizer
import Foundation

/// `banksync bench categorize`: predictions per second of the categorizer model on one core,
/// over descriptors from a labeled CSV (default: the shipped training rows), medians of runs.
struct CategorizeBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "categorize", abstract: "Categorizer predictions per second on one core.")

    @Option(help: "Predictions per run.") var rows = 200_000
    @Option(help: "Runs; the median is reported.") var runs = 5
    @Option(help: "Weights file (default: the shipped model).") var weights: String?
    @Option(help: "Labeled CSV whose descriptors are predicted, cycled (default: the shipped training rows).") var csv: String?

    func validate() throws {
        guard rows > 0, runs > 0 else { throw ValidationError("--rows and --runs must be positive") }
    }

    func run() async throws {
        let model: CategoryModel
        do { model = try weights.map { try WeightsFile.read(path: $0) } ?? ShippedModel.load() } catch { throw Bootstrap.fail("\(error)") }
        let labeled: [LabeledRow]
        do {
            labeled = try csv.map { try LabeledCSV.read(try String(contentsOfFile: $0, encoding: .utf8)) } ?? ShippedModel.trainingRows()
        } catch { throw Bootstrap.fail("\(csv ?? "the shipped training.csv"): \(error)") }
        guard !labeled.isEmpty else { throw Bootstrap.fail("\(csv ?? "the shipped training.csv") has no rows") }
        let inputs = (0..<rows).map { labeled[$0 % labeled.count].input }
        var rates: [Double] = []
        for _ in 0..<runs {
            let started = ContinuousClock.now
            let predictions = model.predict(inputs)
            let elapsed = ContinuousClock.now - started
            precondition(predictions.count == inputs.count)
            rates.append(Double(rows) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18))
        }
        rates.sort()
        print("| model | categories | weights | rows per run | median predictions/s (one core) | min | max |")
        print("|---|---|---|---|---|---|---|")
        print("| \(weights ?? "shipped") | \(model.labels.count) | \(model.parameterCount) | \(rows) | \(Int(rates[rates.count / 2])) | \(Int(rates.first!)) | \(Int(rates.last!)) |")
    }
}
