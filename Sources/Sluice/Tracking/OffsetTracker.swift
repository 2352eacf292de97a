//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Tracks received and done offsets on every partition this consumer owns.
///
/// A partition is tracked from its first ``receive(_:on:)`` until ``remove(_:)``. Completions that
/// arrive for a partition no longer tracked (a handler that finished after its partition was
/// revoked) are ignored.
///
/// ``ConsumerStateMachine`` owns one; it commits a partition's ``commitPoint(of:)`` when it differs
/// from the last acknowledged commit:
///
/// ```swift
/// var tracker = OffsetTracker()
/// let tp = TopicPartition(topic: "orders", partition: 0)
/// tracker.receive(5, on: tp)
/// tracker.receive(6, on: tp)
/// tracker.commitPoint(of: tp)  // 5
/// tracker.markDone(6, on: tp)
/// tracker.commitPoint(of: tp)  // 5: 5 is still running
/// tracker.markDone(5, on: tp)
/// tracker.commitPoint(of: tp)  // 7
/// ```
struct OffsetTracker: Sendable {
    /// One entry per partition that received something and was not removed since.
    private var trackers: [TopicPartition: PartitionOffsetTracker] = [:]

    /// The partition looked up last, and where its entry is: messages come in runs of one
    /// partition (a fetch is per partition), so most look-ups compare instead of hashing. Valid
    /// until an entry is inserted or removed, which resets it; changing an entry's value in place
    /// through `values[index]` keeps every index valid.
    private var lastLookup: (tp: TopicPartition, index: Dictionary<TopicPartition, PartitionOffsetTracker>.Index)?

    /// The number of offsets received and not yet done, over all tracked partitions.
    private(set) var totalOutstanding: Int = 0

    /// Creates a tracker that tracks no partition.
    init() {}

    /// Records a received offset on a partition, starting to track the partition if needed.
    ///
    /// - Parameters:
    ///   - offset: The message offset.
    ///   - tp: The message's partition.
    ///   - time: When it was received (engine clock).
    ///   - maxSpan: Refuse it when the partition's span would exceed this (see
    ///     ``PartitionOffsetTracker/receive(_:at:maxSpan:)``).
    /// - Returns: `false`, recording nothing, for an offset beyond `maxSpan`, a redelivered offset (at or below the last one
    ///   received on `tp`) or an invalid one; see ``PartitionOffsetTracker/receive(_:)``.
    @discardableResult
    mutating func receive(_ offset: Int64, on tp: TopicPartition, at time: Int64 = 0, maxSpan: Int64 = .max) -> Bool {
        // Updating in place avoids copying the partition's deque.
        let received = self.withEntry(of: tp, creating: true) { $0.receive(offset, at: time, maxSpan: maxSpan) }
        guard received == true else {
            // An invalid first offset must not leave an empty tracker behind.
            if self.trackers[tp]?.lastReceived == nil {
                self.trackers[tp] = nil
                self.lastLookup = nil
            }
            return false
        }
        self.totalOutstanding += 1
        return true
    }

    /// Marks a received offset of a partition done.
    ///
    /// - Parameters:
    ///   - offset: The offset whose handler finished (or was dead-lettered or skipped by policy).
    ///   - tp: The message's partition.
    /// - Returns: `true` if the partition's commit point advanced. `false` with no change for an
    ///   offset that is not the lowest outstanding one, and for an unknown or already-done offset
    ///   or an untracked partition.
    @discardableResult
    mutating func markDone(_ offset: Int64, on tp: TopicPartition) -> Bool {
        var wasOutstanding = false
        let advanced = self.withEntry(of: tp, creating: false) { entry in
            let before = entry.outstandingCount
            let advanced = entry.markDone(offset)
            wasOutstanding = entry.outstandingCount < before
            return advanced
        }
        if wasOutstanding {
            self.totalOutstanding -= 1
        }
        return advanced == true
    }

    /// The commit point of a partition, or nil if it is not tracked.
    ///
    /// See ``PartitionOffsetTracker/commitPoint``.
    func commitPoint(of tp: TopicPartition) -> Int64? {
        self.trackers[tp]?.commitPoint
    }

    /// The number of offsets received and not yet done on a partition; 0 if it is not tracked.
    func outstanding(on tp: TopicPartition) -> Int {
        self.trackers[tp]?.outstandingCount ?? 0
    }

    /// A partition's entry, if it is tracked (for the queries of ``PartitionOffsetTracker``).
    subscript(tp: TopicPartition) -> PartitionOffsetTracker? {
        if let lastLookup, lastLookup.tp == tp { return self.trackers.values[lastLookup.index] }
        return self.trackers[tp]
    }

    /// Stops tracking partitions, on revocation or when the consumer closes (their commit points
    /// are committed before).
    ///
    /// Later completions on these partitions are ignored, and a partition that is assigned again
    /// starts afresh at its next received offset.
    ///
    /// - Parameter tps: The partitions to forget; untracked ones are skipped.
    mutating func remove(_ tps: some Sequence<TopicPartition>) {
        for tp in tps {
            self.lastLookup = nil
            guard let tracker = self.trackers.removeValue(forKey: tp) else {
                continue
            }
            self.totalOutstanding -= tracker.outstandingCount
        }
    }

    /// The tracked partitions, sorted by topic then partition.
    var partitions: [TopicPartition] {
        self.trackers.keys.sorted()
    }

    /// Runs `body` on the partition's entry in place; nil if the partition is not tracked and
    /// `creating` is false.
    private mutating func withEntry<Result>(
        of tp: TopicPartition,
        creating: Bool,
        _ body: (inout PartitionOffsetTracker) -> Result
    ) -> Result? {
        if let lastLookup, lastLookup.tp == tp {
            return body(&self.trackers.values[lastLookup.index])
        }
        var index = self.trackers.index(forKey: tp)
        if index == nil, creating {
            self.trackers[tp] = PartitionOffsetTracker()
            index = self.trackers.index(forKey: tp)
        }
        guard let index else {
            return nil
        }
        let result = body(&self.trackers.values[index])
        self.lastLookup = (tp, index)
        return result
    }
}
