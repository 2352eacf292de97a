//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// A message to write: topic, optional partition, key, value and headers.
///
/// ```swift
/// let message = KafkaProducerMessage(topic: "orders", key: Array("k".utf8), value: Array("v".utf8),
///                                    headers: [KafkaHeader(name: "id", string: "1")])
/// ```
public struct KafkaProducerMessage: Hashable, Sendable {
    /// The topic to write to.
    public var topic: String
    /// The partition; `nil` lets the partitioner choose from the key.
    public var partition: Int32?
    /// The key; `nil` for none.
    public var key: [UInt8]?
    /// The value; `nil` writes a tombstone.
    public var value: [UInt8]?
    /// The headers, in order.
    public var headers: [KafkaHeader]
    /// The create time; `nil` lets librdkafka use the current time.
    public var timestamp: KafkaTimestamp?

    /// Creates a message.
    public init(
        topic: String,
        partition: Int32? = nil,
        key: [UInt8]? = nil,
        value: [UInt8]?,
        headers: [KafkaHeader] = [],
        timestamp: KafkaTimestamp? = nil
    ) {
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
    }
}

/// Where a message was written: the broker's acknowledgement.
public struct KafkaDeliveryReport: Hashable, Sendable, CustomStringConvertible {
    /// The topic written to.
    public var topic: String
    /// The partition written to.
    public var partition: Int32
    /// The message's offset in that partition (`nil` when the broker did not say, e.g. `acks=0`).
    public var offset: Int64?

    /// Creates a report.
    public init(topic: String, partition: Int32, offset: Int64?) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }

    /// `topic[partition]@offset`.
    public var description: String { "\(topic)[\(partition)]@\(offset.map(String.init) ?? "?")" }
}
