//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// A topic-partition identity: the unit Kafka assigns, orders and commits.
///
/// The engine uses it as a dictionary key throughout (offset tracking, ordering lanes, pause and
/// revocation sets). It orders by topic, then partition, so that lists of partitions print and
/// commit in a stable order.
///
/// ```swift
/// let tp = TopicPartition(topic: "orders", partition: 3)
/// print(tp)  // orders[3]
/// ```
public struct TopicPartition: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The topic name.
    public var topic: String

    /// The partition number within the topic.
    public var partition: Int32

    /// Creates a topic-partition identity.
    ///
    /// - Parameters:
    ///   - topic: The topic name.
    ///   - partition: The partition number within the topic.
    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    /// The partition as `topic[partition]`, for example `orders[3]`.
    public var description: String {
        "\(self.topic)[\(self.partition)]"
    }

    /// Orders by topic name, then by partition number.
    public static func < (lhs: TopicPartition, rhs: TopicPartition) -> Bool {
        (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
    }
}
