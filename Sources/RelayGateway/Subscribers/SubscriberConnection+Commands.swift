import NIOCore
import RelayCore
import RelayHTTP

/// What a subscriber says (``ClientCommand``: `ping`, new topics, envelope mode, resume, a renewed
/// token) and its credentials: renewed by the client, checked again by a reload.
extension SubscriberConnection {
    /// A text message from the client.
    func command(_ text: String) {
        do {
            switch try ClientCommand.parse(text) {
            case .ping:
                self.write(ServerFrame.text("pong", allocator: self.allocator))
            case .update(let update):
                try self.apply(update)
            case .renew(let token):
                self.renew(with: token)
            }
        } catch let error as ClientCommand.Invalid {
            self.reply(error: error.message)
        } catch {
            self.reply(error: "\(error)")
        }
    }

    /// Envelope mode first, then the new topics, then the replays, so a resumed topic can be one
    /// the same command subscribes to.
    private func apply(_ update: ClientCommand.Update) throws {
        let relay = self.hub.relay
        guard let before = relay.registration(self.clientID) else { return }
        let wasEnvelope = self.envelopeMode
        if update.envelope == true {
            self.enableEnvelopes()
        } else if update.envelope == false && wasEnvelope {
            throw ClientCommand.Invalid(message: "envelope mode cannot be turned off on a connection")
        }
        if var topics = update.topics {
            if let rights = self.credentials?.identity.topics {
                let refused = rights.refused(topics)
                if !refused.isEmpty {
                    self.reply(error: "not allowed by the token: \(refused.joined(separator: ", "))")
                    topics.removeAll { refused.contains($0) }
                }
            }
            try relay.setTopics(topics, for: self.clientID)
        }
        guard let registration = relay.registration(self.clientID) else { return }
        if update.topics != nil {
            self.keepCursors(for: registration.topics)
            self.hub.registrations.topicsChanged(self.clientID, to: registration.topics)
        }
        self.resume(update.resume.map { ($0.topic, $0.position) }, topics: registration.topics, userID: registration.userID)
        // New topics (all of them for a client that just turned envelopes on) get their position.
        let unannounced = wasEnvelope ? registration.topics.subtracting(before.topics) : registration.topics
        self.announce(unannounced.subtracting(update.resume.map(\.topic)))
    }

    // MARK: Credentials

    /// Checks a renewed token off the event loop (its signature may take a while), then applies
    /// it here: same user only; topics it no longer allows are dropped, with a notice.
    private func renew(with token: String) {
        guard let credentials = self.credentials, let renew = credentials.identity.renew else {
            return self.reply(error: "this connection was not opened with a token to renew")
        }
        guard !credentials.checking else {
            return self.reply(error: "a token is being checked already; send the next when it is answered")
        }
        credentials.checking = true
        self.eventLoop.makeFutureWithTask { () async -> Result<RequestIdentity, HTTPError> in
            do throws(HTTPError) {
                return .success(try await renew(token))
            } catch {
                return .failure(error)
            }
        }
        .assumeIsolated()
        .whenSuccess { result in
            self.credentials?.checking = false
            guard self.state == .open else { return }
            switch result {
            case .failure(let error):
                self.reply(error: "token refused: \(error.message)")
            case .success(let identity):
                guard self.adopt(identity, token: token) else {
                    return self.reply(error: "token refused: it is for another user than the connection's")
                }
                let expiry = identity.expiresAt.map { #","expires_at":\#(Int($0))"# } ?? ""
                self.write(ServerFrame.text(#"{"token":"accepted"\#(expiry)}"#, allocator: self.allocator))
            }
        }
    }

    /// What a reload's filters judge (``SubscriberRecheck``): nil once it is ending. A renewal
    /// waits until the verdict is in, so the token checked is the one the verdict applies to.
    func openSubscriber() -> OpenSubscriber? {
        guard self.state == .open else { return nil }
        self.credentials?.checking = true
        return OpenSubscriber(
            handshake: self.handshake.request, credential: self.credentials?.token ?? self.handshake.credential,
            identity: self.credentials?.identity, listener: self.listener
        )
    }

    /// What a reload's filters decided about this connection, checked while it held `token`:
    /// refused, it ends with 1008 and the reason; let in as another identity (new rights), it
    /// takes them, or ends when they are for another user. A renewal answered meanwhile holds
    /// a newer token than the one checked, and wins.
    func readmitted(_ verdict: Readmission, checkedWith token: String?) {
        self.credentials?.checking = false
        guard self.state == .open else { return }
        if let credentials = self.credentials, credentials.token != token { return }
        switch verdict {
        case .keep:
            break
        case .update(let identity):
            guard let token, self.adopt(identity, token: token) else {
                return self.end(.credentialsRevoked("token no longer accepted"), afterQueued: false)
            }
        case .refuse(let reason):
            self.end(.credentialsRevoked(reason), afterQueued: false)
        }
    }

    /// New credentials for this connection: same user only; topics they no longer allow are
    /// dropped, with a notice.
    private func adopt(_ identity: RequestIdentity, token: String) -> Bool {
        let relay = self.hub.relay
        if let credentials = self.credentials {
            guard credentials.replace(with: identity, token: token) else { return false }
        } else {
            // Opened without credentials (a reload put a `jwt` filter in front of it): its token
            // must name the registration's user, as at a handshake.
            guard identity.userID != nil, identity.userID == relay.registration(self.clientID)?.userID else { return false }
            self.credentials = SubscriberCredentials(identity, token: token)
            self.startCredentialsClock()
        }
        guard let registration = relay.registration(self.clientID) else { return true }
        let dropped = identity.topics.refused(registration.topics)
        guard !dropped.isEmpty else { return true }
        guard (try? relay.setTopics(registration.topics.filter(identity.topics.allows).sorted(), for: self.clientID)) == true else {
            self.end(.credentialsRevoked("topics the token no longer allows could not be dropped"), afterQueued: false)
            return true
        }
        let topics = relay.registration(self.clientID)?.topics ?? []
        self.keepCursors(for: topics)
        self.hub.registrations.topicsChanged(self.clientID, to: topics)
        self.tell("topics no longer allowed by the token: \(dropped.joined(separator: ", "))", isError: false)
        return true
    }
}
