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
