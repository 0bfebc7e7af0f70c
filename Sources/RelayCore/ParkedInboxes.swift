import DequeModule
import Synchronization

/// Messages addressed to a user (a publish with `user_id`) that reach one of that user's
/// registrations while it has no live connection: kept until it reconnects, so a short drop loses
/// none of them.
///
/// Bounded twice: at most `capacity` messages per registration (the oldest go first), and at most
/// `maxBytes` over all registrations (past it new messages are not kept, and counted as dropped).
/// Shards are keyed by user, so a publish to one user locks only that user's shard; the relay
/// holds the shard lock while it looks up live recipients, so a reconnecting client gets each
/// message exactly once: parked, or live.
final class ParkedInboxes<Message: Sendable>: Sendable {
    struct Inbox {
        var topics: Set<String>
        var messages = Deque<(message: Message, bytes: Int)>()
        var dropped = 0
    }

    /// What a reconnecting client is handed before anything live.
    struct Unparked {
        var messages: [Message]
        var dropped: Int
    }

    private final class Shard: Sendable {
        let users = Mutex<[Int: [ClientID: Inbox]]>([:])
    }

    let capacity: Int
    let maxBytes: Int
    private let shards: [Shard]
    private let bytes = Atomic<Int>(0)

    var isEnabled: Bool { self.capacity > 0 }
    var byteCount: Int { self.bytes.load(ordering: .relaxed) }

    init(capacity: Int, maxBytes: Int, shardCount: Int = 64) {
        self.capacity = capacity
        self.maxBytes = maxBytes
        self.shards = (0..<max(1, shardCount)).map { _ in Shard() }
    }

    /// Runs `body` holding the lock of `userID`'s shard.
    func withUser<R>(_ userID: Int, _ body: (inout [ClientID: Inbox]?) throws -> R) rethrows -> R {
        try self.shard(for: userID).users.withLock { users in
            var inboxes = users[userID]
            defer { users[userID] = inboxes?.isEmpty == false ? inboxes : nil }
            return try body(&inboxes)
        }
    }

    /// Starts keeping `userID`'s addressed messages for `id` (its connection just ended).
    func park(_ id: ClientID, userID: Int, topics: Set<String>, in inboxes: inout [ClientID: Inbox]?) {
        guard self.isEnabled else { return }
        var all = inboxes ?? [:]
        all[id] = Inbox(topics: topics)
        inboxes = all
    }

    /// Stops keeping messages for `id` and hands back what was kept.
    func unpark(_ id: ClientID, in inboxes: inout [ClientID: Inbox]?) -> Unparked? {
        guard let inbox = inboxes?.removeValue(forKey: id) else { return nil }
        self.bytes.subtract(inbox.messages.reduce(0) { $0 + $1.bytes }, ordering: .relaxed)
        return Unparked(messages: inbox.messages.map(\.message), dropped: inbox.dropped)
    }

    func setTopics(_ topics: Set<String>, for id: ClientID, userID: Int) {
        self.withUser(userID) { inboxes in inboxes?[id]?.topics = topics }
    }

    /// Keeps `message` for every parked registration of the user subscribed to `topic`.
    func keep(_ message: Message, bytes: Int, topic: String, in inboxes: inout [ClientID: Inbox]?) {
        guard var all = inboxes else { return }
        for (id, var inbox) in all where inbox.topics.contains(topic) {
            if inbox.messages.count >= self.capacity, let oldest = inbox.messages.popFirst() {
                self.bytes.subtract(oldest.bytes, ordering: .relaxed)
                inbox.dropped += 1
            }
            if self.bytes.add(bytes, ordering: .relaxed).newValue <= self.maxBytes {
                inbox.messages.append((message, bytes))
            } else {
                self.bytes.subtract(bytes, ordering: .relaxed)
                inbox.dropped += 1
            }
            all[id] = inbox
        }
        inboxes = all
    }

    private func shard(for userID: Int) -> Shard {
        self.shards[Int(UInt(bitPattern: userID.hashValue) % UInt(self.shards.count))]
    }
}
