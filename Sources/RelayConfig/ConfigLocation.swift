/// Where a value sits in the config file.
public struct ConfigLocation: Sendable, Equatable {
    /// The config file, exactly as the caller named it.
    public var file: String
    /// Dotted key path with list indexes, e.g. `listeners[1].filters[0]`; `""` for the document root.
    public var keyPath: String
    /// 1-based line, when known.
    public var line: Int?

    public init(file: String, keyPath: String, line: Int?) {
        self.file = file
        self.keyPath = keyPath
        self.line = line
    }

    /// A `ConfigError` at this location.
    public func error(_ message: String) -> ConfigError {
        ConfigError(file: file, keyPath: keyPath, line: line, message: message)
    }

    /// The location of the value under `key` in the mapping at this location.
    func child(_ key: String, line: Int?) -> ConfigLocation {
        ConfigLocation(file: file, keyPath: keyPath.isEmpty ? key : "\(keyPath).\(key)", line: line)
    }

    /// The location of item `index` in the list at this location.
    func item(_ index: Int, line: Int?) -> ConfigLocation {
        ConfigLocation(file: file, keyPath: "\(keyPath)[\(index)]", line: line)
    }
}
