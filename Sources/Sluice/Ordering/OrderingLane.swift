//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// The lane a message is serialized on: messages of one lane run one at a time, in offset order.
///
/// Key lanes are scoped to their partition, so the same key on two partitions gives two
/// independent lanes. A key lane knows its key by a 64-bit digest of the bytes, not the bytes:
/// lanes are copied, hashed and compared several times per message, and a digest is one word
/// where an array is a reference count, a hash of every byte and a comparison of every byte.
/// Two keys whose digests collide (about one pair in 2⁶⁴) share a lane: their messages then run
/// one at a time in offset order, which keeps each key's order; only their parallelism is lost.
enum OrderingLane: Hashable, Sendable {
    /// Messages with this key on this partition (``OrderingMode/key`` mode).
    case key(TopicPartition, digest: Int)

    /// All messages of this partition (``OrderingMode/partition`` mode).
    case partition(TopicPartition)

    /// The lane of the key `key` on `tp`.
    static func key(_ tp: TopicPartition, _ key: [UInt8]) -> OrderingLane {
        key.withUnsafeBytes { .key(tp, bytes: $0) }
    }

    /// The lane of the key whose bytes are `bytes` on `tp`.
    static func key(_ tp: TopicPartition, bytes: UnsafeRawBufferPointer) -> OrderingLane {
        // Seeded per process like every `Hasher`: keys chosen to collide cannot be crafted.
        var hasher = Hasher()
        hasher.combine(bytes: bytes)
        hasher.combine(bytes.count)
        return .key(tp, digest: hasher.finalize())
    }
}

extension OrderingMode {
    /// The lane a message runs on in this mode, or nil if it may run at once.
    ///
    /// - Parameters:
    ///   - tp: The message's partition.
    ///   - key: The message's key, nil for a null key.
    /// - Returns: nil in `unordered` mode and for a null key in `key` mode (null keys are handled
    ///   as unordered); `.key(tp, key)` in `key` mode; `.partition(tp)` in `partition` mode.
    func lane(for tp: TopicPartition, key: [UInt8]?) -> OrderingLane? {
        key.withOptionalBytes { lane(for: tp, keyBytes: $0) }
    }

    /// The lane `message` (from `tp`) runs on in this mode, as ``lane(for:key:)`` gives it,
    /// hashing the key in place.
    func lane(for message: KafkaMessage, from tp: TopicPartition) -> OrderingLane? {
        switch self.kind {
        case .key: message.withUnsafeKeyBytes { lane(for: tp, keyBytes: $0) }
        case .unordered, .partition: lane(for: tp, keyBytes: nil)  // the key does not count
        }
    }

    private func lane(for tp: TopicPartition, keyBytes: UnsafeRawBufferPointer?) -> OrderingLane? {
        switch self.kind {
        case .unordered:
            nil
        case .key:
            keyBytes.map { .key(tp, bytes: $0) }
        case .partition:
            .partition(tp)
        }
    }
}
