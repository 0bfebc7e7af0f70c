import Hummingbird

extension RouteTable.Listener {
    /// Methods that get `405` on a declared path that does not serve them.
    private static let knownMethods: [HTTPRequest.Method] = [.get, .post, .put, .delete, .patch, .options]

    /// The Hummingbird router of this listener: JSON errors outermost, then the listener's
    /// filters, then per route its own filters and handler. A path that exists but not for the
    /// request's method answers `405` with `Allow`.
    func makeRouter(environment shared: HandlerEnvironment) -> Router<RelayRequestContext> {
        var environment = shared
        environment.listenerName = self.config.name
        let router = Router(context: RelayRequestContext.self, options: .autoGenerateHeadEndpoints)
        router.add(middleware: JSONErrorMiddleware())
        for filter in self.filters {
            router.add(middleware: filter.middleware)
        }
        router.add(middleware: DrainingGuard(state: environment.drain))
        var paths: [String] = []
        var methodsByPath: [String: [HTTPRequest.Method]] = [:]
        for route in self.routes {
            let group = router.group()
            for filter in route.filters {
                group.add(middleware: filter.middleware)
            }
            group.on(RouterPath(route.path), method: route.method, use: route.handler.make(environment))
            if methodsByPath[route.path] == nil { paths.append(route.path) }
            methodsByPath[route.path, default: []].append(route.method)
        }
        for path in paths {
            let methods = methodsByPath[path]!
            let allow = methods.map(\.rawValue).joined(separator: ", ")
            for method in Self.knownMethods where !methods.contains(method) {
                router.on(RouterPath(path), method: method) { request, _ -> Response in
                    throw RelayHTTPError(.methodNotAllowed, "\(request.method.rawValue) is not allowed here; use \(allow)", headers: [.allow: allow])
                }
            }
        }
        return router
    }
}
