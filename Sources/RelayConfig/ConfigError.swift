/// A config problem, printed once at the edge as `FILE:LINE: KEY.PATH: message`
/// (`:LINE` is left out when the line is unknown, `KEY.PATH: ` when the key path is empty).
public struct ConfigError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The config file, exactly as the caller named it.
    public var file: String
    /// Where in the document, e.g. `listeners[0].routes[2].handler`; `""` for the whole file.
    public var keyPath: String
    /// 1-based line, when known.
    public var line: Int?
    /// What is wrong, in one line.
    public var message: String

    public init(file: String, keyPath: String, line: Int?, message: String) {
        self.file = file
        self.keyPath = keyPath
        self.line = line
        self.message = message
    }

    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        text += ": "
        if !keyPath.isEmpty { text += "\(keyPath): " }
        return text + message
    }
}
