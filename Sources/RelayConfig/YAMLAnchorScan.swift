// Yams' own copy of libyaml. Yams composes whole documents only, resolving every alias on the
// way; its token scanner is the one way to see an anchor or alias before anything is expanded.
internal import CYaml

/// Finds the first anchor (`&name`) or alias (`*name`) of a YAML text with libyaml's scanner:
/// tokens only, nothing built, linear in the text.
enum YAMLAnchorScan {
    /// Its 1-based line, and whether it is an alias; nil when there is none. A syntax error ends
    /// the scan (nil): composing the document reports it, with its place.
    static func firstAnchorOrAlias(in yaml: String) -> (line: Int, isAlias: Bool)? {
        guard !yaml.isEmpty else { return nil }
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return nil }
        defer { yaml_parser_delete(&parser) }
        var text = yaml
        return text.withUTF8 { bytes -> (line: Int, isAlias: Bool)? in
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            yaml_parser_set_input_string(&parser, bytes.baseAddress, bytes.count)
            var token = yaml_token_t()
            while yaml_parser_scan(&parser, &token) == 1 {
                let type = token.type
                let line = Int(token.start_mark.line) + 1
                yaml_token_delete(&token)
                switch type {
                case YAML_ANCHOR_TOKEN: return (line, false)
                case YAML_ALIAS_TOKEN: return (line, true)
                case YAML_STREAM_END_TOKEN, YAML_NO_TOKEN: return nil
                default: continue
                }
            }
            return nil
        }
    }
}
