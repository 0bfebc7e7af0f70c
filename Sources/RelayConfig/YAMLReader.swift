import Yams

/// Turns YAML text into a `ConfigNode` tree: keys stay as written, every scalar value is
/// interpolated, and Yams errors become one-line `ConfigError`s.
enum YAMLReader {
    /// The document's root, or nil when the document is empty.
    static func read(yaml: String, file: String, environment: [String: String]) throws(ConfigError) -> ConfigNode? {
        // What composing could not survive is refused from the tokens first (YAMLTokenScan).
        if let found = YAMLTokenScan.firstFinding(in: yaml) {
            let message =
                switch found.finding {
                case .anchor: "YAML anchors (&name) are not supported; write the value out"
                case .alias: "YAML aliases (*name) are not supported; write the value out"
                case .tooDeep: "collections nested more than \(YAMLTokenScan.maxDepth) deep are not supported"
                }
            throw ConfigError(file: file, keyPath: "", line: found.line, message: message)
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml, .default, .default, .utf8)
        } catch let error as YamlError {
            throw YAMLSyntaxError.configError(from: error, yaml: yaml, file: file)
        } catch {
            throw ConfigError(file: file, keyPath: "", line: nil, message: "cannot parse YAML: \(error)")
        }
        guard let root else { return nil }
        let converter = Converter(interpolator: EnvironmentInterpolator(environment: environment))
        let node = try converter.convert(root, at: ConfigLocation(file: file, keyPath: "", line: root.mark?.line))
        return node.isEmpty ? nil : node
    }

    private struct Converter {
        /// Plain scalars spelled like this are empty values.
        static let emptySpellings: Set<String> = ["", "~", "null", "Null", "NULL"]

        let interpolator: EnvironmentInterpolator

        func convert(_ node: Node, at location: ConfigLocation) throws(ConfigError) -> ConfigNode {
            switch node {
            case .scalar(let scalar):
                let text = try interpolator.expand(scalar.string, at: location)
                let isEmpty = scalar.style == .plain && Self.emptySpellings.contains(text)
                return ConfigNode(location: location, value: isEmpty ? .empty : .scalar(text))
            case .mapping(let mapping):
                var entries: [ConfigMapping.Entry] = []
                var keys: Set<String> = []
                for (keyNode, valueNode) in mapping {
                    let line = keyNode.mark?.line
                    guard case .scalar(let key) = keyNode else {
                        throw ConfigError(
                            file: location.file, keyPath: location.keyPath, line: line,
                            message: "mapping keys must be plain strings")
                    }
                    guard keys.insert(key.string).inserted else {
                        throw ConfigError(
                            file: location.file, keyPath: location.keyPath, line: line,
                            message: "duplicate key \"\(key.string)\"")
                    }
                    let child = try convert(valueNode, at: location.child(key.string, line: line))
                    entries.append(ConfigMapping.Entry(key: key.string, node: child))
                }
                return ConfigNode(location: location, value: .mapping(entries))
            case .sequence(let sequence):
                var items: [ConfigNode] = []
                for (index, item) in sequence.enumerated() {
                    items.append(try convert(item, at: location.item(index, line: item.mark?.line)))
                }
                return ConfigNode(location: location, value: .list(items))
            case .alias:
                throw location.error("YAML aliases are not supported")
            }
        }
    }
}
