public import Foundation

/// The model BankSync ships (`Resources/model.bscm`, trained from `Resources/training.csv`).
public enum ShippedModel {
    /// Where the shipped weights file is, if the resources were installed with the binary.
    public static var path: String? { Bundle.module.path(forResource: "model", ofType: "bscm", inDirectory: "Resources") }

    /// Loads `path` if given (configuration), else the shipped model.
    /// - Throws: ``CategorizerError/corruptWeights(path:reason:)`` — start-up stops with it.
    public static func load(path configured: String? = nil) throws(CategorizerError) -> CategoryModel {
        guard let path = configured ?? path else {
            throw .corruptWeights(path: "Resources/model.bscm", reason: "it is not installed beside the binary (copy the banksync_BankSyncCategorizer resources, or set BANKSYNC_CATEGORIZER_WEIGHTS)")
        }
        return try WeightsFile.read(path: path)
    }
}

extension ShippedModel {
    /// The labeled rows the shipped model was trained from (`Resources/training.csv`): the
    /// base a tenant's re-training adds its corrections to.
    /// - Throws: ``CategorizerError`` when the file is missing or unreadable.
    public static func trainingRows() throws(CategorizerError) -> [LabeledRow] {
        guard let path = Bundle.module.path(forResource: "training", ofType: "csv", inDirectory: "Resources"),
            let text = try? String(contentsOfFile: path, encoding: .utf8)
        else { throw .invalidData("the shipped training.csv is not installed beside the binary") }
        return try LabeledCSV.read(text)
    }
}
