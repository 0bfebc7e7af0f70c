/// What filters learn about a request and hand on to the filters and the handler after them
/// (who the caller is, say), keyed by type so that plugins never clash on a name.
///
/// ```swift
/// enum TenantKey: RequestAttributeKey { typealias Value = String }
///
/// // In a filter:
/// var context = context
/// context.attributes[TenantKey.self] = "acme"
/// return next.respond(to: request, context: context)
///
/// // Later, in a handler:
/// let tenant = context.attributes[TenantKey.self]
/// ```
public struct RequestAttributes: Sendable {
    // Most requests carry none: an empty dictionary costs no allocation.
    private var values: [ObjectIdentifier: any Sendable] = [:]

    public init() {}

    public subscript<Key: RequestAttributeKey>(key: Key.Type) -> Key.Value? {
        get { self.values[ObjectIdentifier(key)] as? Key.Value }
        set { self.values[ObjectIdentifier(key)] = newValue }
    }
}

/// A key of ``RequestAttributes``: a type of its own, whose `Value` is what it stores.
public protocol RequestAttributeKey {
    associatedtype Value: Sendable
}
