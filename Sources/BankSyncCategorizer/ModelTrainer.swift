public import Foundation

/// Trains a ``CategoryModel`` from labeled rows: multinomial logistic regression by AdaGrad
/// SGD over hashed features, classes weighted by 1/√frequency (so rare categories are not
/// drowned out), the weights averaged over the second half of the epochs, a temperature fitted on a held-out tenth, then the weights retrained on
/// every row and pruned of near-zero entries. Deterministic for a fixed seed: the order of
/// every update comes from the seed.
public enum ModelTrainer {
    public struct Options: Sendable, Hashable {
        public var bits = 18
        public var epochs = 20
        public var learningRate: Float = 0.05
        public var l2: Float = 1e-6
        public var seed: UInt64 = 20_261_126
        /// Share of rows held out to fit the temperature (none below 50 rows).
        public var calibrationShare = 0.1
        /// Weight classes by 1/√frequency.
        public var balanceClasses = true
        /// Models trained with differently seeded orders whose weights are averaged (one
        /// linear model in the end: prediction costs the same).
        public var ensemble = 1
        /// Average the weights over the second half of the epochs instead of keeping the
        /// last pass's: SGD's last iterate jitters with the final shuffles; the average
        /// generalises better (+0.004 macro-F1 on ten tuning splits, docs/CATEGORIZATION.md).
        public var averageEpochs = true

        public init() {}
    }

    /// - Throws: ``CategorizerError/invalidData(_:)`` with fewer than two rows or two labels.
    public static func train(_ rows: [(CategorizerInput, String)], options: Options = Options(), now: Date = Date()) throws(CategorizerError)
        -> CategoryModel
    {
        let labels = Array(Set(rows.map(\.1))).sorted()
        guard rows.count >= 2, labels.count >= 2 else {
            throw .invalidData("training needs at least two labeled rows and two categories (got \(rows.count) rows, \(labels.count) categories)")
        }
        guard labels.count <= Int(UInt16.max) else { throw .invalidData("too many categories (\(labels.count))") }
        let hasher = FeatureHasher(bits: options.bits)
        let classOf = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) })

        // Features once, as compact ids (only buckets that occur get weights while training).
        var compactOf: [Int32: Int32] = [:]
        var bucketOf: [Int32] = []
        var buffer: [Int32] = []
        let raw: [([Int32], Int)] = rows.map { input, label in
            hasher.features(input, into: &buffer)
            let ids = buffer.map { bucket -> Int32 in
                if let id = compactOf[bucket] { return id }
                let id = Int32(bucketOf.count)
                compactOf[bucket] = id
                bucketOf.append(bucket)
                return id
            }
            return (ids, classOf[label]!)
        }
        // Inverse document frequency of each feature over the training rows (smoothed, as
        // scikit-learn's TfidfVectorizer): common n-grams ("pos", "debit") weigh little.
        var documents = [Int32](repeating: 0, count: bucketOf.count)
        for (ids, _) in raw { for id in Set(ids) { documents[Int(id)] += 1 } }
        let idf: [Float] = documents.map { Float(Foundation.log(Double(raw.count + 1) / Double($0 + 1)) + 1) }
        let samples: [Sample] = raw.map { ids, label in
            var features = ids
            var values: [Float] = []
            TFIDF.weigh(&features, values: &values) { idf[Int($0)] }
            return Sample(features: features, values: values, label: label)
        }
        var counts = [Int](repeating: 0, count: labels.count)
        for sample in samples { counts[sample.label] += 1 }
        let classWeights: [Float] = counts.map { count in
            options.balanceClasses ? Float((Double(samples.count) / Double(labels.count * max(count, 1))).squareRoot()) : 1
        }

        // Temperature from a held-out tenth.
        var temperature = 1.0
        let holdOut = samples.count >= 50 && options.calibrationShare > 0
        if holdOut {
            var random = SplitMix64(seed: options.seed ^ 0xCA1B)
            let threshold = UInt64(Double(UInt64.max) * options.calibrationShare)
            var fit: [Sample] = []
            var calibration: [Sample] = []
            for sample in samples { if random.next() < threshold { calibration.append(sample) } else { fit.append(sample) } }
            if !calibration.isEmpty && Set(fit.map(\.label)).count >= 2 {
                let partial = Weights.trained(fit, features: bucketOf.count, classes: labels.count, classWeights: classWeights, options: options)
                temperature = partial.fitTemperature(calibration)
            }
        }
        let final = Weights.trained(samples, features: bucketOf.count, classes: labels.count, classWeights: classWeights, options: options)
        return final.model(
            labels: labels, hasher: hasher, bucketOf: bucketOf, idf: idf, temperature: temperature,
            info: .init(trainingRows: rows.count, seed: options.seed, epochs: options.epochs, createdAt: now))
    }

    struct Sample {
        /// Distinct compact feature ids and their normalised TF-IDF values.
        let features: [Int32]
        let values: [Float]
        let label: Int
    }

    /// Dense weights over the compact feature ids, with AdaGrad's accumulators.
    final class Weights {
        let classes: Int
        var w: [Float]
        var g: [Float]
        var b: [Float]
        var gb: [Float]

        init(features: Int, classes: Int) {
            self.classes = classes
            w = [Float](repeating: 0, count: features * classes)
            g = [Float](repeating: 0, count: features * classes)
            b = [Float](repeating: 0, count: classes)
            gb = [Float](repeating: 0, count: classes)
        }

        /// `options.ensemble` models, each seeded differently, averaged into one.
        static func trained(_ samples: [Sample], features: Int, classes: Int, classWeights: [Float], options: Options) -> Weights {
            let result = Weights(features: features, classes: classes)
            let members = max(options.ensemble, 1)
            for member in 0..<members {
                var memberOptions = options
                memberOptions.seed = options.seed &+ UInt64(member) &* 0x5851_F42D_4C95_7F2D
                let model = Weights(features: features, classes: classes)
                model.train(samples, classWeights: classWeights, options: memberOptions)
                result.accumulate(model.w, model.b, scale: 1 / Float(members))
            }
            return result
        }

        func accumulate(_ otherW: [Float], _ otherB: [Float], scale: Float) {
            w.withUnsafeMutableBufferPointer { w in
                for i in otherW.indices { w[i] += otherW[i] * scale }
            }
            for c in 0..<classes { b[c] += otherB[c] * scale }
        }

        func logits(_ sample: Sample, into z: inout [Float]) {
            for c in 0..<classes { z[c] = b[c] }
            w.withUnsafeBufferPointer { w in
                for (index, feature) in sample.features.enumerated() {
                    let base = Int(feature) * classes
                    let value = sample.values[index]
                    for c in 0..<classes { z[c] += w[base + c] * value }
                }
            }
        }

        static func softmax(_ z: inout [Float], temperature: Float = 1) {
            let top = z.max() ?? 0
            var total: Float = 0
            for c in z.indices {
                z[c] = Foundation.exp((z[c] - top) / temperature)
                total += z[c]
            }
            for c in z.indices { z[c] /= total }
        }

        func train(_ samples: [Sample], classWeights: [Float], options: Options) {
            var order = Array(samples.indices)
            var z = [Float](repeating: 0, count: classes)
            let epsilon: Float = 1e-8
            let averageFrom = options.averageEpochs ? options.epochs / 2 : options.epochs
            var sumW: [Float] = []
            var sumB: [Float] = []
            defer {
                if !sumW.isEmpty {
                    let scale = 1 / Float(options.epochs - averageFrom)
                    w = sumW.map { $0 * scale }
                    b = sumB.map { $0 * scale }
                }
            }
            for epoch in 0..<options.epochs {
                defer {
                    if epoch >= averageFrom {
                        if sumW.isEmpty {
                            sumW = w
                            sumB = b
                        } else {
                            sumW.withUnsafeMutableBufferPointer { sum in for i in w.indices { sum[i] += w[i] } }
                            for c in 0..<classes { sumB[c] += b[c] }
                        }
                    }
                }
                var random = SplitMix64(seed: options.seed &+ UInt64(epoch) &* 0x9E37)
                for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(random.next() % UInt64(i + 1))) }
                for index in order {
                    let sample = samples[index]
                    logits(sample, into: &z)
                    Self.softmax(&z)
                    let weight = classWeights[sample.label]
                    for c in 0..<classes { z[c] = weight * (z[c] - (c == sample.label ? 1 : 0)) }  // dLoss/dlogit
                    for c in 0..<classes {
                        gb[c] += z[c] * z[c]
                        b[c] -= options.learningRate * z[c] / (gb[c].squareRoot() + epsilon)
                    }
                    w.withUnsafeMutableBufferPointer { w in
                        g.withUnsafeMutableBufferPointer { g in
                            for (index, feature) in sample.features.enumerated() {
                                let base = Int(feature) * classes
                                let value = sample.values[index]
                                for c in 0..<classes {
                                    let gradient = z[c] * value + options.l2 * w[base + c]
                                    g[base + c] += gradient * gradient
                                    w[base + c] -= options.learningRate * gradient / (g[base + c].squareRoot() + epsilon)
                                }
                            }
                        }
                    }
                }
            }
        }

        /// The temperature minimising the held-out rows' negative log-likelihood (golden-section
        /// search over log T in [1/20, 20]).
        func fitTemperature(_ samples: [Sample]) -> Double {
            var z = [Float](repeating: 0, count: classes)
            let all: [([Float], Int)] = samples.map { sample in
                logits(sample, into: &z)
                return (z, sample.label)
            }
            func loss(_ logT: Double) -> Double {
                let t = Foundation.exp(logT)
                var total = 0.0
                for (logits, label) in all {
                    let top = Double(logits.max() ?? 0)
                    var sum = 0.0
                    for value in logits { sum += Foundation.exp((Double(value) - top) / t) }
                    total += -((Double(logits[label]) - top) / t - Foundation.log(sum))
                }
                return total
            }
            var low = Foundation.log(0.05)
            var high = Foundation.log(20.0)
            let ratio = (5.0.squareRoot() - 1) / 2
            for _ in 0..<40 {
                let a = high - ratio * (high - low)
                let c = low + ratio * (high - low)
                if loss(a) < loss(c) { high = c } else { low = a }
            }
            return Foundation.exp((low + high) / 2)
        }

        func model(
            labels: [String], hasher: FeatureHasher, bucketOf: [Int32], idf: [Float], temperature: Double, info: CategoryModel.Info
        ) -> CategoryModel {
            // Every bucket seen in training, ascending, with its IDF and its row of weights.
            let order = bucketOf.indices.sorted { bucketOf[$0] < bucketOf[$1] }
            var rows: [Float] = []
            rows.reserveCapacity(order.count * classes)
            for id in order { rows += w[(id * classes)..<((id + 1) * classes)] }
            return CategoryModel(
                labels: labels, hasher: hasher, temperature: temperature, info: info, bias: b, buckets: order.map { bucketOf[$0] },
                idf: order.map { idf[$0] }, weights: rows)
        }
    }
}

/// Term weights as scikit-learn's `TfidfVectorizer(sublinear_tf=True)` computes them:
/// (1 + ln tf) × idf per distinct feature, then the vector scaled to unit length. Training and
/// prediction share it; features unseen in training never reach it (prediction drops them).
enum TFIDF {
    /// Distinct features of `ids` (any order, repeats allowed) with their values; features
    /// without an IDF (unseen in training) are left out, as a fitted vocabulary would.
    /// In place: sorts `ids`, keeps each distinct id once, and fills `values` to match.
    static func weigh(_ ids: inout [Int32], values: inout [Float], idf: (Int32) -> Float) {
        ids.sort()
        values.removeAll(keepingCapacity: true)
        var write = 0
        var index = 0
        var norm: Float = 0
        while index < ids.count {
            var end = index + 1
            while end < ids.count && ids[end] == ids[index] { end += 1 }
            let value = (end - index == 1 ? 1 : 1 + Foundation.log(Float(end - index))) * idf(ids[index])
            ids[write] = ids[index]
            values.append(value)
            norm += value * value
            write += 1
            index = end
        }
        ids.removeLast(ids.count - write)
        if norm > 0 {
            let scale = 1 / norm.squareRoot()
            for i in values.indices { values[i] *= scale }
        }
    }
}

/// A small seeded generator (splitmix64): the trainer's shuffles and splits, reproducible
/// everywhere.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return FeatureHasher.mix(state &- 0x9E37_79B9_7F4A_7C15)
    }
}
