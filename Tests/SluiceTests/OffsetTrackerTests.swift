//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import PropertyBased
import Testing

@testable import Sluice

@Suite struct PartitionOffsetTrackerTests {
    @Test func commitPointIsNilBeforeAnythingIsReceived() {
        let tracker = PartitionOffsetTracker()
        #expect(tracker.commitPoint == nil)
        #expect(tracker.lastReceived == nil)
        #expect(tracker.outstandingCount == 0)
    }

    @Test func commitPointIsTheLowestOutstandingOffset() {
        var tracker = PartitionOffsetTracker()
        #expect(tracker.receive(7) == true)
        #expect(tracker.commitPoint == 7)
        #expect(tracker.receive(8) == true)
        #expect(tracker.commitPoint == 7)
        #expect(tracker.outstandingCount == 2)
        #expect(tracker.lastReceived == 8)
    }

    @Test func commitPointIsLastReceivedPlusOneWhenAllAreDone() {
        var tracker = PartitionOffsetTracker()
        tracker.receive(0)
        tracker.receive(1)
        #expect(tracker.markDone(0) == true)
        #expect(tracker.commitPoint == 1)
        #expect(tracker.markDone(1) == true)
        #expect(tracker.commitPoint == 2)
        #expect(tracker.outstandingCount == 0)
    }

    @Test func gapsInOffsetsNeitherHoldBackNorSkip() {
        var tracker = PartitionOffsetTracker()
        // 11, 12 and 14 were compacted away or are transaction markers.
        for offset: Int64 in [10, 13, 15] {
            #expect(tracker.receive(offset) == true)
        }
        #expect(tracker.markDone(10) == true)
        #expect(tracker.commitPoint == 13, "jumps over the gap to the next received offset")
        #expect(tracker.markDone(15) == false)
        #expect(tracker.commitPoint == 13)
        #expect(tracker.markDone(13) == true)
        #expect(tracker.commitPoint == 16)
    }

    /// Offsets are found at `offset - head` entries in when the log has no gap; behind a gap that
    /// place holds a later offset, and the look-up must search below it.
    @Test func outOfOrderCompletionsBehindAGapFindTheirOffsets() {
        var tracker = PartitionOffsetTracker()
        for offset: Int64 in [0, 2, 3, 4, 5, 9, 10] {
            #expect(tracker.receive(offset) == true)
        }
        #expect(tracker.markDone(3) == false)  // the entry at index 3 is offset 4
        #expect(tracker.markDone(10) == false)  // beyond the entries: offset - head = 10 > 7 entries
        #expect(tracker.markDone(7) == false, "never received")
        #expect(tracker.outstandingCount == 5)
        #expect(tracker.markDone(0) == true)
        #expect(tracker.commitPoint == 2)
        #expect(tracker.markDone(2) == true)
        #expect(tracker.commitPoint == 4, "3 was done: the commit point passes it")
        #expect(tracker.markDone(4) == true)
        #expect(tracker.markDone(5) == true)
        #expect(tracker.commitPoint == 9)
        #expect(tracker.markDone(9) == true)
        #expect(tracker.commitPoint == 11, "10 was done")
        #expect(tracker.outstandingCount == 0)
    }

    @Test func receivingAfterAGapOnAnIdlePartitionMovesTheCommitPoint() {
        var tracker = PartitionOffsetTracker()
        tracker.receive(3)
        tracker.markDone(3)
        #expect(tracker.commitPoint == 4)
        tracker.receive(9)
        #expect(tracker.commitPoint == 9)
    }

    @Test func outOfOrderCompletionAdvancesOnlyWhenTheLowestIsDone() {
        var tracker = PartitionOffsetTracker()
        for offset: Int64 in 0..<5 {
            tracker.receive(offset)
        }
        #expect(tracker.markDone(3) == false)
        #expect(tracker.markDone(1) == false)
        #expect(tracker.markDone(4) == false)
        #expect(tracker.commitPoint == 0)
        #expect(tracker.outstandingCount == 2)

        // 0 done: 1 is done too, so the point moves to 2.
        #expect(tracker.markDone(0) == true)
        #expect(tracker.commitPoint == 2)
        // 2 done: 3 and 4 are done, so everything is.
        #expect(tracker.markDone(2) == true)
        #expect(tracker.commitPoint == 5)
        #expect(tracker.outstandingCount == 0)
    }

    @Test(arguments: [Int64(4), 5, 2])
    func redeliveredOffsetIsRefused(offset: Int64) {
        var tracker = PartitionOffsetTracker()
        tracker.receive(4)
        tracker.receive(5)
        #expect(tracker.receive(offset) == false)
        #expect(tracker.outstandingCount == 2)
        #expect(tracker.lastReceived == 5)
        #expect(tracker.commitPoint == 4)
    }

    @Test func redeliveryOfACommittedOffsetIsRefused() {
        var tracker = PartitionOffsetTracker()
        tracker.receive(4)
        tracker.markDone(4)
        #expect(tracker.receive(4) == false)
        #expect(tracker.commitPoint == 5)
        #expect(tracker.outstandingCount == 0)
    }

    @Test(arguments: [Int64(-1), .min, .max])
    func invalidOffsetIsRefused(offset: Int64) {
        var tracker = PartitionOffsetTracker()
        #expect(tracker.receive(offset) == false)
        #expect(tracker.commitPoint == nil)
        #expect(tracker.lastReceived == nil)
    }

    @Test(arguments: [Int64(0), 6, 11, 20, -3])
    func unknownOffsetIsIgnored(offset: Int64) {
        var tracker = PartitionOffsetTracker()
        tracker.receive(5)
        tracker.receive(7)
        tracker.receive(10)
        #expect(tracker.markDone(offset) == false)
        #expect(tracker.commitPoint == 5)
        #expect(tracker.outstandingCount == 3)
    }

    @Test func markingDoneTwiceIsIgnored() {
        var tracker = PartitionOffsetTracker()
        tracker.receive(1)
        tracker.receive(2)
        tracker.receive(3)
        #expect(tracker.markDone(2) == false)
        #expect(tracker.markDone(2) == false)
        #expect(tracker.outstandingCount == 2)
        #expect(tracker.markDone(1) == true)
        #expect(tracker.markDone(1) == false, "already done and popped")
        #expect(tracker.commitPoint == 3)
        #expect(tracker.outstandingCount == 1)
    }

    @Test func markDoneBeforeAnythingIsReceivedIsIgnored() {
        var tracker = PartitionOffsetTracker()
        #expect(tracker.markDone(0) == false)
        #expect(tracker.commitPoint == nil)
    }

    /// Random arrivals with random gaps, completed in random orders, interleaved with redeliveries
    /// and stray completions. After every step the tracker must agree with a plain model.
    @Test func commitPointNeverPassesAnUnfinishedOffset() async {
        await propertyCheck(
            count: 300,
            input: Gen.int64(in: 0...1_000),
            Gen.int64(in: 1...4).array(of: 0...60),
            Gen.int(in: 0...99).array(of: 0...200)
        ) { start, gaps, choices in
            var arrivals: [Int64] = []
            var next = start
            for gap in gaps {
                arrivals.append(next)
                next += gap
            }

            var tracker = PartitionOffsetTracker()
            var model = OffsetModel()
            var pending = arrivals[...]

            func check(_ step: String) throws {
                try #require(model.violation(in: tracker) == nil, "after \(step)")
            }

            // Random interleaving of arrivals, completions, redeliveries and stray completions.
            for choice in choices {
                switch choice {
                case 0..<45 where !pending.isEmpty:
                    let offset = pending.removeFirst()
                    #expect(tracker.receive(offset) == true)
                    model.receive(offset)
                    try check("receive \(offset)")
                case 0..<85 where !model.outstanding.isEmpty:
                    let outstanding = model.outstanding.sorted()
                    let offset = outstanding[choice % outstanding.count]
                    #expect(tracker.markDone(offset) == (offset == outstanding[0]))
                    model.markDone(offset)
                    try check("markDone \(offset)")
                case 85..<92 where !model.received.isEmpty:
                    let offset = model.received[choice % model.received.count]
                    #expect(tracker.receive(offset) == false)
                    try check("redelivery of \(offset)")
                default:
                    // Already done, between two received offsets, or past the last one.
                    let offset = (model.received.last ?? start) - 2 + Int64(choice % 5)
                    if !model.outstanding.contains(offset) {
                        #expect(tracker.markDone(offset) == false)
                        try check("stray markDone \(offset)")
                    }
                }
            }

            // Drain: everything arrives, then completes in an order the choices pick.
            for offset in pending {
                tracker.receive(offset)
                model.receive(offset)
            }
            var pick = 0
            while !model.outstanding.isEmpty {
                let outstanding = model.outstanding.sorted()
                let offset = outstanding[(choices.isEmpty ? 0 : choices[pick % choices.count]) % outstanding.count]
                pick += 1
                #expect(tracker.markDone(offset) == (offset == outstanding[0]))
                model.markDone(offset)
                try check("draining markDone \(offset)")
            }
            #expect(tracker.commitPoint == arrivals.last.map { $0 + 1 })
            #expect(tracker.outstandingCount == 0)
        }
    }
}

@Suite struct OffsetTrackerTests {
    let orders0 = TopicPartition(topic: "orders", partition: 0)
    let orders1 = TopicPartition(topic: "orders", partition: 1)
    let users0 = TopicPartition(topic: "users", partition: 0)

    @Test func topicPartitionDescription() {
        #expect(TopicPartition(topic: "orders", partition: 3).description == "orders[3]")
    }

    @Test func untrackedPartitionHasNoCommitPoint() {
        var tracker = OffsetTracker()
        #expect(tracker.commitPoint(of: self.orders0) == nil)
        #expect(tracker.outstanding(on: self.orders0) == 0)
        #expect(tracker.markDone(0, on: self.orders0) == false)
        #expect(tracker.partitions.isEmpty)
        #expect(tracker.commitPoints.isEmpty)
    }

    @Test func partitionsAreTrackedIndependently() {
        var tracker = OffsetTracker()
        #expect(tracker.receive(10, on: self.orders0) == true)
        #expect(tracker.receive(11, on: self.orders0) == true)
        #expect(tracker.receive(3, on: self.orders1) == true)
        #expect(tracker.receive(3, on: self.users0) == true)
        #expect(tracker.receive(10, on: self.orders0) == false, "redelivery")
        #expect(tracker.totalOutstanding == 4)

        #expect(tracker.markDone(3, on: self.orders1) == true)
        #expect(tracker.markDone(3, on: self.orders1) == false, "already done")
        #expect(tracker.markDone(11, on: self.orders0) == false)
        #expect(tracker.totalOutstanding == 2)
        #expect(tracker.outstanding(on: self.orders0) == 1)
        #expect(tracker.outstanding(on: self.orders1) == 0)
        #expect(tracker.commitPoints == [self.orders0: 10, self.orders1: 4, self.users0: 3])
        #expect(tracker.partitions == [self.orders0, self.orders1, self.users0])
    }

    @Test func removeForgetsThePartitions() {
        var tracker = OffsetTracker()
        tracker.receive(5, on: self.orders0)
        tracker.receive(6, on: self.orders0)
        tracker.receive(0, on: self.orders1)
        tracker.receive(2, on: self.users0)
        tracker.markDone(5, on: self.orders0)
        tracker.markDone(0, on: self.orders1)

        #expect(tracker.commitPoints == [self.orders0: 6, self.orders1: 1, self.users0: 2])
        tracker.remove([self.orders0, self.orders1, TopicPartition(topic: "absent", partition: 0)])
        #expect(tracker.partitions == [self.users0])
        #expect(tracker.totalOutstanding == 1)
        #expect(tracker.commitPoint(of: self.orders0) == nil)
        #expect(tracker.commitPoints == [self.users0: 2])
        // Late completions are ignored.
        #expect(tracker.markDone(6, on: self.orders0) == false)
        #expect(tracker.totalOutstanding == 1)

        // Assigned again, a partition starts afresh, even below where it was.
        #expect(tracker.receive(3, on: self.orders0) == true)
        #expect(tracker.commitPoint(of: self.orders0) == 3)
    }

    @Test func runsOfOnePartitionAndNewPartitionsBetweenThemKeepEveryCommitPointRight() {
        // The tracker remembers where the last partition's entry is; new partitions (which grow
        // and rehash its table), removals and copies must never let it touch the wrong entry.
        var tracker = OffsetTracker()
        let partitions = (0..<40).map { TopicPartition(topic: "orders", partition: Int32($0)) }
        for (index, tp) in partitions.enumerated() {
            for offset in 0..<3 { #expect(tracker.receive(Int64(100 * index + offset), on: tp) == true) }
            // Back to the first partition after each new one.
            #expect(tracker.markDone(0, on: partitions[0]) == (index == 0))
        }
        var copy = tracker
        for (index, tp) in partitions.enumerated() where index % 2 == 1 {
            #expect(tracker.markDone(Int64(100 * index), on: tp) == true)
        }
        #expect(tracker.commitPoint(of: partitions[3]) == 301)
        tracker.remove([partitions[3]])
        #expect(tracker.commitPoint(of: partitions[3]) == nil)
        #expect(tracker.markDone(301, on: partitions[3]) == false, "removed")
        // The partition used last before the removal, whose entry the removal may have moved.
        #expect(tracker.markDone(3901, on: partitions[39]) == true)
        #expect(tracker.commitPoint(of: partitions[39]) == 3902)
        #expect(tracker.markDone(502, on: partitions[5]) == false, "501 still runs")
        #expect(tracker.commitPoint(of: partitions[5]) == 501)
        #expect(tracker.commitPoint(of: partitions[4]) == 400)
        #expect(tracker.commitPoint(of: partitions[0]) == 1)
        #expect(tracker.totalOutstanding == 3 * 40 - 1 - 20 - 2 - 1 - 1)

        // The copy saw none of that.
        #expect(copy.commitPoint(of: partitions[5]) == 500)
        #expect(copy.markDone(500, on: partitions[5]) == true)
        #expect(copy.commitPoint(of: partitions[5]) == 501)
        #expect(copy.commitPoint(of: partitions[3]) == 300)
        #expect(copy.totalOutstanding == 3 * 40 - 1 - 1)
    }

    @Test func invalidFirstOffsetDoesNotStartTracking() {
        var tracker = OffsetTracker()
        #expect(tracker.receive(-1, on: self.orders0) == false)
        #expect(tracker.partitions.isEmpty)
        #expect(tracker.totalOutstanding == 0)
    }

    /// Random work on three partitions: totals and per-partition points must match what the
    /// per-partition trackers say.
    @Test func commitPointsMatchThoseOfEachPartition() async {
        let tps = [self.orders0, self.orders1, self.users0]
        await propertyCheck(
            count: 200,
            input: zip(Gen.int(in: 0...2), Gen.int(in: 0...99)).array(of: 0...150)
        ) { steps in
            var tracker = OffsetTracker()
            var models = [TopicPartition: PartitionOffsetTracker]()
            var nextOffset = [TopicPartition: Int64]()

            for (index, choice) in steps {
                let tp = tps[index]
                if choice < 50 {
                    let offset = nextOffset[tp, default: 0]
                    nextOffset[tp] = offset + 1 + Int64(choice % 3)
                    #expect(tracker.receive(offset, on: tp) == true)
                    models[tp, default: PartitionOffsetTracker()].receive(offset)
                } else if choice < 95 {
                    let offset = Int64(choice) % max(nextOffset[tp, default: 1], 1)
                    let expected = models[tp]?.markDone(offset) ?? false
                    #expect(tracker.markDone(offset, on: tp) == expected)
                } else {
                    #expect(tracker.commitPoint(of: tp) == models[tp]?.commitPoint)
                    tracker.remove([tp])
                    #expect(tracker.commitPoint(of: tp) == nil)
                    models[tp] = nil
                    nextOffset[tp] = nil
                }

                #expect(tracker.totalOutstanding == models.values.reduce(0) { $0 + $1.outstandingCount })
                #expect(tracker.commitPoints == models.compactMapValues(\.commitPoint))
            }
        }
    }
}

extension OffsetTracker {
    /// The commit point of every tracked partition that has one.
    var commitPoints: [TopicPartition: Int64] {
        Dictionary(uniqueKeysWithValues: partitions.compactMap { tp in commitPoint(of: tp).map { (tp, $0) } })
    }
}

/// The plain model the property tests compare the tracker against.
private struct OffsetModel {
    var received: [Int64] = []
    var outstanding: Set<Int64> = []
    var lastCommitPoint: Int64?

    mutating func receive(_ offset: Int64) {
        self.received.append(offset)
        self.outstanding.insert(offset)
    }

    mutating func markDone(_ offset: Int64) {
        self.outstanding.remove(offset)
    }

    /// Describes the first way `tracker` disagrees with the model, and records its commit point.
    mutating func violation(in tracker: PartitionOffsetTracker) -> String? {
        defer { self.lastCommitPoint = tracker.commitPoint }
        guard let commitPoint = tracker.commitPoint else {
            return self.received.isEmpty ? nil : "commit point is nil after receiving \(self.received)"
        }
        if tracker.outstandingCount != self.outstanding.count {
            return "outstandingCount \(tracker.outstandingCount), expected \(self.outstanding.count)"
        }
        if tracker.lastReceived != self.received.last {
            return "lastReceived \(String(describing: tracker.lastReceived)), expected \(self.received.last!)"
        }
        if let lowest = self.outstanding.min() {
            if commitPoint != lowest {
                return "commit point \(commitPoint) is not the lowest outstanding offset \(lowest)"
            }
        } else if commitPoint != self.received.last! + 1 {
            return "commit point \(commitPoint) with nothing outstanding, expected \(self.received.last! + 1)"
        }
        if let unfinished = self.received.first(where: { $0 < commitPoint && self.outstanding.contains($0) }) {
            return "commit point \(commitPoint) is past unfinished offset \(unfinished)"
        }
        if let last = self.lastCommitPoint, commitPoint < last {
            return "commit point moved back from \(last) to \(commitPoint)"
        }
        return nil
    }
}
