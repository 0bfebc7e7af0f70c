import Yams

/// Maps a Yams parse error to a one-line `ConfigError` on the offending line.
enum YAMLSyntaxError {
    static func configError(from error: YamlError, yaml: String, file: String) -> ConfigError {
        switch error {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let detail = context.map { " (\($0.text), line \($0.mark.line))" } ?? ""
            return ConfigError(file: file, keyPath: "", line: mark.line, message: "invalid YAML: \(problem)\(detail)")
        case .reader(let problem, let offset, _, _):
            let line = offset.map { offset in yaml.prefix(offset).count(where: { $0 == "\n" }) + 1 }
            return ConfigError(file: file, keyPath: "", line: line, message: "invalid YAML: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let key = duplicates.first ?? ""
            let second =
                DuplicateKeyLocator.secondOccurrence(of: key, firstAt: context.mark, in: yaml, file: file)
                ?? ConfigLocation(file: file, keyPath: "", line: context.mark.line)
            return second.error("duplicate key \"\(key)\"")
        default:
            return ConfigError(file: file, keyPath: "", line: nil, message: "cannot parse YAML: \(error)")
        }
    }
}
