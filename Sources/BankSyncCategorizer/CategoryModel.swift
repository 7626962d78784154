public import Foundation

/// The categorizer's trained model: a multinomial logistic regression over hashed text and
/// amount features (``FeatureHasher``), with a temperature fitted on held-out rows so the
/// confidence is a calibrated probability. Loaded from a weights file (``WeightsFile``);
/// immutable and safe to share across tasks.
public struct CategoryModel: Sendable {
    /// The categories it can answer, in class order.
    public let labels: [String]
    public let hasher: FeatureHasher
    /// Softmax temperature (> 0): logits are divided by it before the probabilities.
    public let temperature: Double
    /// What the model was trained on, for `eval` and the weights file's header.
    public let info: Info

    let bias: [Float]
    /// The buckets seen in training, ascending, with their IDF and their weights: bucket `i`
    /// has `weights[i * labels.count ..< (i + 1) * labels.count]`, stored as 8-bit steps of
    /// `scales[i]` (the weights file holds them so; kept here already rounded).
    let buckets: [Int32]
    let idf: [Float]
    let scales: [Float]
    /// The weights as their 8-bit steps (4× less memory to stream than floats: prediction is
    /// bound by reading them).
    let steps: [Int8]
    /// Bucket → index into `buckets`, or -1: one array lookup per feature.
    let slotOf: [Int32]
    /// Categories that only money coming in can have (income, transfers in), and only money
    /// going out (transfers out, loan payments): with a known amount the other side's are
    /// never answered, and the probabilities are those of the categories left.
    let inflowOnly: [Bool]
    let outflowOnly: [Bool]

    /// Provenance recorded in the weights file.
    public struct Info: Sendable, Codable, Hashable {
        public var trainingRows: Int
        public var seed: UInt64
        public var epochs: Int
        public var createdAt: Date

        public init(trainingRows: Int, seed: UInt64, epochs: Int, createdAt: Date) {
            self.trainingRows = trainingRows
            self.seed = seed
            self.epochs = epochs
            self.createdAt = createdAt
        }
    }

    /// One answer: the best category and its calibrated probability, and the runner-up.
    public struct Prediction: Sendable, Hashable {
        public let label: String
        public let confidence: Double
        public let runnerUp: String?

        public init(label: String, confidence: Double, runnerUp: String?) {
            self.label = label
            self.confidence = confidence
            self.runnerUp = runnerUp
        }
    }

    /// A model from full-precision weights: each bucket's row is rounded to 8-bit steps of
    /// its largest magnitude / 127, exactly as the weights file will store it.
    init(labels: [String], hasher: FeatureHasher, temperature: Double, info: Info, bias: [Float], buckets: [Int32], idf: [Float], weights: [Float]) {
        let classes = labels.count
        var scales: [Float] = []
        var steps = [Int8](repeating: 0, count: weights.count)
        for slot in buckets.indices {
            let row = (slot * classes)..<((slot + 1) * classes)
            let largest = weights[row].reduce(0) { max($0, abs($1)) }
            let scale = largest > 0 ? largest / 127 : 0
            scales.append(scale)
            for index in row where scale > 0 { steps[index] = Int8(max(-127, min(127, (weights[index] / scale).rounded()))) }
        }
        self.init(labels: labels, hasher: hasher, temperature: temperature, info: info, bias: bias, buckets: buckets, idf: idf, scales: scales, steps: steps)
    }

    init(
        labels: [String], hasher: FeatureHasher, temperature: Double, info: Info, bias: [Float], buckets: [Int32], idf: [Float], scales: [Float],
        steps: [Int8]
    ) {
        self.labels = labels
        self.hasher = hasher
        self.temperature = temperature
        self.info = info
        self.bias = bias
        self.buckets = buckets
        self.idf = idf
        self.scales = scales
        self.steps = steps
        var slotOf = [Int32](repeating: -1, count: hasher.buckets)
        for (index, bucket) in buckets.enumerated() { slotOf[Int(bucket)] = Int32(index) }
        self.slotOf = slotOf
        inflowOnly = labels.map { $0.hasPrefix("INCOME") || $0.hasPrefix("TRANSFER_IN") }
        outflowOnly = labels.map { $0.hasPrefix("TRANSFER_OUT") || $0.hasPrefix("LOAN_PAYMENTS") }
    }

    /// Weights and biases.
    public var parameterCount: Int { steps.count + bias.count }

    /// The most likely category of `input` and its probability.
    public func predict(_ input: CategorizerInput) -> Prediction {
        var scratch = Scratch(classes: labels.count)
        return predict(input, scratch: &scratch)
    }

    /// ``predict(_:)`` for many, reusing its buffers (the batch job's and the benchmark's path).
    public func predict(_ inputs: [CategorizerInput]) -> [Prediction] {
        var scratch = Scratch(classes: labels.count)
        return inputs.map { predict($0, scratch: &scratch) }
    }

    /// Buffers one prediction needs, kept between predictions of a batch.
    struct Scratch {
        var features: [Int32] = []
        var slots: [Int32] = []
        var values: [Float] = []
        var scores: [Float]

        init(classes: Int) {
            features.reserveCapacity(256)
            slots.reserveCapacity(256)
            values.reserveCapacity(256)
            scores = [Float](repeating: 0, count: classes)
        }
    }

    func predict(_ input: CategorizerInput, scratch: inout Scratch) -> Prediction {
        hasher.features(input, into: &scratch.features)
        logits(&scratch)
        if let amount = input.amountMinor, amount != 0 {
            let excluded = amount < 0 ? inflowOnly : outflowOnly
            for index in excluded.indices where excluded[index] { scratch.scores[index] = -.infinity }
        }
        let scores = scratch.scores
        var best = 0
        var second = -1
        for index in 1..<scores.count {
            if scores[index] > scores[best] {
                second = best
                best = index
            } else if second < 0 || scores[index] > scores[second] {
                second = index
            }
        }
        // Softmax at the fitted temperature, stable by subtracting the maximum.
        let top = scores[best]
        let inverse = Float(1 / temperature)
        var total: Float = 0
        for score in scores { total += Foundation.exp((score - top) * inverse) }
        return Prediction(label: labels[best], confidence: Double(1 / total), runnerUp: second >= 0 ? labels[second] : nil)
    }

    /// Raw class scores: bias plus each known feature's weights times its TF-IDF value
    /// (``TFIDF``), into `scratch.scores`.
    func logits(_ scratch: inout Scratch) {
        for index in scratch.scores.indices { scratch.scores[index] = bias[index] }
        scratch.slots.removeAll(keepingCapacity: true)
        for feature in scratch.features {
            let slot = slotOf[Int(feature)]
            if slot >= 0 { scratch.slots.append(slot) }
        }
        TFIDF.weigh(&scratch.slots, values: &scratch.values) { idf[Int($0)] }
        let classes = scratch.scores.count
        let slots = scratch.slots
        let values = scratch.values
        steps.withUnsafeBufferPointer { steps in
            scratch.scores.withUnsafeMutableBufferPointer { scores in
                for (index, slot) in slots.enumerated() {
                    let factor = values[index] * scales[Int(slot)]
                    let row = UnsafeBufferPointer(rebasing: steps[(Int(slot) * classes)..<(Int(slot) * classes + classes)])
                    for c in 0..<classes { scores[c] += Float(row[c]) * factor }
                }
            }
        }
    }
}
