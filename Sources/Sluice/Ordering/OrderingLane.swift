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
    case key(LanePartition, digest: Int)

    /// All messages of this partition (``OrderingMode/partition`` mode).
    case partition(LanePartition)

    /// The lane of the key `key` on `partition`.
    static func key(_ partition: LanePartition, _ key: [UInt8]) -> OrderingLane {
        key.withUnsafeBytes { .key(partition, bytes: $0) }
    }

    /// The lane of the key whose bytes are `bytes` on `partition`.
    static func key(_ partition: LanePartition, bytes: UnsafeRawBufferPointer) -> OrderingLane {
        // Seeded per process like every `Hasher`: keys chosen to collide cannot be crafted. The
        // byte count is part of the digest already (the hasher's last block carries it).
        var hasher = Hasher()
        hasher.combine(bytes: bytes)
        return .key(partition, digest: hasher.finalize())
    }
}

extension OrderingMode {
    /// The lane a message runs on in this mode, or nil if it may run at once.
    ///
    /// - Parameters:
    ///   - partition: The message's partition.
    ///   - key: The message's key, nil for a null key.
    /// - Returns: nil in `unordered` mode and for a null key in `key` mode (null keys are handled
    ///   as unordered); `.key(partition, key)` in `key` mode; `.partition(partition)` in
    ///   `partition` mode.
    func lane(for partition: LanePartition, key: [UInt8]?) -> OrderingLane? {
        key.withOptionalBytes { lane(for: partition, keyBytes: $0) }
    }

    /// The lane `message` (from `partition`) runs on in this mode, as ``lane(for:key:)`` gives
    /// it, hashing the key in place.
    func lane(for message: KafkaMessage, from partition: LanePartition) -> OrderingLane? {
        switch self.kind {
        case .key: message.withUnsafeKeyBytes { lane(for: partition, keyBytes: $0) }
        case .unordered, .partition: lane(for: partition, keyBytes: nil)  // the key does not count
        }
    }

    private func lane(for partition: LanePartition, keyBytes: UnsafeRawBufferPointer?) -> OrderingLane? {
        switch self.kind {
        case .unordered:
            nil
        case .key:
            keyBytes.map { .key(partition, bytes: $0) }
        case .partition:
            .partition(partition)
        }
    }
}
