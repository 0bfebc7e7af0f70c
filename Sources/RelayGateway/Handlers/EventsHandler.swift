import HTTPTypes
import NIOCore
import RelayCore
import RelayHTTP

/// `GET /events/{client_id}`: the registration's messages as Server-Sent Events
/// (`text/event-stream`), for curl, shell scripts and browsers' `EventSource`. A known id gets
/// `200` and a stream that lasts until it is unregistered, replaced, the server shuts down or the
/// client goes; an unknown one `404`. Each message is one event whose `data` is the message.
///
/// - `?topics=a,b` sets the registration's topics first (the WebSocket command's limits: 400;
///   with a `jwt` filter, topics the token does not allow: 403); the list is split at its commas
///   before each name is percent-decoded, so `%2C` is a comma within a name.
/// - `HEAD` answers as `GET` would (the stream's head, no body) and changes nothing.
/// - With history on, every event's `id` is every topic's position on the stream
///   (`topic:epoch:offset,...`): a reconnect's `Last-Event-ID` (or `?since=` as on a WebSocket)
///   resumes each, and a `recovered` event per topic says whether anything was lost.
/// - Filters run first, as on any route; a `?token=` credential counts as on a WebSocket handshake.
enum EventsHandler {
    static let plugin = HandlerPlugin(name: "events", defaultMethod: .get, requiredParameters: ["client_id"], servesEventStream: true) {
        environment in
        { request, context in
            try subscriberAnswer(to: request, context: context, environment: environment, accept: Self.accept)
        }
    }

    static let lastEventID = HTTPField.Name("Last-Event-ID")!

    static let headers: HTTPFields = [
        .contentType: "text/event-stream",
        .cacheControl: "no-store",
        // nginx buffers proxied answers unless told not to.
        HTTPField.Name("X-Accel-Buffering")!: "no",
    ]

    @Sendable private static func accept(
        _ id: ClientID, request: Request, context: RequestContext, environment: HandlerEnvironment
    ) throws -> Response {
        guard let registration = environment.relay.registration(id) else {
            throw HTTPError(.notFound, "unknown client id")
        }
        if let identity = context.identity, try identity.requireUserID() != registration.userID {
            throw HTTPError(.forbidden, "this client id is registered to another user than the token's")
        }
        let settings = environment.settings
        var options = SubscribeOptions()
        do throws(SubscribeOptions.Invalid) {
            if let lastEventID = request.headers.first(Self.lastEventID), !lastEventID.isEmpty {
                // A reconnecting EventSource: its last id, not the `?since=` of the URL it first opened.
                options.since = try EventStreamFrame.positions(fromID: lastEventID, maxTopics: settings.maxTopicsPerClient)
            } else {
                options.since = try SubscribeOptions.parse(envelope: nil, since: request.queryList("since"), maxTopics: settings.maxTopicsPerClient)
                    .since
            }
        } catch {
            throw HTTPError(.badRequest, error.message)
        }
        // HEAD answers as GET would, head only, and changes nothing (RFC 9110 §9.3.2).
        let isHead = request.method == .head
        if let topics = request.queryList("topics") {
            try Self.take(topics, for: id, identity: context.identity, environment: environment, apply: !isHead)
        }
        guard !isHead else {
            // The engine answers HEAD with the stream's head alone; nothing is admitted.
            return .stream(HeadOnly(), headers: Self.headers)
        }
        return .stream(try environment.admit(id, options: options, request: request, context: context), headers: Self.headers)
    }

    /// A `HEAD`'s stand-in: the engine never installs it.
    private struct HeadOnly: ConnectionHandover {
        func install(on channel: any Channel, framing: HandoverFraming) throws {}
    }

    /// `?topics=a,b` (empty: none), checked as the WebSocket's `{"topics"}` command is, then
    /// made the registration's unless `apply` is false (a `HEAD` only checks them).
    private static func take(
        _ topics: [String], for id: ClientID, identity: RequestIdentity?, environment: HandlerEnvironment, apply: Bool
    ) throws {
        if let rights = identity?.topics {
            let refused = rights.refused(topics)
            guard refused.isEmpty else { throw HTTPError(.forbidden, "not allowed by the token: \(refused.joined(separator: ", "))") }
        }
        let known: Bool
        do throws(TopicRules.Violation) {
            guard apply else {
                _ = try environment.relay.settings.topicRules.validate(topics)
                return
            }
            known = try environment.relay.setTopics(topics, for: id)
        } catch {
            throw HTTPError(.badRequest, "topics: \(error.description)")
        }
        guard known, let registration = environment.relay.registration(id) else {
            throw HTTPError(.notFound, "unknown client id")
        }
        environment.registrations.topicsChanged(id, to: registration.topics)
    }
}
