//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// The lane a message is serialized on: messages of one lane run one at a time, in offset order.
///
/// Key lanes are scoped to their partition, so the same key on two partitions gives two
/// independent lanes.
enum OrderingLane: Hashable, Sendable {
    /// Messages with this key on this partition (``OrderingMode/key`` mode).
    case key(TopicPartition, [UInt8])

    /// All messages of this partition (``OrderingMode/partition`` mode).
    case partition(TopicPartition)

    /// Feeds a key's bytes to the hasher in one call: `[UInt8]`'s own `hash(into:)` feeds them
    /// one at a time, which was most of the cost of finding a key lane (a tenth of the poll
    /// thread's and a fifth of the workers' time with key ordering and no-op handlers).
    /// `==` stays the synthesized one.
    func hash(into hasher: inout Hasher) {
        switch self {
        case .key(let tp, let key):
            hasher.combine(tp)
            hasher.combine(key.count)
            key.withUnsafeBytes { hasher.combine(bytes: $0) }
        case .partition(let tp):
            hasher.combine(tp)
            hasher.combine(-1)  // no key's count is negative: a partition lane never hashes like a key lane
        }
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
        switch self.kind {
        case .unordered:
            nil
        case .key:
            key.map { .key(tp, $0) }
        case .partition:
            .partition(tp)
        }
    }
}
