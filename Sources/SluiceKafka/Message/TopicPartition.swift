//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// A partition of a topic: the unit of ordering, assignment and offsets in Kafka.
///
/// ```swift
/// let tp = TopicPartition(topic: "orders", partition: 3)
/// print(tp) // orders[3]
/// ```
public struct TopicPartition: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The topic name.
    public var topic: String
    /// The partition number, from 0.
    public var partition: Int32

    /// Creates a topic-partition.
    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    /// `topic[partition]`.
    public var description: String { "\(topic)[\(partition)]" }

    /// Compares the partition first: the cheap test that tells a consumer's partitions apart.
    public static func == (lhs: TopicPartition, rhs: TopicPartition) -> Bool {
        lhs.partition == rhs.partition && lhs.topic == rhs.topic
    }

    /// Hashes the partition and the topic name's length, not its bytes: the engine looks a
    /// partition up several times per message, and hashing the name was a tenth of the poll
    /// thread's time. Partitions of one topic never collide; equal-length topics' partitions of
    /// the same number do, and `==` then compares the names.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(partition)
        hasher.combine(topic.utf8.count)
    }

    /// Orders by topic name, then partition, so lists print and commit in a stable order.
    public static func < (lhs: TopicPartition, rhs: TopicPartition) -> Bool {
        (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
    }
}

/// An offset of a topic-partition, as stored, committed or read back, with optional commit metadata.
///
/// In Kafka a committed offset is the offset of the *next* message to read: committing 10 means
/// messages 0 to 9 are done.
public struct TopicPartitionOffset: Hashable, Sendable, CustomStringConvertible {
    /// The partition.
    public var topicPartition: TopicPartition
    /// The offset; `nil` when the broker has none (nothing committed yet).
    public var offset: Int64?
    /// Commit metadata: a string stored with the committed offset. Travels only with
    /// ``KafkaConsumer/commit(_:mode:)`` on librdkafka 2.0.2, not with stored offsets.
    public var metadata: String?

    /// Creates a topic-partition offset.
    public init(_ topicPartition: TopicPartition, offset: Int64?, metadata: String? = nil) {
        self.topicPartition = topicPartition
        self.offset = offset
        self.metadata = metadata
    }

    /// Creates a topic-partition offset from its parts.
    public init(topic: String, partition: Int32, offset: Int64?, metadata: String? = nil) {
        self.init(TopicPartition(topic: topic, partition: partition), offset: offset, metadata: metadata)
    }

    /// `topic[partition]@offset`.
    public var description: String { "\(topicPartition)@\(offset.map(String.init) ?? "none")" }
}
