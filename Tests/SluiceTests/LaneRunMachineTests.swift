//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SluiceFutures
import Testing

@testable import Sluice

/// Lane runs: with `key` and `partition` ordering, a lane's queued messages start together on
/// one worker, in order; a run stops at its first failure and its rest waits, un-run, behind the
/// failed message.
@Suite struct LaneRunMachineTests {
    private func offsets(_ works: [InFlightWork]) -> [Int64] { works.map(\.message.offset) }

    /// The results a worker reports for a run whose member at `failing` failed: the ones before
    /// it succeeded, the ones after it did not run.
    private func results(_ count: Int, failingAt failing: Int) -> [Result<Void, any Error>] {
        (0..<count).map { index in
            index < failing ? .success(()) : index == failing ? .failure(TestFailure()) : .failure(LaneRunSkipped())
        }
    }

    /// A key-ordered machine under `retry`, and the lane run it starts for four messages of key "a".
    private func runOfFour(retry: RetryPolicy) throws -> (MachineHarness, [InFlightWork]) {
        var harness = MachineHarness(laneRuns: 128) {
            $0.ordering = .key
            $0.retry = retry
        }
        harness.assign(0)
        let run = try #require(harness.poll((0..<4).map { harness.message(0, $0, key: "a") }).laneRuns.first)
        return (harness, run)
    }

    @Test func aLanesBacklogStartsAsOneRunWithTheLaneHeldByItsLastMember() throws {
        var harness = MachineHarness(laneRuns: 128) { $0.ordering = .key }
        harness.assign(0)
        let keys = ["a", "a", "b", "a", "b", "c"]
        let started = harness.poll(keys.enumerated().map { harness.message(0, Int64($0.offset), key: $0.element) })
        #expect(offsets(started.dispatch) == [5], "c has no backlog: it starts alone")
        #expect(started.laneRuns.map(offsets) == [[0, 1, 3], [2, 4]])
        for run in started.laneRuns {
            #expect(run.allSatisfy { $0.runLane != nil && $0.runLane == run.last?.lane })
            #expect(run.dropLast().allSatisfy { $0.lane == nil }, "only the last member holds the lane")
        }
        #expect(harness.machine.totalRunning == 6)
        _ = harness.succeed(started.dispatch)
        for run in started.laneRuns { _ = harness.succeed(run) }
        #expect(harness.commitPoint(0) == 6)
        #expect(harness.machine.totalRunning == 0)
        #expect(harness.machine.window.count == 0)
    }

    @Test func aRunStopsAtItsFirstFailureAndItsRestRunsAfterTheRetryAheadOfLaterMessages() throws {
        var harness = MachineHarness(laneRuns: 128) {
            $0.ordering = .key
            $0.retry = RetryPolicy(maxAttempts: 3, initialBackoff: .seconds(1), jitter: 0)
        }
        harness.assign(0)
        let started = harness.poll((0..<4).map { harness.message(0, $0, key: "a") })
        let run = try #require(started.laneRuns.first)
        #expect(offsets(run) == [0, 1, 2, 3])
        // A later message of the lane arrives while the run is out: it queues.
        let later = harness.poll([harness.message(0, 4, key: "a")])
        #expect(later.dispatch.isEmpty && later.laneRuns.isEmpty)
        // 1 fails: 2 and 3 did not run, and go back ahead of 4.
        let failed = harness.machine.finished(run, results: results(4, failingAt: 1), now: harness.now)
        #expect(failed.dispatch.isEmpty && failed.laneRuns.isEmpty, "nothing of the lane starts while 1 waits for its retry")
        #expect(harness.commitPoint(0) == 1)
        #expect(harness.machine.window.count == 4, "1, 2, 3 and 4 are still in flight")
        #expect(harness.machine.totalRunning == 0)
        // The retry starts 1 with the rest, in order: 2 and 3 before 4, none of them charged an attempt.
        harness.advance(by: .seconds(1))
        let retried = harness.tick()
        let again = try #require(retried.laneRuns.first)
        #expect(offsets(again) == [1, 2, 3, 4])
        #expect(again.map(\.attempt) == [2, 1, 1, 1])
        _ = harness.succeed(again)
        #expect(harness.commitPoint(0) == 5)
        #expect(harness.machine.window.count == 0)
        #expect(harness.machine.counters.retried == 1)
    }

    @Test func runsAreAtMostTheLimitAndFollowEachOther() throws {
        var harness = MachineHarness(laneRuns: 4) { $0.ordering = .partition }
        harness.assign(0)
        let first = harness.poll((0..<10).map { harness.message(0, $0) })
        #expect(first.laneRuns.map(offsets) == [[0, 1, 2, 3]])
        let second = harness.succeed(first.laneRuns[0])
        #expect(second.laneRuns.map(offsets) == [[4, 5, 6, 7]])
        let third = harness.succeed(second.laneRuns[0])
        #expect(third.laneRuns.map(offsets) == [[8, 9]])
        _ = harness.succeed(third.laneRuns[0])
        #expect(harness.commitPoint(0) == 10)
    }

    /// A lane run in a worker process whose worker crashed: nobody knows which member did it. The
    /// first member holds the lane and runs once more alone (an attempt on top of the policy's);
    /// the others go back to the lane un-run, and each then runs alone, in order, so that only a
    /// poison message crashes again, and only its own call.
    @Test func aCrashedRunBlamesItsFirstMemberAndRunsTheRestOneByOneInOrder() throws {
        let (started, run) = try runOfFour(retry: RetryPolicy(maxAttempts: 1, initialBackoff: .milliseconds(10), jitter: 0))
        var harness = started
        #expect(offsets(run) == [0, 1, 2, 3])
        let crash = TestFailure()
        let crashed = harness.machine.finished(
            run, results: HandlerInvoker.failedChunkResults(run, error: crash), wholeBatch: true, now: harness.now)
        #expect(crashed.dispatch.isEmpty && crashed.laneRuns.isEmpty, "nothing of the lane starts before 0's retry")
        #expect(harness.machine.totalRunning == 0)
        #expect(harness.machine.window.count == 4)
        #expect(harness.machine.counters.retried == 1, "only 0 was charged the crash")

        harness.advance(by: .milliseconds(10))
        let retried = harness.tick()
        #expect(retried.laneRuns.isEmpty)
        #expect(offsets(retried.dispatch) == [0])
        #expect(retried.dispatch[0].attempt == 2 && retried.dispatch[0].alone, "isolated: one attempt more, alone")
        // 1, 2, 3 follow one at a time, each alone, none charged an attempt.
        var next = harness.succeed(retried.dispatch)
        var order: [Int64] = [0]
        while let work = next.dispatch.first {
            #expect(next.laneRuns.isEmpty && next.dispatch.count == 1)
            #expect(work.alone && work.attempt == 1)
            order.append(work.message.offset)
            next = harness.succeed(next.dispatch)
        }
        #expect(order == [0, 1, 2, 3])
        #expect(harness.commitPoint(0) == 4)
        #expect(harness.machine.window.count == 0)
        // Later messages of the lane run together again.
        let later = harness.poll((4..<7).map { harness.message(0, $0, key: "a") })
        #expect(later.laneRuns.map(offsets) == [[4, 5, 6]])
    }

    @Test func theLastMembersFailureKeepsTheLaneForItsRetry() throws {
        var harness = MachineHarness(laneRuns: 128) {
            $0.ordering = .partition
            $0.retry = RetryPolicy(maxAttempts: 2, initialBackoff: .seconds(1), jitter: 0)
        }
        harness.assign(0)
        let run = try #require(harness.poll((0..<3).map { harness.message(0, $0) }).laneRuns.first)
        let failed = harness.machine.finished(run, results: results(3, failingAt: 2), now: harness.now)
        #expect(failed.dispatch.isEmpty && failed.laneRuns.isEmpty)
        #expect(harness.poll([harness.message(0, 3)]).dispatch.isEmpty, "3 waits for 2's retry")
        harness.advance(by: .seconds(1))
        let retried = harness.tick()
        #expect(retried.laneRuns.map(offsets) == [[2, 3]])
    }

    @Test func underTheStopPolicyTheRunsRestNeverRunsAndNothingPastTheFailureIsCommitted() throws {
        var harness = MachineHarness(laneRuns: 128) {
            $0.ordering = .key
            $0.failurePolicy = .stop
            $0.retry = .none
        }
        harness.assign(0)
        let run = try #require(harness.poll((0..<5).map { harness.message(0, $0, key: "a") }).laneRuns.first)
        let stopped = harness.machine.finished(run, results: results(5, failingAt: 2), now: harness.now)
        #expect(stopped.dispatch.isEmpty && stopped.laneRuns.isEmpty)
        #expect(harness.machine.lifecycle.failure != nil)
        #expect(harness.commitPoint(0) == 2)
    }

    @Test func aRevokedPartitionsUnrunMembersAreDroppedNotRequeued() throws {
        let (started, run) = try runOfFour(retry: RetryPolicy(maxAttempts: 3, initialBackoff: .seconds(1), jitter: 0))
        var harness = started
        _ = harness.machine.revocationBegan([harness.tp(0)], lost: false, now: harness.now)
        #expect(harness.machine.isRunning(any: [harness.tp(0)]))
        _ = harness.machine.finished(run, results: results(4, failingAt: 1), now: harness.now)
        #expect(!harness.machine.isRunning(any: [harness.tp(0)]), "the drain is over")
        #expect(harness.machine.scheduler.queuedCount == 0, "2 and 3 are not queued on a revoked partition's lane")
        harness.advance(by: .seconds(1))
        let retried = harness.tick()
        #expect(retried.dispatch.isEmpty && retried.laneRuns.isEmpty, "the retry of 1 is given up")
        #expect(harness.machine.window.count == 0)
    }
}
