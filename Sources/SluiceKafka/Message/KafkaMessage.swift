//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// A message read from Kafka: an immutable value with its bytes copied out of librdkafka.
///
/// It can also be built in Swift, which is how handler tests make input:
///
/// ```swift
/// let message = KafkaMessage(topic: "orders", partition: 0, offset: 42,
///                            key: Array("customer-7".utf8), value: Array(#"{"total": 12}"#.utf8),
///                            headers: [KafkaHeader(name: "id", string: "42")])
/// ```
public struct KafkaMessage: Hashable, Sendable, CustomStringConvertible {
    /// The topic the message was read from.
    public var topic: String
    /// The partition the message was read from.
    public var partition: Int32
    /// The message's offset in its partition.
    public var offset: Int64
    /// The key; `nil` for a message without a key.
    public var key: [UInt8]?
    /// The value (payload); empty for a tombstone (see ``isTombstone``).
    public var value: [UInt8]
    /// Whether the value was null (a tombstone on a compacted topic), as opposed to empty.
    public var isTombstone: Bool
    /// The headers, in order.
    public var headers: [KafkaHeader]
    /// The message timestamp, when the broker or producer set one.
    public var timestamp: KafkaTimestamp?

    /// Creates a message.
    public init(
        topic: String,
        partition: Int32,
        offset: Int64,
        key: [UInt8]? = nil,
        value: [UInt8],
        isTombstone: Bool = false,
        headers: [KafkaHeader] = [],
        timestamp: KafkaTimestamp? = nil
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.isTombstone = isTombstone
        self.headers = headers
        self.timestamp = timestamp
    }

    /// The message's partition.
    public var topicPartition: TopicPartition { TopicPartition(topic: topic, partition: partition) }

    /// The key decoded as UTF-8, when it is.
    public var keyString: String? { key.flatMap { String(validating: $0, as: UTF8.self) } }

    /// The value decoded as UTF-8, when it is.
    public var valueString: String? { String(validating: value, as: UTF8.self) }

    /// `topic[partition]@offset`.
    public var description: String { "\(topic)[\(partition)]@\(offset)" }
}

/// A message timestamp in milliseconds since the Unix epoch, and what it means.
public struct KafkaTimestamp: Hashable, Sendable {
    /// Who set the timestamp.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        fileprivate let name: String
        /// Set by the producer when the message was created.
        public static let createTime = Kind(name: "CreateTime")
        /// Set by the broker when the message was appended to the log.
        public static let logAppendTime = Kind(name: "LogAppendTime")
        /// The kind's Kafka name.
        public var description: String { name }
    }

    /// Milliseconds since 1970-01-01T00:00:00Z.
    public var millisecondsSinceEpoch: Int64
    /// Who set it.
    public var kind: Kind

    /// Creates a timestamp.
    public init(millisecondsSinceEpoch: Int64, kind: Kind = .createTime) {
        self.millisecondsSinceEpoch = millisecondsSinceEpoch
        self.kind = kind
    }
}
