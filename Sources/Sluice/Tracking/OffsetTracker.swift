//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Tracks received and done offsets on every partition this consumer owns, and which commit
/// points moved since they were last stored.
///
/// A partition is tracked from its first ``receive(_:on:)`` until ``remove(_:)``. Completions that
/// arrive for a partition no longer tracked (a handler that finished after its partition was
/// revoked) are ignored.
///
/// The consumer loop owns one of these behind its lock. After marking offsets done it calls
/// ``takeAdvancedCommitPoints()`` and stores or commits only what moved:
///
/// ```swift
/// var tracker = OffsetTracker()
/// let tp = TopicPartition(topic: "orders", partition: 0)
/// tracker.receive(5, on: tp)
/// tracker.receive(6, on: tp)
/// tracker.takeAdvancedCommitPoints()  // [orders[0]: 5]
/// tracker.markDone(6, on: tp)
/// tracker.takeAdvancedCommitPoints()  // [:], 5 is still running
/// tracker.markDone(5, on: tp)
/// tracker.takeAdvancedCommitPoints()  // [orders[0]: 7]
/// ```
struct OffsetTracker: Sendable {
    /// A partition's tracker, and whether its commit point changed since the last
    /// ``takeAdvancedCommitPoints()``: a flag beside the tracker rather than a set of partitions,
    /// so that a completion hashes its partition once, not twice.
    private struct Entry: Sendable {
        var tracker = PartitionOffsetTracker()
        var advanced = false
    }

    /// One entry per partition that received something and was not removed since.
    private var trackers: [TopicPartition: Entry] = [:]

    /// The partition looked up last, and where its entry is: messages come in runs of one
    /// partition (a fetch is per partition), so most look-ups compare instead of hashing. Valid
    /// until an entry is inserted or removed, which resets it; changing an entry's value in place
    /// through `values[index]` keeps every index valid.
    private var lastLookup: (tp: TopicPartition, index: Dictionary<TopicPartition, Entry>.Index)?

    /// The number of offsets received and not yet done, over all tracked partitions.
    private(set) var totalOutstanding: Int = 0

    /// Creates a tracker that tracks no partition.
    init() {}

    /// Records a received offset on a partition, starting to track the partition if needed.
    ///
    /// - Parameters:
    ///   - offset: The message offset.
    ///   - tp: The message's partition.
    /// - Returns: `false`, recording nothing, for a redelivered offset (at or below the last one
    ///   received on `tp`) or an invalid one; see ``PartitionOffsetTracker/receive(_:)``.
    @discardableResult
    mutating func receive(_ offset: Int64, on tp: TopicPartition) -> Bool {
        // Updating in place avoids copying the partition's deque.
        let received = self.withEntry(of: tp, creating: true) { entry in
            let before = entry.tracker.commitPoint
            guard entry.tracker.receive(offset) else {
                return false
            }
            // The commit point moves on a receive only when nothing was outstanding: the first
            // offset, or a jump over a gap on an idle partition.
            if entry.tracker.commitPoint != before { entry.advanced = true }
            return true
        }
        guard received == true else {
            // An invalid first offset must not leave an empty tracker behind.
            if self.trackers[tp]?.tracker.lastReceived == nil {
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
            let before = entry.tracker.outstandingCount
            let advanced = entry.tracker.markDone(offset)
            wasOutstanding = entry.tracker.outstandingCount < before
            if advanced { entry.advanced = true }
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
        self.trackers[tp]?.tracker.commitPoint
    }

    /// Returns the commit points that moved since the last call (to store or commit them), and
    /// clears that record.
    ///
    /// A commit point moves when its lowest outstanding offset is done, and also when a partition
    /// receives its first offset or receives after a gap with nothing outstanding. Removed
    /// partitions are not reported here: ``remove(_:)`` returns theirs.
    mutating func takeAdvancedCommitPoints() -> [TopicPartition: Int64] {
        var points: [TopicPartition: Int64] = [:]
        for index in self.trackers.indices where self.trackers.values[index].advanced {
            self.trackers.values[index].advanced = false
            if let point = self.trackers.values[index].tracker.commitPoint {
                points[self.trackers.keys[index]] = point
            }
        }
        return points
    }

    /// The commit point of every tracked partition that has one.
    var commitPoints: [TopicPartition: Int64] {
        self.trackers.compactMapValues(\.tracker.commitPoint)
    }

    /// The number of offsets received and not yet done on a partition; 0 if it is not tracked.
    func outstanding(on tp: TopicPartition) -> Int {
        self.trackers[tp]?.tracker.outstandingCount ?? 0
    }

    /// Stops tracking partitions, on revocation or when the consumer closes.
    ///
    /// Later completions on these partitions are ignored, and a partition that is assigned again
    /// starts afresh at its next received offset.
    ///
    /// - Parameter tps: The partitions to forget; untracked ones are skipped.
    /// - Returns: The final commit points of the removed partitions that had one, to commit
    ///   synchronously before the revocation proceeds.
    mutating func remove(_ tps: some Sequence<TopicPartition>) -> [TopicPartition: Int64] {
        var points: [TopicPartition: Int64] = [:]
        for tp in tps {
            self.lastLookup = nil
            guard let tracker = self.trackers.removeValue(forKey: tp)?.tracker else {
                continue
            }
            self.totalOutstanding -= tracker.outstandingCount
            if let point = tracker.commitPoint {
                points[tp] = point
            }
        }
        return points
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
        _ body: (inout Entry) -> Result
    ) -> Result? {
        if let lastLookup, lastLookup.tp == tp {
            return body(&self.trackers.values[lastLookup.index])
        }
        var index = self.trackers.index(forKey: tp)
        if index == nil, creating {
            self.trackers[tp] = Entry()
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
