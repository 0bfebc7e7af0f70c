/// Whether two configs say the same thing somewhere, wherever in their files they say it: what a
/// reload uses to keep what did not change (a rate limiter's buckets, a listener's socket).
extension ConfigNode {
    /// The same value: equal scalars, lists item by item, mappings key by key in order;
    /// locations (lines, key paths) are not compared.
    public func sameValue(as other: ConfigNode) -> Bool {
        switch (self.value, other.value) {
        case (.empty, .empty):
            return true
        case (.scalar(let a), .scalar(let b)):
            return a == b
        case (.list(let a), .list(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.sameValue(as: $1) }
        case (.mapping(let a), .mapping(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.node.sameValue(as: $1.node) }
        default:
            return false
        }
    }
}

extension FilterDeclaration {
    /// The same name, type and options.
    public func declaresTheSame(as other: FilterDeclaration) -> Bool {
        self.name == other.name && self.type == other.type
            && ConfigNode(location: self.options.location, value: .mapping(self.options.items))
                .sameValue(as: ConfigNode(location: other.options.location, value: .mapping(other.options.items)))
    }
}

extension TokenDeclaration {
    /// The same name and secret.
    public func declaresTheSame(as other: TokenDeclaration) -> Bool {
        self.name == other.name && self.secret == other.secret
    }
}
