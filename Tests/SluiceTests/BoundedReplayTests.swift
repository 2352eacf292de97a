//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Testing
import _SluiceTime
import SluiceFutures

@testable import Sluice

/// Bounded replay in the state machine: finished offsets in the commit metadata, skipping them on
/// assignment, the per-partition span bound, and stuck-message reports.
@Suite struct BoundedReplayTests {
    /// Assigns partition 0, polls offsets `0..<count`, and finishes every one but offset 0.
    static func stuckAtZero(_ harness: inout MachineHarness, count: Int64) -> InFlightWork? {
        harness.assign(0)
        let started = harness.poll((0..<count).map { harness.message(0, $0) }).dispatch
        _ = harness.succeed(started.filter { $0.message.offset != 0 })
        return started.first { $0.message.offset == 0 }
    }

    static func finished(_ commit: TopicPartitionOffset) throws -> FinishedOffsets {
        try CommitMetadata.decode(try #require(commit.metadata), committedOffset: try #require(commit.offset))
    }

    @Test func commitsCarryTheFinishedOffsetsAboveAStuckCommitPointAndRepeatWhenTheyGrow() throws {
        var harness = MachineHarness { $0.ordering = .unordered }
        let stuck = try #require(Self.stuckAtZero(&harness, count: 50))
        harness.advance(by: .seconds(1))
        let first = try #require(harness.tick().commit?.offsets.first)
        #expect(first.offset == 0)
        #expect(try Self.finished(first) == FinishedOffsets(commitPoint: 0, offsets: 1..<50))
        _ = harness.machine.asyncCommitAnswered(1, error: nil, now: harness.now)

        // Nothing changed: no commit. More finished: a commit at the same point, with them.
        harness.advance(by: .seconds(1))
        #expect(harness.tick().commit == nil)
        let more = harness.poll((50..<60).map { harness.message(0, $0) }).dispatch
        _ = harness.succeed(more)
        harness.advance(by: .seconds(1))
        let second = try #require(harness.tick().commit?.offsets.first)
        #expect(second.offset == 0)
        #expect(try Self.finished(second).count == 59)

        // Done: the point moves past everything and the metadata is gone.
        _ = harness.succeed([stuck])
        harness.advance(by: .seconds(1))
        let last = try #require(harness.tick().commit?.offsets.first)
        #expect(last == TopicPartitionOffset(harness.tp(0), offset: 60))
    }

    @Test func withCommitMetadataOffCommitsAreOrdinary() throws {
        var harness = MachineHarness {
            $0.ordering = .unordered
            $0.commitMetadata = false
        }
        _ = Self.stuckAtZero(&harness, count: 10)
        harness.advance(by: .seconds(1))
        #expect(harness.tick().commit?.offsets == [TopicPartitionOffset(harness.tp(0), offset: 0)])
    }

    @Test func offsetsFinishedBeforeTheRestartAreSkippedAndStillListedUntilPolled() throws {
        var harness = MachineHarness { $0.ordering = .unordered }
        harness.assign(0)
        let before = FinishedOffsets(commitPoint: 10, offsets: [11, 12, 13, 20])
        let read = harness.machine.committedRead(
            [TopicPartitionOffset(harness.tp(0), offset: 10, metadata: CommitMetadata.encode(before))], now: harness.now)
        #expect(read.logs.count == 1)

        // Only 10..12 arrive so far: 10 runs, 11 and 12 are skipped; 13 and 20 are still listed.
        let started = harness.poll((10...12).map { harness.message(0, $0) }).dispatch
        #expect(started.map(\.message.offset) == [10])
        #expect(harness.machine.counters.finishedBeforeRestart == 2)
        #expect(harness.machine.window.count == 1)
        harness.advance(by: .seconds(1))
        let interim = try #require(harness.tick().commit?.offsets.first)
        #expect(try Self.finished(interim) == before)

        let rest = harness.poll((13...21).map { harness.message(0, $0) }).dispatch
        #expect(rest.map(\.message.offset) == [14, 15, 16, 17, 18, 19, 21])
        _ = harness.succeed(started + rest)
        #expect(harness.commitPoint(0) == 22)
        #expect(harness.machine.counters.finishedBeforeRestart == 4)
        #expect(harness.machine.counters.completed == 8, "skipped offsets are not counted as handled")
    }

    @Test(arguments: [
        ("a note from another tool", "not written by Sluice"),
        ("sluice1:r:10:AGQ:00000000", "checksum mismatch"),
    ])
    func foreignOrCorruptMetadataIsIgnoredByNameAndNothingIsSkipped(metadata: String, reason: String) throws {
        var harness = MachineHarness { $0.ordering = .unordered }
        harness.assign(0)
        let read = harness.machine.committedRead([TopicPartitionOffset(harness.tp(0), offset: 10, metadata: metadata)], now: harness.now)
        guard case .metadataIgnored(let tp, let committed, let shown) = try #require(read.logs.first) else {
            Issue.record("expected metadataIgnored, got \(read.logs)")
            return
        }
        #expect(tp == harness.tp(0))
        #expect(committed == 10)
        #expect(shown.contains(reason))
        let started = harness.poll((10...15).map { harness.message(0, $0) }).dispatch
        #expect(started.count == 6)
        #expect(harness.machine.counters.finishedBeforeRestart == 0)
    }

    @Test func aPartitionAtItsSpanBoundPausesAloneAndResumesInOrderWhenItsCommitPointMoves() throws {
        var harness = MachineHarness {
            $0.ordering = .unordered
            $0.maxUncommittedSpan = 100
            $0.resumeFraction = 0.5
        }
        harness.assign(0, 1)
        let first = harness.poll((0..<150).map { harness.message(0, $0) } + (0..<150).map { harness.message(1, $0) })
        #expect(first.pause == [harness.tp(0), harness.tp(1)])
        // Both reached 100; each partition alone: partition 1 now finishes everything.
        let started0 = first.dispatch.filter { $0.topicPartition.partition == 0 }
        let started1 = first.dispatch.filter { $0.topicPartition.partition == 1 }
        #expect(started0.map(\.message.offset) == Array(0..<100))
        _ = harness.succeed(started1)
        let resumed1 = harness.tick()
        #expect(resumed1.resume == [harness.tp(1)])
        #expect(resumed1.dispatch.map(\.message.offset) == Array(100..<150), "kept messages go first, in order")

        // Partition 0 stays stuck at offset 0 with 99 finished behind it: still paused.
        _ = harness.succeed(started0.filter { $0.message.offset != 0 })
        #expect(harness.machine.tracker[harness.tp(0)]?.entryCount == 100)
        #expect(harness.tick().resume.isEmpty)
        #expect(harness.machine.partitionStatistics.first?.isPausedBySpan == true)
        #expect(harness.machine.counters.spanPauses == 2)

        // Offset 0 finishes: its kept messages are admitted, then it resumes.
        _ = harness.succeed(started0.filter { $0.message.offset == 0 })
        let resumed0 = harness.tick()
        #expect(resumed0.resume == [harness.tp(0)])
        #expect(resumed0.dispatch.map(\.message.offset) == Array(100..<150))
    }

    @Test func theTrackerNeverHoldsMoreThanTheSpanWhateverArrives() throws {
        var harness = MachineHarness {
            $0.ordering = .key
            $0.maxUncommittedSpan = 64
        }
        harness.assign(0)
        var offset: Int64 = 0
        var running: [InFlightWork] = []
        for round in 0..<40 {
            let polled = harness.poll((0..<25).map { _ in
                defer { offset += 1 }
                return harness.message(0, offset, key: "k\(offset % 5)")
            })
            running += polled.dispatch
            // Finish all but the oldest running call, so the commit point stays put for a while.
            let keep = round % 7 == 6 ? [] : running.prefix(1)
            let done = running.filter { work in !keep.contains { $0.message.offset == work.message.offset } }
            running = Array(keep)
            running += harness.succeed(done).dispatch
            running += harness.tick().dispatch
            #expect(Set(running.map(\.message.offset)).count == running.count, "round \(round): a call started twice")
            let entries = harness.machine.tracker[harness.tp(0)]?.entryCount ?? 0
            #expect(entries <= 64, "round \(round): \(entries) tracked offsets")
            #expect(harness.machine.uncommittedSpan(of: harness.tp(0)) <= 64)
        }
        // One call per key lane at a time: about 200 rounds for the rest.
        for _ in 0..<1_000 where !(running.isEmpty && harness.machine.spanHeld.isEmpty) {
            let batch = running
            running = harness.succeed(batch).dispatch
            running += harness.tick().dispatch
            #expect(Set(running.map(\.message.offset)).count == running.count, "a call started twice: \(running.map(\.message.offset))")
        }
        #expect(
            harness.commitPoint(0) == offset,
            "every offset was admitted in the end, none lost: held \(harness.machine.spanHeld.mapValues(\.count)), outstanding \(harness.machine.tracker.outstanding(on: harness.tp(0))), running \(running.count), window \(harness.machine.window.count), paused \(harness.machine.spanPaused)")
    }

    @Test func finishedOffsetsBeyondTheMetadataBudgetPauseThePartition() throws {
        var harness = MachineHarness {
            $0.ordering = .unordered
            $0.maxUncommittedSpan = 100_000
            $0.maxInFlightMessages = 10_000
            $0.commitMetadataMaxBytes = 200
        }
        harness.assign(0)
        let started = harness.poll((0..<4_000).map { harness.message(0, $0) }).dispatch
        // Every other offset done: about 1,200 positions fit 200 characters as a bitset.
        _ = harness.succeed(started.filter { $0.message.offset % 2 == 1 })
        harness.advance(by: .seconds(1))
        let due = harness.tick()
        let commit = try #require(due.commit?.offsets.first)
        #expect(try #require(commit.metadata).utf8.count <= 200)
        #expect(due.pause == [harness.tp(0)])
        #expect(harness.machine.spanPaused == [harness.tp(0)])
    }

    @Test func aStuckMessageIsReportedWithItsAttemptOncePerPeriod() throws {
        var harness = MachineHarness {
            $0.ordering = .unordered
            $0.stuckMessageWarning = .seconds(10)
            $0.retry = RetryPolicy(maxAttempts: 5, initialBackoff: .seconds(600), multiplier: 1, maxBackoff: .seconds(600), jitter: 0)
        }
        let stuck = try #require(Self.stuckAtZero(&harness, count: 20))
        _ = harness.fail(stuck, TestFailure())
        harness.advance(by: .seconds(5))
        #expect(!harness.tick().logs.contains { if case .stuck = $0 { true } else { false } })
        harness.advance(by: .seconds(6))
        let report = harness.tick().logs.compactMap { log -> (Int64, Int, String, Duration, Int)? in
            if case .stuck(_, let offset, let attempt, let state, let age, let finished) = log { return (offset, attempt, state, age, finished) }
            return nil
        }
        #expect(report.count == 1)
        #expect(report.first?.0 == 0)
        #expect(report.first?.1 == 2, "attempt 1 failed, attempt 2 waits")
        #expect(report.first?.2 == "waiting to be retried")
        #expect(report.first?.3 == .seconds(11))
        #expect(report.first?.4 == 19)
        harness.advance(by: .seconds(2))
        #expect(!harness.tick().logs.contains { if case .stuck = $0 { true } else { false } }, "once per period")
        harness.advance(by: .seconds(9))
        #expect(harness.tick().logs.contains { if case .stuck = $0 { true } else { false } }, "again a period later")
        let partition = try #require(harness.machine.partitionStatistics.first)
        #expect(partition.oldestUnfinishedAge == .seconds(22))
        #expect(partition.trackedOffsets == 20)
        #expect(partition.uncommittedSpan == 20)
    }
}
