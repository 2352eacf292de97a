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
/// field) keeps that traffic cheap. The storage is one allocation that holds the key's and the
/// value's bytes after the other fields, so that reading a message costs the poll thread one
/// allocation instead of three (storage, key array, value array). ``key`` and ``value`` copy the
/// bytes out into a new array on each access; ``withUnsafeKeyBytes(_:)`` and
/// ``withUnsafeValueBytes(_:)`` read them in place.
public struct KafkaMessage: Hashable, Sendable, CustomStringConvertible {
    /// The fields other than the key's and the value's bytes.
    private struct Fields {
        var topic: String
        var partition: Int32
        var offset: Int64
        /// The key's length; -1 for a message without a key. ``Storage/make(_:key:value:)`` sets
        /// both counts from the bytes it copies.
        var keyCount: Int
        var valueCount: Int
        var isTombstone: Bool
        var headers: [KafkaHeader]
        var timestamp: KafkaTimestamp?
    }

    /// The fields in the header, then the key's bytes and the value's bytes in the tail.
    private final class Storage: ManagedBuffer<Fields, UInt8> {
        /// A storage holding `fields` and a copy of `key` and `value` (which set the counts).
        static func make(_ fields: consuming Fields, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer) -> Storage {
            (fields.keyCount, fields.valueCount) = (key?.count ?? -1, value.count)
            let keyCount = key?.count ?? 0
            // Moved into the header, not copied: a copy of the fields counts a reference on each
            // buffer they hold (topic, headers), and capturing and returning them made three.
            var header = Optional(consume fields)
            let storage = unsafeDowncast(
                Storage.create(minimumCapacity: keyCount + value.count) { _ in header.take()! }, to: Storage.self)
            storage.withUnsafeMutablePointerToElements { elements in
                if keyCount > 0, let source = key?.baseAddress {
                    UnsafeMutableRawPointer(elements).copyMemory(from: source, byteCount: keyCount)
                }
                if value.count > 0, let source = value.baseAddress {
                    UnsafeMutableRawPointer(elements + keyCount).copyMemory(from: source, byteCount: value.count)
                }
            }
            return storage
        }

        /// Reads the fields in place. `header` is a class's `var`, so each read of it checks
        /// exclusive access at run time (`swift_beginAccess`): 8 % of the poll thread's time in
        /// `noop-unordered` when every field was read so. Nothing writes the header after
        /// ``make(_:key:value:)``.
        @inline(__always)
        func read<T>(_ body: (UnsafePointer<Fields>) throws -> T) rethrows -> T {
            try withUnsafeMutablePointerToHeader { try body(UnsafePointer($0)) }
        }

        /// The key's bytes (nil without a key) and the value's, in place.
        func withBytes<R>(_ body: (_ key: UnsafeRawBufferPointer?, _ value: UnsafeRawBufferPointer) throws -> R) rethrows -> R {
            let (keyCount, valueCount) = read { ($0.pointee.keyCount, $0.pointee.valueCount) }
            return try withUnsafeMutablePointerToElements { elements in
                let key = keyCount < 0 ? nil : UnsafeRawBufferPointer(start: elements, count: keyCount)
                return try body(key, UnsafeRawBufferPointer(start: elements + max(keyCount, 0), count: valueCount))
            }
        }

        /// A copy with the fields changed by `change` (the setters' copy-on-write).
        func with(_ change: (inout Fields) -> Void) -> Storage {
            var fields = read { $0.pointee }
            change(&fields)
            return withBytes { Storage.make(fields, key: $0, value: $1) }
        }

        /// A copy with another key (`nil` for none).
        func with(key: UnsafeRawBufferPointer?) -> Storage {
            withBytes { _, value in Storage.make(read { $0.pointee }, key: key, value: value) }
        }

        /// A copy with another value.
        func with(value: UnsafeRawBufferPointer) -> Storage {
            withBytes { key, _ in Storage.make(read { $0.pointee }, key: key, value: value) }
        }
    }

    /// `nonisolated(unsafe)` because `ManagedBuffer` cannot be `Sendable`: nothing changes a
    /// storage after ``Storage/make(_:key:value:)`` returns it (the setters make a new one).
    private nonisolated(unsafe) var storage: Storage

    /// The topic the message was read from.
    public var topic: String {
        get { storage.read { $0.pointee.topic } }
        set { storage = storage.with { $0.topic = newValue } }
    }
    /// The partition the message was read from.
    public var partition: Int32 {
        get { storage.read { $0.pointee.partition } }
        set { storage = storage.with { $0.partition = newValue } }
    }
    /// The message's offset in its partition.
    public var offset: Int64 {
        get { storage.read { $0.pointee.offset } }
        set { storage = storage.with { $0.offset = newValue } }
    }
    /// The key; `nil` for a message without a key. Each access copies the bytes into a new array:
    /// ``withUnsafeKeyBytes(_:)`` reads them in place.
    public var key: [UInt8]? {
        get { storage.withBytes { key, _ in key.map { Array($0) } } }
        set { storage = newValue.withOptionalBytes { storage.with(key: $0) } }
    }
    /// The value (payload); empty for a tombstone (see ``isTombstone``). Each access copies the
    /// bytes into a new array: ``withUnsafeValueBytes(_:)`` reads them in place.
    public var value: [UInt8] {
        get { storage.withBytes { _, value in Array(value) } }
        set { storage = newValue.withUnsafeBytes { storage.with(value: $0) } }
    }
    /// Whether the value was null (a tombstone on a compacted topic), as opposed to empty.
    public var isTombstone: Bool {
        get { storage.read { $0.pointee.isTombstone } }
        set { storage = storage.with { $0.isTombstone = newValue } }
    }
    /// The headers, in order.
    public var headers: [KafkaHeader] {
        get { storage.read { $0.pointee.headers } }
        set { storage = storage.with { $0.headers = newValue } }
    }
    /// The message timestamp, when the broker or producer set one.
    public var timestamp: KafkaTimestamp? {
        get { storage.read { $0.pointee.timestamp } }
        set { storage = storage.with { $0.timestamp = newValue } }
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
        self = key.withOptionalBytes { key in
            value.withUnsafeBytes { value in
                KafkaMessage(
                    topic: topic, partition: partition, offset: offset, keyBytes: key, valueBytes: value,
                    isTombstone: isTombstone, headers: headers, timestamp: timestamp)
            }
        }
    }

    /// Creates a message from bytes in place, copying them once into the message's storage (the
    /// consumer's and the worker processes' way, which have the bytes in a buffer of their own).
    package init(
        topic: String, partition: Int32, offset: Int64, keyBytes: UnsafeRawBufferPointer?,
        valueBytes: UnsafeRawBufferPointer, isTombstone: Bool, headers: [KafkaHeader], timestamp: KafkaTimestamp?
    ) {
        storage = Storage.make(
            Fields(
                topic: topic, partition: partition, offset: offset, keyCount: 0, valueCount: 0,
                isTombstone: isTombstone, headers: headers, timestamp: timestamp),
            key: keyBytes, value: valueBytes)
    }

    /// Calls `body` with the key's bytes in place (nil for a message without a key), without
    /// copying them out as ``key`` does. The pointer is valid only inside `body`.
    public func withUnsafeKeyBytes<R>(_ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        try storage.withBytes { key, _ in try body(key) }
    }

    /// Calls `body` with the value's bytes in place, without copying them out as ``value`` does.
    /// The pointer is valid only inside `body`.
    public func withUnsafeValueBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try storage.withBytes { _, value in try body(value) }
    }

    /// The message's partition.
    public var topicPartition: TopicPartition { TopicPartition(topic: topic, partition: partition) }

    /// Whether the message is from `tp`, compared in place: ``topicPartition`` copies the topic's
    /// name out, and a copy of a name longer than 15 bytes is an atomic reference count on storage
    /// that every message of the topic shares.
    public func isFrom(_ tp: TopicPartition) -> Bool {
        storage.read { $0.pointee.partition == tp.partition && $0.pointee.topic == tp.topic }
    }

    /// The key's and the value's bytes together, counted without copying either out.
    public var payloadByteCount: Int { storage.read { $0.pointee.valueCount + max($0.pointee.keyCount, 0) } }

    /// The key decoded as UTF-8, when it is.
    public var keyString: String? {
        withUnsafeKeyBytes { key in key.flatMap { String(validating: $0, as: UTF8.self) } }
    }

    /// The value decoded as UTF-8, when it is.
    public var valueString: String? { withUnsafeValueBytes { String(validating: $0, as: UTF8.self) } }

    /// `topic[partition]@offset`.
    public var description: String { "\(topic)[\(partition)]@\(offset)" }

    /// Messages are equal when every field is.
    public static func == (lhs: KafkaMessage, rhs: KafkaMessage) -> Bool {
        if lhs.storage === rhs.storage { return true }
        let (a, b) = (lhs.storage.read { $0.pointee }, rhs.storage.read { $0.pointee })
        guard a.partition == b.partition, a.offset == b.offset, a.keyCount == b.keyCount, a.valueCount == b.valueCount,
              a.isTombstone == b.isTombstone, a.timestamp == b.timestamp, a.topic == b.topic, a.headers == b.headers
        else { return false }
        // Equal counts: the key's and the value's bytes lie the same way in both tails.
        return lhs.storage.withBytes { lhsKey, lhsValue in
            rhs.storage.withBytes { rhsKey, rhsValue in
                if let lhsKey, let rhsKey, !lhsKey.elementsEqual(rhsKey) { return false }
                return lhsValue.elementsEqual(rhsValue)
            }
        }
    }

    /// Hashes every field, as `==` compares them.
    public func hash(into hasher: inout Hasher) {
        let fields = storage.read { $0.pointee }
        hasher.combine(fields.topic)
        hasher.combine(fields.partition)
        hasher.combine(fields.offset)
        hasher.combine(fields.keyCount)
        hasher.combine(fields.valueCount)
        storage.withBytes { key, value in
            if let key { hasher.combine(bytes: key) }
            hasher.combine(bytes: value)
        }
        hasher.combine(fields.isTombstone)
        hasher.combine(fields.headers)
        hasher.combine(fields.timestamp)
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
