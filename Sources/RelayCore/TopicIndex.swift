import Synchronization

/// Connected clients by topic, and within a topic by user, so a publish touches only its recipients.
///
/// Topics are spread over independently locked shards: publishes to different topics rarely meet
/// on a lock, and no lock is held while messages are handed to connections.
///
/// The lookup a publish makes (``recipients(topic:userID:)``) is inlinable, so it is specialised
/// for the gateway's connection type.
@usableFromInline
final class TopicIndex<Connection: RelayConnection>: Sendable {
    @usableFromInline
    struct Subscribers {
        @usableFromInline var all: [ClientID: Connection] = [:]
        @usableFromInline var byUser: [Int: [ClientID: Connection]] = [:]

        @usableFromInline init() {}
    }

    @usableFromInline
    final class Shard: Sendable {
        @usableFromInline let topics = Mutex<[String: Subscribers]>([:])

        @usableFromInline init() {}
    }

    @usableFromInline let shards: [Shard]

    @usableFromInline
    init(shardCount: Int = 64) {
        self.shards = (0..<max(1, shardCount)).map { _ in Shard() }
    }

    func add(_ connection: Connection, id: ClientID, userID: Int, to topics: some Sequence<String>) {
        for topic in topics {
            self.shard(for: topic).topics.withLock { table in
                table[topic, default: Subscribers()].all[id] = connection
                table[topic, default: Subscribers()].byUser[userID, default: [:]][id] = connection
            }
        }
    }

    func remove(id: ClientID, userID: Int, from topics: some Sequence<String>) {
        for topic in topics {
            self.shard(for: topic).topics.withLock { table in
                // Taken out of the table while it changes: a copy left in it would make every
                // removal copy the topic's whole dictionary (quadratic when a crowd leaves).
                guard var subscribers = table.removeValue(forKey: topic) else { return }
                subscribers.all[id] = nil
                subscribers.byUser[userID]?[id] = nil
                if subscribers.byUser[userID]?.isEmpty == true {
                    subscribers.byUser[userID] = nil
                }
                table[topic] = subscribers.all.isEmpty ? nil : subscribers
            }
        }
    }

    /// The connections subscribed to `topic` (only those of `userID` when it is given).
    @inlinable
    func recipients(topic: String, userID: Int?) -> [Connection] {
        self.shard(for: topic).topics.withLock { table in
            guard let subscribers = table[topic] else { return [] }
            if let userID {
                return subscribers.byUser[userID].map { Array($0.values) } ?? []
            }
            return Array(subscribers.all.values)
        }
    }

    /// Topics with at least one connected subscriber, with their subscriber counts.
    func subscriberCounts() -> [String: Int] {
        var counts: [String: Int] = [:]
        for shard in self.shards {
            shard.topics.withLock { table in
                for (topic, subscribers) in table {
                    counts[topic] = subscribers.all.count
                }
            }
        }
        return counts
    }

    /// FNV-1a over the topic's bytes: the shard needs a spread, not a seeded `Hasher` (the
    /// dictionary in the shard hashes the topic again anyway), and this costs a tenth as much.
    @inlinable
    func shard(for topic: String) -> Shard {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in topic.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return self.shards[Int(hash % UInt64(self.shards.count))]
    }
}
