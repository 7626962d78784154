import ArgumentParser
import BankSyncCategorizer
import Foundation

/// `banksync categorizer train|eval`: build the weights file the product ships, and measure a
/// model (or the training recipe, on a split) against labeled data — beside a scikit-learn
/// baseline on the very same split when asked.
struct CategorizerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "categorizer", abstract: "Train and evaluate the transaction categorizer.", subcommands: [Train.self, Eval.self])

    /// Column names of a labeled CSV.
    struct ColumnOptions: ParsableArguments {
        @Option(help: "Column with the bank's description.") var textColumn = "description"
        @Option(help: "Column with the merchant name (optional in the file).") var merchantColumn = "merchant"
        @Option(help: "Column with the amount in major units, negative = money out (optional in the file).") var amountColumn = "amount"
        @Option(help: "Column with the category.") var labelColumn = "category"
        @Option(help: "Column grouping rows that must stay on one side of a split (e.g. a merchant id).") var groupColumn: String?

        var columns: LabeledCSV.Columns {
            var columns = LabeledCSV.Columns()
            columns.text = textColumn
            columns.merchant = merchantColumn
            columns.amount = amountColumn
            columns.label = labelColumn
            columns.group = groupColumn
            return columns
        }

        func rows(_ path: String) throws -> [LabeledRow] {
            let text: String
            do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
                throw Bootstrap.fail("cannot read \(path): \(error.localizedDescription)")
            }
            do { return try LabeledCSV.read(text, columns: columns) } catch { throw Bootstrap.fail("\(path): \(error)") }
        }
    }

    struct TrainingOptions: ParsableArguments {
        @Option(help: "Passes over the data.") var epochs = ModelTrainer.Options().epochs
        @Option(help: "Feature hash bits (buckets = 2^bits).") var bits = 18
        @Option(help: "Seed for every shuffle and split: the same seed gives the same weights.") var seed: UInt64 = 20_261_126
        @Option(help: "AdaGrad learning rate.") var learningRate: Float = ModelTrainer.Options().learningRate
        @Option(help: "L2 penalty per update.") var l2: Float = ModelTrainer.Options().l2
        @Flag(help: "Do not weight categories by 1/√frequency.") var unbalanced = false
        @Option(help: "Models trained in differently seeded orders and averaged into one.") var ensemble = ModelTrainer.Options().ensemble
        @Flag(inversion: .prefixedNo, help: "Average the weights over the second half of the epochs (default) or keep the last pass's.")
        var averageEpochs = ModelTrainer.Options().averageEpochs

        var options: ModelTrainer.Options {
            var options = ModelTrainer.Options()
            options.epochs = epochs
            options.bits = bits
            options.seed = seed
            options.learningRate = learningRate
            options.l2 = l2
            options.balanceClasses = !unbalanced
            options.ensemble = ensemble
            options.averageEpochs = averageEpochs
            return options
        }

        func validate() throws {
            guard (1...200).contains(epochs) else { throw ValidationError("--epochs must be 1…200") }
            guard (10...24).contains(bits) else { throw ValidationError("--bits must be 10…24") }
            guard (1...32).contains(ensemble) else { throw ValidationError("--ensemble must be 1…32") }
        }
    }

    struct Train: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Train a weights file from a labeled CSV.")

        @Argument(help: "Labeled CSV (description, merchant, amount, category).") var csv: String
        @Option(help: "Where to write the weights file.") var output: String
        @Flag(help: "Accept labels outside BankSync's taxonomy (for experiments; the product only knows the taxonomy).") var anyLabels = false
        @OptionGroup var columns: ColumnOptions
        @OptionGroup var training: TrainingOptions

        func run() async throws {
            let rows = try columns.rows(csv)
            if !anyLabels {
                let unknown = Set(rows.map(\.label)).filter { !Taxonomy.standard.contains($0) }.sorted()
                guard unknown.isEmpty else {
                    throw Bootstrap.fail("\(csv): labels outside the taxonomy: \(unknown.prefix(10).joined(separator: ", ")) (use --any-labels for experiments)")
                }
            }
            let started = ContinuousClock.now
            let model: CategoryModel
            do { model = try ModelTrainer.train(rows.map { ($0.input, $0.label) }, options: training.options) } catch {
                throw Bootstrap.fail("\(error)")
            }
            try WeightsFile.write(model, to: output)
            let size = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? Int) ?? 0
            print(
                "trained on \(rows.count) rows, \(model.labels.count) categories in \(ContinuousClock.now - started); temperature \(String(format: "%.3f", model.temperature)); \(model.parameterCount) weights; wrote \(output) (\(size) bytes)"
            )
        }
    }

    struct Eval: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Evaluate a weights file on a labeled CSV, or train and evaluate on a split of it.",
            discussion: """
                With --weights (default: the shipped model) every row is a test row. With --split F, a share F of the rows \
                (of the groups, with --group-column) is held out, a model is trained on the rest with the training options, \
                and --baseline SCRIPT runs `python3 SCRIPT TRAIN.csv TEST.csv` on the same split and prints its figures beside ours.
                """)

        @Argument(help: "Labeled CSV.") var csv: String
        @Option(help: "Weights file to evaluate (default: the shipped model).") var weights: String?
        @Option(help: "Hold out this share for testing and train on the rest (0 < F < 1).") var split: Double?
        @Option(help: "Scikit-learn baseline script to run on the same split.") var baseline: String?
        @Option(help: "Confidence under which the model abstains.") var threshold = 0.5
        @OptionGroup var columns: ColumnOptions
        @OptionGroup var training: TrainingOptions

        func validate() throws {
            if let split, !(split > 0 && split < 1) { throw ValidationError("--split must be between 0 and 1") }
            if baseline != nil && split == nil { throw ValidationError("--baseline needs --split") }
            guard (0...1).contains(threshold) else { throw ValidationError("--threshold must be 0…1") }
        }

        func run() async throws {
            let rows = try columns.rows(csv)
            let model: CategoryModel
            let test: [LabeledRow]
            var trainRows: [LabeledRow] = []
            if let split {
                (trainRows, test) = LabeledCSV.split(rows, testShare: split, seed: training.seed)
                guard !test.isEmpty, !trainRows.isEmpty else { throw Bootstrap.fail("the split left one side empty (\(rows.count) rows)") }
                let started = ContinuousClock.now
                do { model = try ModelTrainer.train(trainRows.map { ($0.input, $0.label) }, options: training.options) } catch {
                    throw Bootstrap.fail("\(error)")
                }
                print("BankSync: trained on \(trainRows.count) rows in \(ContinuousClock.now - started), testing on \(test.count)")
            } else {
                do { model = try weights.map { try WeightsFile.read(path: $0) } ?? ShippedModel.load() } catch { throw Bootstrap.fail("\(error)") }
                test = rows
            }
            let started = ContinuousClock.now
            let predictions = model.predict(test.map(\.input))
            let elapsed = ContinuousClock.now - started
            let evaluation = Evaluation(truth: test.map(\.label), predictions: predictions, threshold: threshold)
            print(evaluation.report())
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            print("\npredicted \(test.count) rows in \(elapsed) (\(Int(Double(test.count) / max(seconds, 1e-9))) rows/s, one core)")
            if let baseline { try runBaseline(baseline, train: trainRows, test: test, ours: evaluation) }
        }

        /// Writes the split as two CSVs (text, label), runs the script, prints both results.
        func runBaseline(_ script: String, train: [LabeledRow], test: [LabeledRow], ours: Evaluation) throws {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("banksync-baseline-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            func write(_ rows: [LabeledRow], _ name: String) throws -> String {
                func quote(_ text: String) -> String { "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
                let text = "text,label\n" + rows.map { row in
                    quote([row.input.description, row.input.merchant].compactMap { $0 }.joined(separator: " ")) + "," + quote(row.label)
                }.joined(separator: "\n") + "\n"
                let path = directory.appendingPathComponent(name).path
                try text.write(toFile: path, atomically: true, encoding: .utf8)
                return path
            }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", script, try write(train, "train.csv"), try write(test, "test.csv")]
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw Bootstrap.fail("the baseline \(script) exited with status \(process.terminationStatus)") }
            let text = String(decoding: data, as: UTF8.self)
            print("\nbaseline (\(script)):\n\(text)")
            print(String(format: "BankSync macro-F1 %.3f, accuracy %.1f %%", ours.macroF1, ours.accuracy * 100))
        }
    }
}
