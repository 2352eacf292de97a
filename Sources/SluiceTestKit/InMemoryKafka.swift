//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

public import Sluice
internal import DequeModule
internal import Synchronization

/// A Kafka cluster in memory, for tests of handlers and of the engine: topics of partitioned
/// logs, one consumer group's committed offsets, and faults on demand (failing commits, a broker
/// that stops answering, failing writes, rebalances).
///
/// A ``TestConsumer`` reads from it and commits to it; failed messages under the dead-letter
/// policy are written to its topics. Everything runs on its ``clock``.
///
/// ```swift
/// let kafka = InMemoryKafka()
/// kafka.createTopic("orders", partitions: 2)
/// kafka.produce(topic: "orders", key: "customer-7", value: #"{"total": 12}"#)
/// kafka.failNextCommits(2)                 // the next two commits fail with a retriable error
/// kafka.revoke([TopicPartition(topic: "orders", partition: 0)])   // at the next poll
/// ```
public final class InMemoryKafka: Sendable {
    /// A rebalance the group's consumer sees at its next poll.
    enum Rebalance: Sendable {
        case assign([TopicPartition])
        case revoke([TopicPartition])
        case lose([TopicPartition])
    }

    struct State {
        var topics: [String: [[KafkaMessage]]] = [:]
        var committed: [TopicPartition: TopicPartitionOffset] = [:]
        var commitFaults: Deque<KafkaError> = []
        var isUnresponsive = false
        var writeFaults: [String: (remaining: Int, error: KafkaError)] = [:]
        var rebalances: Deque<Rebalance> = []
        var nextPartition: [String: Int32] = [:]
        /// Every commit that reached the cluster, in order (for tests of commit traffic).
        var commitLog: [[TopicPartitionOffset]] = []
    }

    /// The clock every consumer of this cluster runs on.
    public let clock: ManualClock
    let state = Mutex(State())

    /// An empty cluster on `clock`.
    public init(clock: ManualClock = ManualClock()) {
        self.clock = clock
    }

    /// A configuration for a consumer of this cluster (its broker list names no real broker).
    public func configuration(groupID: String = "test", topics: [String]) -> SluiceConfiguration {
        SluiceConfiguration(brokers: ["in-memory:9092"], groupID: groupID, topics: topics)
    }

    // MARK: - Topics

    /// Creates a topic (or adds partitions to it).
    public func createTopic(_ name: String, partitions: Int = 1) {
        precondition(partitions >= 1, "a topic needs at least one partition")
        state.withLock { state in
            var logs = state.topics[name] ?? []
            while logs.count < partitions { logs.append([]) }
            state.topics[name] = logs
        }
    }

    /// Appends a message and returns it with its offset. Without a partition, a keyed message goes
    /// to the partition of its key (the same key, the same partition), an unkeyed one round-robin.
    /// A `nil` value writes a tombstone.
    @discardableResult
    public func produce(
        topic: String, partition: Int32? = nil, key: [UInt8]? = nil, value: [UInt8]?, headers: [KafkaHeader] = []
    ) -> KafkaMessage {
        state.withLock { state in
            guard let logs = state.topics[topic] else { preconditionFailure("topic \(topic) does not exist: create it first") }
            let count = Int32(logs.count)
            let target: Int32
            if let partition {
                precondition(partition >= 0 && partition < count, "\(topic) has no partition \(partition)")
                target = partition
            } else if let key {
                target = Int32(Self.hash(key) % UInt64(count))
            } else {
                target = state.nextPartition[topic, default: 0] % count
                state.nextPartition[topic] = target + 1
            }
            let message = KafkaMessage(
                topic: topic, partition: target, offset: Int64(logs[Int(target)].count), key: key, value: value ?? [],
                isTombstone: value == nil, headers: headers)
            state.topics[topic]![Int(target)].append(message)
            return message
        }
    }

    /// Appends a message with UTF-8 key and value; see ``produce(topic:partition:key:value:headers:)``.
    @discardableResult
    public func produce(topic: String, partition: Int32? = nil, key: String? = nil, value: String, headers: [KafkaHeader] = []) -> KafkaMessage {
        produce(topic: topic, partition: partition, key: key.map { Array($0.utf8) }, value: Array(value.utf8), headers: headers)
    }

    /// Every message of a topic, partition by partition, in offset order.
    /// The names of the topics, sorted.
    public var topicNames: [String] {
        state.withLock { $0.topics.keys.sorted() }
    }

    /// Every message of `topic`, partition by partition, in offset order.
    public func messages(in topic: String) -> [KafkaMessage] {
        state.withLock { $0.topics[topic]?.flatMap { $0 } ?? [] }
    }

    /// The log end offset of each partition of a topic.
    public func endOffsets(of topic: String) -> [TopicPartition: Int64] {
        state.withLock { state in
            var ends: [TopicPartition: Int64] = [:]
            for (index, log) in (state.topics[topic] ?? []).enumerated() {
                ends[TopicPartition(topic: topic, partition: Int32(index))] = Int64(log.count)
            }
            return ends
        }
    }

    /// The group's committed offset of each partition that has one.
    public var committedOffsets: [TopicPartition: Int64] {
        state.withLock { $0.committed.compactMapValues(\.offset) }
    }

    /// The group's committed offset and metadata of a partition.
    public func committed(_ partition: TopicPartition) -> TopicPartitionOffset? {
        state.withLock { $0.committed[partition] }
    }

    /// Every commit that reached the cluster, in order.
    public var commits: [[TopicPartitionOffset]] {
        state.withLock { $0.commitLog }
    }

    // MARK: - Faults

    /// The next `count` commits (synchronous or asynchronous) fail with `error`; by default a
    /// retriable `REQUEST_TIMED_OUT`.
    public func failNextCommits(_ count: Int = 1, with error: KafkaError = .inMemory(.requestTimedOut)) {
        state.withLock { state in
            for _ in 0..<count { state.commitFaults.append(error) }
        }
    }

    /// Whether the broker stops answering: metadata requests, commits and the close then wait out
    /// their deadlines (on the ``clock``) and time out.
    public var isUnresponsive: Bool {
        get { state.withLock { $0.isUnresponsive } }
        set { state.withLock { $0.isUnresponsive = newValue } }
    }

    /// The next `times` writes to `topic` fail with `error` (`Int.max`: every one).
    public func failWrites(to topic: String, times: Int = .max, with error: KafkaError) {
        state.withLock { $0.writeFaults[topic] = (times, error) }
    }

    /// At its next poll, the consumer sees these partitions revoked: it drains and commits them
    /// before the assignment changes.
    public func revoke(_ partitions: [TopicPartition]) {
        state.withLock { $0.rebalances.append(.revoke(partitions)) }
    }

    /// At its next poll, the consumer is assigned these partitions (from their committed offset).
    public func assign(_ partitions: [TopicPartition]) {
        state.withLock { $0.rebalances.append(.assign(partitions)) }
    }

    /// At its next poll, the consumer loses these partitions (as after a session timeout): no commit.
    public func lose(_ partitions: [TopicPartition]) {
        state.withLock { $0.rebalances.append(.lose(partitions)) }
    }

    // MARK: - For the consumer and the sink

    /// Commits offsets with their metadata as another client of the group would (a tool, an
    /// earlier version), e.g. to see how a consumer treats metadata that is not Sluice's.
    public func writeCommitted(_ offsets: [TopicPartitionOffset]) {
        state.withLock { state in
            for entry in offsets where entry.offset != nil { state.committed[entry.topicPartition] = entry }
        }
    }

    /// The broker's limit on a commit's metadata, as Kafka's `offset.metadata.max.bytes`.
    public static let offsetMetadataMaxBytes = 4096

    /// Applies a commit, or fails it with the next fault (or when a metadata string is too long).
    func commit(_ offsets: [TopicPartitionOffset]) -> KafkaError? {
        state.withLock { state in
            if let fault = state.commitFaults.popFirst() { return fault }
            if offsets.contains(where: { ($0.metadata?.utf8.count ?? 0) > Self.offsetMetadataMaxBytes }) {
                return KafkaError.inMemory(.offsetMetadataTooLarge)
            }
            for entry in offsets where entry.offset != nil {
                state.committed[entry.topicPartition] = entry
            }
            state.commitLog.append(offsets)
            return nil
        }
    }

    /// Writes a record, or fails it with the topic's next fault.
    func write(_ record: KafkaProducerMessage, maxBytes: Int) -> (any Error)? {
        let size = (record.key?.count ?? 0) + (record.value?.count ?? 0)
            + record.headers.reduce(0) { $0 + $1.name.utf8.count + ($1.value?.count ?? 0) }
        if size > maxBytes { return KafkaError.inMemory(.messageSizeTooLarge) }
        let fault = state.withLock { state -> KafkaError? in
            guard var entry = state.writeFaults[record.topic], entry.remaining > 0 else { return nil }
            if entry.remaining != .max { entry.remaining -= 1 }
            state.writeFaults[record.topic] = entry
            return entry.error
        }
        if let fault { return fault }
        guard state.withLock({ $0.topics[record.topic] != nil }) else { return KafkaError.inMemory(.unknownTopic) }
        produce(topic: record.topic, partition: record.partition, key: record.key, value: record.value, headers: record.headers)
        return nil
    }

    /// FNV-1a: a stable partitioner for keys.
    private static func hash(_ bytes: [UInt8]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
        return hash
    }
}

extension KafkaError {
    /// Errors the in-memory cluster fails with, named as librdkafka names them.
    public enum InMemoryFault: Sendable {
        /// `REQUEST_TIMED_OUT` (retriable).
        case requestTimedOut
        /// `COORDINATOR_NOT_AVAILABLE` (retriable).
        case coordinatorNotAvailable
        /// `REBALANCE_IN_PROGRESS`: the group refuses commits until the next assignment.
        case rebalanceInProgress
        /// `MSG_SIZE_TOO_LARGE` (permanent).
        case messageSizeTooLarge
        /// `TOPIC_AUTHORIZATION_FAILED` (permanent).
        case topicAuthorizationFailed
        /// `UNKNOWN_TOPIC_OR_PART` (retriable).
        case unknownTopic
        /// `OFFSET_METADATA_TOO_LARGE` (permanent): a commit's metadata exceeds the broker's
        /// `offset.metadata.max.bytes`.
        case offsetMetadataTooLarge
    }

    /// The error librdkafka reports for `fault`, with its code, name and retriability.
    public static func inMemory(_ fault: InMemoryFault) -> KafkaError {
        let (code, message, retriable): (Int32, String, Bool) =
            switch fault {
            case .requestTimedOut: (7, "Broker: Request timed out", true)
            case .coordinatorNotAvailable: (15, "Broker: Coordinator not available", true)
            case .rebalanceInProgress: (27, "Broker: Group rebalance in progress", true)
            case .messageSizeTooLarge: (10, "Broker: Message size too large", false)
            case .topicAuthorizationFailed: (29, "Broker: Topic authorization failed", false)
            case .unknownTopic: (3, "Broker: Unknown topic or partition", true)
            case .offsetMetadataTooLarge: (12, "Broker: Offset metadata string too large", false)
            }
        return KafkaError(code: .rdKafka, message: message, rdKafkaCode: code, isRetriable: retriable)
    }
}
