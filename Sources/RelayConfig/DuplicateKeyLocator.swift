import Yams

/// Yams reports a duplicated mapping key at its first occurrence; config errors point at the
/// second. To find it, rename the first occurrence and compose again: the mapping that now holds
/// the renamed key holds the second occurrence under the original name.
enum DuplicateKeyLocator {
    private static let marker = "__relay_config_duplicate__"

    /// The second occurrence of `key`: the key path of its mapping and the line of the key.
    static func secondOccurrence(of key: String, firstAt first: Mark, in yaml: String, file: String) -> ConfigLocation? {
        guard let renamed = renaming(at: first, in: yaml) else { return nil }
        do {
            guard let root = try Yams.compose(yaml: renamed, .default, .default, .utf8) else { return nil }
            return search(root, for: key, at: ConfigLocation(file: file, keyPath: "", line: nil))
        } catch YamlError.duplicatedKeysInMapping(let duplicates, let context) where duplicates.first == key {
            // A third occurrence: Yams now reports the second one.
            return ConfigLocation(file: file, keyPath: "", line: context.mark.line)
        } catch {
            return nil
        }
    }

    /// `yaml` with the marker inserted after the first character of the key at `mark`
    /// (after the quote of a quoted key), which makes that key unique.
    private static func renaming(at mark: Mark, in yaml: String) -> String? {
        var lines = yaml.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard mark.line >= 1, mark.line <= lines.count else { return nil }
        var scalars = Array(lines[mark.line - 1].unicodeScalars)
        guard mark.column >= 1, mark.column <= scalars.count else { return nil }
        scalars.insert(contentsOf: marker.unicodeScalars, at: mark.column)
        lines[mark.line - 1] = String(String.UnicodeScalarView(scalars))
        return lines.joined(separator: "\n")
    }

    private static func search(_ node: Node, for key: String, at location: ConfigLocation) -> ConfigLocation? {
        switch node {
        case .mapping(let mapping):
            let keys = mapping.map(\.key)
            if keys.contains(where: { $0.scalar?.string.contains(marker) == true }),
                let second = keys.first(where: { $0.scalar?.string == key })
            {
                return ConfigLocation(file: location.file, keyPath: location.keyPath, line: second.mark?.line)
            }
            for (keyNode, value) in mapping {
                let child = location.child(keyNode.scalar?.string ?? "", line: nil)
                if let found = search(value, for: key, at: child) { return found }
            }
            return nil
        case .sequence(let sequence):
            for (index, item) in sequence.enumerated() {
                if let found = search(item, for: key, at: location.item(index, line: nil)) { return found }
            }
            return nil
        case .scalar, .alias:
            return nil
        }
    }
}
