// Yams' own copy of libyaml. Yams composes whole documents only, resolving every alias on the
// way; its token scanner is the one way to see an anchor, an alias or deep nesting before
// anything is built.
internal import CYaml

/// Reads a YAML text's tokens with libyaml's scanner, before it is composed, for what must be
/// refused first: an anchor (`&name`) or alias (`*name`), since composing expands every alias
/// (a 1 KB alias bomb grows to gigabytes), and nesting deeper than ``maxDepth``, since libyaml's
/// scanner is quadratic in the depth of flow collections (`[[[[...]]]]`: 20,000 levels take 1.3 s,
/// 100,000 more than 12). The scan stops at the first of them, so what it does is linear in the
/// text: a simple key looks ahead at most 1,024 characters, so the stack it walks per token stays
/// below `maxDepth` plus that.
enum YAMLTokenScan {
    /// Collections inside collections, flow or block; a config needs a handful.
    static let maxDepth = 64

    enum Finding: Equatable {
        case anchor, alias, tooDeep
    }

    /// The first finding and its 1-based line; nil when there is none. A syntax error ends the
    /// scan (nil): composing the document reports it, with its place.
    static func firstFinding(in yaml: String) -> (finding: Finding, line: Int)? {
        guard !yaml.isEmpty else { return nil }
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return nil }
        defer { yaml_parser_delete(&parser) }
        var text = yaml
        return text.withUTF8 { bytes -> (finding: Finding, line: Int)? in
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            yaml_parser_set_input_string(&parser, bytes.baseAddress, bytes.count)
            var token = yaml_token_t()
            var depth = 0
            while yaml_parser_scan(&parser, &token) == 1 {
                let type = token.type
                let line = Int(token.start_mark.line) + 1
                yaml_token_delete(&token)
                switch type {
                case YAML_ANCHOR_TOKEN: return (.anchor, line)
                case YAML_ALIAS_TOKEN: return (.alias, line)
                case YAML_FLOW_SEQUENCE_START_TOKEN, YAML_FLOW_MAPPING_START_TOKEN, YAML_BLOCK_SEQUENCE_START_TOKEN, YAML_BLOCK_MAPPING_START_TOKEN:
                    depth += 1
                    if depth > Self.maxDepth { return (.tooDeep, line) }
                case YAML_FLOW_SEQUENCE_END_TOKEN, YAML_FLOW_MAPPING_END_TOKEN, YAML_BLOCK_END_TOKEN:
                    depth -= 1
                case YAML_STREAM_END_TOKEN, YAML_NO_TOKEN: return nil
                default: continue
                }
            }
            return nil
        }
    }
}
