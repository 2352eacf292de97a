//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import DequeModule

/// Tracks the offsets received on one partition and which are done; yields the commit point.
///
/// The commit point is the offset of the lowest received offset whose handler has not finished, or
/// the last received offset + 1 when none is outstanding. Committing it never skips an unfinished
/// message, which is what makes delivery at-least-once.
///
/// Offsets are tracked as they were actually received, not as arithmetic ranges: a partition's
/// offsets can have gaps (log compaction, transaction markers), and a gap must neither hold the
/// commit point back nor be committed past an unfinished message.
///
/// The commit point never moves backwards: receiving only appends offsets above the last one, and
/// marking done only removes them.
///
/// Costs: `receive(_:)` and `markDone(_:)` of the lowest outstanding offset are O(1) amortised;
/// `markDone(_:)` of any other offset is O(log n). Memory holds the outstanding offsets and the
/// done ones above the lowest outstanding offset, nothing below it.
///
/// ```swift
/// var tracker = PartitionOffsetTracker()
/// tracker.receive(10)
/// tracker.receive(12)          // 11 was compacted away
/// tracker.markDone(12)         // false: 10 is still running
/// tracker.commitPoint          // 10
/// tracker.markDone(10)         // true
/// tracker.commitPoint          // 13
/// ```
struct PartitionOffsetTracker: Sendable {
    /// One received offset and whether its handler finished.
    private struct Entry: Sendable {
        var offset: Int64
        var isDone: Bool
        /// When it was received (engine clock), for the age of the oldest unfinished message.
        var receivedAt: Int64
    }

    /// Received offsets, strictly increasing. Invariant: the head, if any, is not done (done
    /// entries at the head are popped at once), so the head is the lowest outstanding offset.
    private var entries: Deque<Entry> = []

    /// The highest offset received so far, kept after its entry is popped.
    private(set) var lastReceived: Int64?

    /// The number of offsets received and not yet done.
    private(set) var outstandingCount: Int = 0

    /// Counts offsets marked done: a commit whose metadata lists finished offsets is due again
    /// when it moved, even if the commit point did not.
    private(set) var doneVersion: UInt64 = 0

    /// Creates a tracker that has received nothing.
    init() {}

    /// The offset to commit: lowest received-but-not-done offset, or last received + 1 when none is
    /// outstanding; nil before anything was received.
    var commitPoint: Int64? {
        if let head = self.entries.first {
            return head.offset
        }
        return self.lastReceived.map { $0 + 1 }
    }

    /// The lowest received offset not yet done, if any.
    var lowestOutstanding: Int64? { entries.first?.offset }

    /// When the lowest outstanding offset was received (engine clock), if any.
    var oldestOutstandingSince: Int64? { entries.first?.receivedAt }

    /// The offsets held in memory: the outstanding ones and the done ones above the lowest
    /// outstanding one. At most the span from the commit point to the last received offset.
    var entryCount: Int { entries.count }

    /// The number of offsets from the commit point up to `offset` (included) if it were received
    /// now: 1 when nothing is outstanding (a gap in the log below it holds nothing back).
    func span(upTo offset: Int64) -> Int64 {
        guard let head = entries.first else { return 1 }
        return offset - head.offset + 1
    }

    /// The done offsets above the commit point, relative to it; `nil` when nothing is outstanding
    /// (the commit point is then past every received offset).
    var finishedAboveCommitPoint: FinishedOffsets? {
        guard let head = entries.first else { return nil }
        var finished = FinishedOffsets(commitPoint: head.offset)
        for entry in entries where entry.isDone { finished.append(entry.offset) }
        return finished
    }

    /// Records a received offset.
    ///
    /// Offsets must be strictly increasing; gaps are allowed (compaction, transaction markers).
    ///
    /// - Parameters:
    ///   - offset: The offset of a message that entered the engine.
    ///   - time: When it did (engine clock).
    ///   - maxSpan: Refuse it when the span from the commit point up to it would exceed this.
    /// - Returns: `true` if it was recorded. `false`, recording nothing, for an offset at or below
    ///   the last one received (a redelivery, which the caller should drop), for an offset that
    ///   no Kafka message carries (negative, or `Int64.max` whose successor cannot be committed),
    ///   and for one beyond `maxSpan` (``span(upTo:)`` tells).
    @discardableResult
    mutating func receive(_ offset: Int64, at time: Int64 = 0, maxSpan: Int64 = .max) -> Bool {
        guard offset >= 0, offset < .max else {
            return false
        }
        if let head = self.entries.first, offset - head.offset >= maxSpan {
            return false
        }
        if let lastReceived = self.lastReceived, offset <= lastReceived {
            return false
        }
        self.entries.append(Entry(offset: offset, isDone: false, receivedAt: time))
        self.lastReceived = offset
        self.outstandingCount += 1
        return true
    }

    /// Marks a received, outstanding offset done.
    ///
    /// - Parameter offset: An offset previously passed to ``receive(_:)``.
    /// - Returns: `true` if the commit point advanced, which happens exactly when `offset` was the
    ///   lowest outstanding offset. `false` with no change for an offset that is outstanding but
    ///   not the lowest, and for an unknown or already-done offset (this never traps: a late
    ///   completion after a revocation or reset must not take the consumer down).
    @discardableResult
    mutating func markDone(_ offset: Int64) -> Bool {
        guard let head = self.entries.first, let last = self.entries.last,
            offset >= head.offset, offset <= last.offset
        else {
            return false
        }
        if offset == head.offset {
            // The head is outstanding by invariant; popping it and every done entry behind it is
            // O(1) amortised, since each entry is popped once.
            self.entries.removeFirst()
            self.outstandingCount -= 1
            self.doneVersion &+= 1
            while let next = self.entries.first, next.isDone {
                self.entries.removeFirst()
            }
            return true
        }
        guard let index = self.index(of: offset), !self.entries[index].isDone else {
            return false
        }
        self.entries[index].isDone = true
        self.outstandingCount -= 1
        self.doneVersion &+= 1
        return false
    }

    /// Finds the entry for `offset`. Entries are strictly increasing from the head, so `offset`
    /// is at most `offset - head` entries in: exactly there when the log has no gap (the common
    /// case, tried first), else found by binary search below that bound.
    private func index(of offset: Int64) -> Int? {
        guard let head = self.entries.first?.offset, offset >= head else { return nil }
        var low = self.entries.startIndex
        var high = self.entries.endIndex
        if offset - head < Int64(high - low) {
            let guess = low + Int(offset - head)
            if self.entries[guess].offset == offset { return guess }
            high = guess  // a gap below: the entry, if any, is before the guess
        }
        while low < high {
            let middle = low + (high - low) / 2
            if self.entries[middle].offset < offset {
                low = middle + 1
            } else {
                high = middle
            }
        }
        guard low < self.entries.endIndex, self.entries[low].offset == offset else {
            return nil
        }
        return low
    }
}
