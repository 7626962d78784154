/// A configuration value that is missing or wrong. The message names the variable, what was
/// expected and (unless the value is a secret) what was found.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    /// The environment variable (or its key in the configuration file).
    public var variable: String
    public var message: String

    public init(variable: String, message: String) {
        self.variable = variable
        self.message = message
    }

    public var description: String { "\(variable): \(message)" }
}
