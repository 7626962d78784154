import Foundation

/// How well predictions match labels: accuracy, macro-F1 (averaged over every label that
/// occurs in the truth or the predictions, as scikit-learn's `f1_score(average="macro")`),
/// per-category precision and recall, the most frequent confusions, and how often the model
/// would abstain at a confidence threshold.
public struct Evaluation: Sendable {
    public struct CategoryScore: Sendable, Hashable {
        public let label: String
        public let precision: Double
        public let recall: Double
        public let f1: Double
        /// Rows whose truth is this label.
        public let support: Int
    }

    public let rows: Int
    public let accuracy: Double
    public let macroF1: Double
    public let categories: [CategoryScore]
    /// (truth, predicted, count), most frequent first.
    public let confusions: [(truth: String, predicted: String, count: Int)]
    public let threshold: Double
    /// Share of rows below the threshold.
    public let abstainRate: Double
    /// Accuracy over the rows the model answers at the threshold.
    public let answeredAccuracy: Double

    public init(truth: [String], predictions: [CategoryModel.Prediction], threshold: Double) {
        precondition(truth.count == predictions.count)
        rows = truth.count
        let predicted = predictions.map(\.label)
        let labels = Set(truth).union(predicted).sorted()
        var truePositives: [String: Int] = [:]
        var predictedCount: [String: Int] = [:]
        var truthCount: [String: Int] = [:]
        var pairs: [String: Int] = [:]
        var correct = 0
        var answered = 0
        var answeredCorrect = 0
        for (index, label) in truth.enumerated() {
            let guess = predicted[index]
            truthCount[label, default: 0] += 1
            predictedCount[guess, default: 0] += 1
            if guess == label {
                correct += 1
                truePositives[label, default: 0] += 1
            } else {
                pairs["\(label)\u{1F}\(guess)", default: 0] += 1
            }
            if predictions[index].confidence >= threshold {
                answered += 1
                if guess == label { answeredCorrect += 1 }
            }
        }
        categories = labels.map { label in
            let tp = Double(truePositives[label] ?? 0)
            let precision = predictedCount[label].map { tp / Double($0) } ?? 0
            let recall = truthCount[label].map { tp / Double($0) } ?? 0
            let f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
            return CategoryScore(label: label, precision: precision, recall: recall, f1: f1, support: truthCount[label] ?? 0)
        }
        accuracy = rows > 0 ? Double(correct) / Double(rows) : 0
        macroF1 = categories.isEmpty ? 0 : categories.map(\.f1).reduce(0, +) / Double(categories.count)
        confusions = pairs.map { key, count in
            let parts = key.split(separator: "\u{1F}", omittingEmptySubsequences: false).map(String.init)
            return (parts[0], parts[1], count)
        }.sorted { ($0.count, $1.truth, $1.predicted) > ($1.count, $0.truth, $0.predicted) }
        self.threshold = threshold
        abstainRate = rows > 0 ? Double(rows - answered) / Double(rows) : 0
        answeredAccuracy = answered > 0 ? Double(answeredCorrect) / Double(answered) : 0
    }

    /// The report `banksync categorizer eval` prints.
    public func report(topConfusions: Int = 10) -> String {
        func pct(_ value: Double) -> String { String(format: "%.1f %%", value * 100) }
        func fixed(_ value: Double) -> String { String(format: "%.3f", value) }
        var lines = [
            "rows: \(rows)", "accuracy: \(pct(accuracy))", "macro-F1: \(fixed(macroF1))",
            "abstain at confidence < \(threshold): \(pct(abstainRate)) of rows; accuracy of the rest \(pct(answeredAccuracy))", "",
            "| category | precision | recall | F1 | support |", "|---|---|---|---|---|",
        ]
        for score in categories {
            lines.append("| \(score.label) | \(fixed(score.precision)) | \(fixed(score.recall)) | \(fixed(score.f1)) | \(score.support) |")
        }
        lines.append("")
        lines.append("most frequent confusions (truth → predicted):")
        for confusion in confusions.prefix(topConfusions) { lines.append("  \(confusion.count) × \(confusion.truth) → \(confusion.predicted)") }
        return lines.joined(separator: "\n")
    }
}

