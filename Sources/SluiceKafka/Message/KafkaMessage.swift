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
///
/// A message is a value with copy-on-write storage: the engine hands it from the poll thread to
/// a worker and back through several queues, and one reference per copy (instead of one per
/// field) keeps that traffic cheap.
public struct KafkaMessage: Hashable, Sendable, CustomStringConvertible {
    /// The fields, shared between copies until one of them is mutated.
    private final class Storage: Sendable {
        let topic: String
        let partition: Int32
        let offset: Int64
        let key: [UInt8]?
        let value: [UInt8]
        let isTombstone: Bool
        let headers: [KafkaHeader]
        let timestamp: KafkaTimestamp?

        init(
            topic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8], isTombstone: Bool,
            headers: [KafkaHeader], timestamp: KafkaTimestamp?
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

        /// A copy with one field changed (the setters' copy-on-write).
        func with(
            topic: String? = nil, partition: Int32? = nil, offset: Int64? = nil, key: [UInt8]?? = nil,
            value: [UInt8]? = nil, isTombstone: Bool? = nil, headers: [KafkaHeader]? = nil,
            timestamp: KafkaTimestamp?? = nil
        ) -> Storage {
            Storage(
                topic: topic ?? self.topic, partition: partition ?? self.partition, offset: offset ?? self.offset,
                key: key ?? self.key, value: value ?? self.value, isTombstone: isTombstone ?? self.isTombstone,
                headers: headers ?? self.headers, timestamp: timestamp ?? self.timestamp)
        }
    }

    private var storage: Storage

    /// The topic the message was read from.
    public var topic: String {
        get { storage.topic }
        set { storage = storage.with(topic: newValue) }
    }
    /// The partition the message was read from.
    public var partition: Int32 {
        get { storage.partition }
        set { storage = storage.with(partition: newValue) }
    }
    /// The message's offset in its partition.
    public var offset: Int64 {
        get { storage.offset }
        set { storage = storage.with(offset: newValue) }
    }
    /// The key; `nil` for a message without a key.
    public var key: [UInt8]? {
        get { storage.key }
        set { storage = storage.with(key: .some(newValue)) }
    }
    /// The value (payload); empty for a tombstone (see ``isTombstone``).
    public var value: [UInt8] {
        get { storage.value }
        set { storage = storage.with(value: newValue) }
    }
    /// Whether the value was null (a tombstone on a compacted topic), as opposed to empty.
    public var isTombstone: Bool {
        get { storage.isTombstone }
        set { storage = storage.with(isTombstone: newValue) }
    }
    /// The headers, in order.
    public var headers: [KafkaHeader] {
        get { storage.headers }
        set { storage = storage.with(headers: newValue) }
    }
    /// The message timestamp, when the broker or producer set one.
    public var timestamp: KafkaTimestamp? {
        get { storage.timestamp }
        set { storage = storage.with(timestamp: .some(newValue)) }
    }

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
        storage = Storage(
            topic: topic, partition: partition, offset: offset, key: key, value: value, isTombstone: isTombstone,
            headers: headers, timestamp: timestamp)
    }

    /// The message's partition.
    public var topicPartition: TopicPartition { TopicPartition(topic: topic, partition: partition) }

    /// Whether the message is from `tp`, compared in place: ``topicPartition`` copies the topic's
    /// name out, and a copy of a name longer than 15 bytes is an atomic reference count on storage
    /// that every message of the topic shares.
    public func isFrom(_ tp: TopicPartition) -> Bool {
        storage.partition == tp.partition && storage.topic == tp.topic
    }

    /// The key's and the value's bytes together, counted without copying either array out.
    public var payloadByteCount: Int { storage.value.count + (storage.key?.count ?? 0) }

    /// The key decoded as UTF-8, when it is.
    public var keyString: String? { key.flatMap { String(validating: $0, as: UTF8.self) } }

    /// The value decoded as UTF-8, when it is.
    public var valueString: String? { String(validating: value, as: UTF8.self) }

    /// `topic[partition]@offset`.
    public var description: String { "\(topic)[\(partition)]@\(offset)" }

    /// Messages are equal when every field is.
    public static func == (lhs: KafkaMessage, rhs: KafkaMessage) -> Bool {
        if lhs.storage === rhs.storage { return true }
        let (a, b) = (lhs.storage, rhs.storage)
        return a.partition == b.partition && a.offset == b.offset && a.topic == b.topic && a.key == b.key
            && a.value == b.value && a.isTombstone == b.isTombstone && a.headers == b.headers
            && a.timestamp == b.timestamp
    }

    /// Hashes every field, as `==` compares them.
    public func hash(into hasher: inout Hasher) {
        let s = storage
        hasher.combine(s.topic)
        hasher.combine(s.partition)
        hasher.combine(s.offset)
        hasher.combine(s.key)
        hasher.combine(s.value)
        hasher.combine(s.isTombstone)
        hasher.combine(s.headers)
        hasher.combine(s.timestamp)
    }
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
