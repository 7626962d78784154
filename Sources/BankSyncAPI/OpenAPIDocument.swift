import Foundation

/// The OpenAPI 3.1 document the API's types and server protocol are generated from, as the
/// server serves it at `/openapi.yaml` — the same bytes, so code and document cannot drift.
public enum OpenAPIDocument {
    /// The document's text.
    public static let yaml: String = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"), let text = try? String(contentsOf: url, encoding: .utf8) else {
            return "openapi: 3.1.0\ninfo: {title: BankSync API, version: unknown}\npaths: {}\n"
        }
        return text
    }()
}
