import Logging
import NIOCore
import NIOExtras
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket
import ServiceLifecycle
import Synchronization

/// One listening socket serving a ``Router`` over HTTP/1.1, as a service of a `ServiceGroup`.
///
/// Each connection runs on one of NIO's event loops from accept to close (see
/// ``HTTPConnection``). On graceful shutdown the socket stops accepting and every connection is
/// told to quiesce: idle ones close, busy ones after their answer, WebSockets as their handlers
/// decide; the service returns once all are closed (or at once, when cancelled).
///
/// ```swift
/// let router = Router(routes: [Route(method: .get, segments: [.literal("health")], responder: HandlerResponder { _, _ in
///     .now(Response(status: .ok))
/// })], listenerFilters: [])
/// let server = HTTPServer(configuration: .init(host: "127.0.0.1", port: 8000), router: router, logger: logger)
/// try await ServiceGroup(services: [server], logger: logger).run()
/// ```
public struct HTTPServer: Service {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// The first request head, and each request's body, must arrive within this.
        public var handshakeTimeout: TimeAmount = .seconds(10)
        /// Idle keep-alive connections are closed after this; nil: never.
        public var idleTimeout: TimeAmount? = .seconds(60)
        /// Bigger request bodies are answered 413.
        public var maxBodyBytes: Int = 1 << 20
        /// The largest WebSocket frame accepted on upgraded connections.
        public var maxFrameSize: Int = 1 << 20
        /// Bigger request heads (the request line and all header fields) are answered 431.
        public var maxHeadBytes: Int = 80 * 1024
        public var backlog: Int32 = 256
        /// Told of each connection to a TLS listener that never got to HTTP, and why. (The TLS
        /// context itself is part of the ``ListenerContent``; its handshake counts against
        /// `handshakeTimeout`.)
        public var onTLSFailure: @Sendable (TLSFailure) -> Void = { _ in }

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
    }

    let configuration: Configuration
    let content: ListenerContent
    let logger: Logger
    let onBound: @Sendable (Int) async -> Void

    /// - Parameter content: the router and TLS context, which may be replaced while serving.
    public init(
        configuration: Configuration, content: ListenerContent, logger: Logger, onBound: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.content = content
        self.logger = logger
        self.onBound = onBound
    }

    /// Serves `router` over plain HTTP, for good.
    public init(configuration: Configuration, router: Router, logger: Logger, onBound: @escaping @Sendable (Int) async -> Void = { _ in }) {
        self.init(configuration: configuration, content: ListenerContent(router: router), logger: logger, onBound: onBound)
    }

    public func run() async throws {
        await self.serve(try await self.bind())
    }

    /// Opens the listening socket (and calls `onBound` with its port); ``serve(_:)`` then serves it.
    /// Binding first lets a caller that starts several listeners give up on all of them when one
    /// address is taken (``BoundListener/close()``), before any has served a request.
    public func bind() async throws -> BoundListener {
        let group = MultiThreadedEventLoopGroup.singleton
        let quiescing = ServerQuiescingHelper(group: group)
        let configuration = self.configuration
        let settings = HTTPConnection.Settings(configuration)
        let limits = Self.limits(configuration)
        let content = self.content
        let logger = self.logger
        let upgrader = Self.upgrader(configuration)
        let onTLSFailure = configuration.onTLSFailure
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: configuration.backlog)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(quiescing.makeServerChannelHandler(channel: channel))
                }
            }
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            // NIO keeps each channel's last receive buffer for the next read, for the channel's
            // life: at the default 2 KiB start an idle subscriber holds 2 KiB it never uses. Reads
            // that fill the buffer grow it (a request with a big body), as by default.
            .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65536))
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let current = content.connection
                    let tls = current.tls.map { ($0, onTLSFailure) }
                    try Self.configure(
                        channel, content: content, settings: current.limits ?? settings, limits: limits,
                        upgrader: upgrader, tls: tls, logger: logger
                    )
                }
            }
            .bind(host: configuration.host, port: configuration.port)
            .get()
        let bound = BoundListener(channel: channel, quiescing: quiescing, port: channel.localAddress?.port ?? configuration.port)
        await self.onBound(bound.port)
        return bound
    }

    /// Serves `bound` until graceful shutdown (or ``BoundListener/stop()``): then the socket stops
    /// accepting, every connection is told to quiesce, and this returns once all are closed (or
    /// at once, when cancelled).
    public func serve(_ bound: BoundListener) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await gracefulShutdown() }
            group.addTask { await Self.waitUnlessCancelled(bound.stopped.futureResult) }
            await group.next()
            group.cancelAll()
        }
        bound.stopped.succeed()  // a promise must not be left unfulfilled (NIO checks in debug builds)
        let closed = bound.channel.eventLoop.makePromise(of: Void.self)
        bound.quiescing.initiateShutdown(promise: closed)
        await Self.waitUnlessCancelled(closed.futureResult)
    }

    /// A new connection's pipeline: on a TLS listener the ``PlainHTTPRefusal``, NIO's TLS handler
    /// and the ``TLSHandshakeWatch``; then the ``ReceivedBytesMeter``, NIO's request decoder and
    /// the ``HTTPConnection``.
    static func configure(
        _ channel: any Channel, content: ListenerContent, settings: HTTPConnection.Settings, limits: NIOHTTPDecoderLimitConfiguration,
        upgrader: NIOWebSocketServerUpgrader, tls: (context: NIOSSLContext, onFailure: @Sendable (TLSFailure) -> Void)?,
        logger: Logger
    ) throws {
        let sync = channel.pipeline.syncOperations
        if let tls {
            // The client's close_notify ends a TLS connection (RFC 5246 7.2.1), so its input is
            // never half-closed: with half-closure allowed, NIOSSL, having sent its own
            // close_notify for a `Connection: close` answer, ignores the client's answer to it and
            // holds the connection in CLOSE-WAIT until its 5 s shutdown timeout.
            try channel.syncOptions?.setOption(ChannelOptions.allowRemoteHalfClosure, value: false)
            let watch = TLSHandshakeWatch(onFailure: tls.onFailure)
            try sync.addHandler(PlainHTTPRefusal(watch: watch))
            try sync.addHandler(NIOSSLServerHandler(context: tls.context))
            try sync.addHandler(watch)
        }
        let meter = ReceivedBytesMeter(maxBodyBytes: settings.maxBodyBytes)
        let decoder = ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes, limitConfiguration: limits))
        let connection = HTTPConnection(content: content, settings: settings, meter: meter, decoder: decoder, upgrader: upgrader, logger: logger)
        meter.connection = connection
        try sync.addHandler(meter)
        try sync.addHandler(decoder)
        try sync.addHandler(connection)
    }

    static func limits(_ configuration: Configuration) -> NIOHTTPDecoderLimitConfiguration {
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderFieldSize = configuration.maxHeadBytes
        limits.maxHeaderListSize = configuration.maxHeadBytes
        limits.maxHeaderFieldCount = 256
        return limits
    }

    /// Only computes Sec-WebSocket-Accept: the handshake is checked and decided before it is asked.
    static func upgrader(_ configuration: Configuration) -> NIOWebSocketServerUpgrader {
        NIOWebSocketServerUpgrader(
            maxFrameSize: configuration.maxFrameSize, automaticErrorHandling: false,
            shouldUpgrade: { channel, _ in channel.eventLoop.makeSucceededFuture(HTTPHeaders()) },
            upgradePipelineHandler: { channel, _ in channel.eventLoop.makeSucceededVoidFuture() }
        )
    }

    /// Waits for `future`; a cancelled task stops waiting at once.
    private static func waitUnlessCancelled(_ future: EventLoopFuture<Void>) async {
        let waiting = Mutex<CheckedContinuation<Void, Never>?>(nil)
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                waiting.withLock { $0 = continuation }
                future.whenComplete { _ in waiting.withLock { $0.take() }?.resume() }
                if Task.isCancelled { waiting.withLock { $0.take() }?.resume() }
            }
        } onCancel: {
            waiting.withLock { $0.take() }?.resume()
        }
    }
}

/// A listening socket that ``HTTPServer/bind()`` opened.
public final class BoundListener: Sendable {
    let channel: any Channel
    let quiescing: ServerQuiescingHelper
    /// Succeeded by ``stop()``, ``close()`` or the end of ``HTTPServer/serve(_:)``: whoever binds
    /// must serve or close.
    let stopped: EventLoopPromise<Void>
    /// The port bound (the configured one, or the one picked for port 0).
    public let port: Int

    init(channel: any Channel, quiescing: ServerQuiescingHelper, port: Int) {
        self.channel = channel
        self.quiescing = quiescing
        self.stopped = channel.eventLoop.makePromise(of: Void.self)
        self.port = port
    }

    /// Ends ``HTTPServer/serve(_:)`` as a graceful shutdown would, for this listener alone.
    public func stop() {
        self.stopped.succeed()
    }

    /// Closes a socket that was never served.
    public func close() {
        self.stopped.succeed()
        self.channel.close(promise: nil)
    }
}

extension HTTPServer: CustomStringConvertible {
    /// What a `ServiceGroup` logs for this service: its address, nothing of its routes (whose
    /// filters may hold secrets).
    public var description: String {
        "HTTPServer(\(self.configuration.host):\(self.configuration.port))"
    }
}
