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
