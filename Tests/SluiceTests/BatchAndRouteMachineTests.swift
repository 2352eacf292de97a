//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

@testable import Sluice
import SluiceFutures
import Testing

/// The state machine's batch and route decisions, event by event on a manual clock: a route's
/// share pauses only its own partitions, a batch's deadline fails every member (each then retried
/// alone), a revocation drops forming batches, and a lane's batches never overlap.
@Suite struct BatchAndRouteMachineTests {
    static func message(_ topic: String, _ partition: Int32, _ offset: Int64, key: String? = nil) -> KafkaMessage {
        KafkaMessage(topic: topic, partition: partition, offset: offset, key: key.map { Array($0.utf8) }, value: Array("v\(offset)".utf8))
    }

    static let nothing = ClosureMessageHandler { _, _ in }
    static let nothingBatched = ClosureBatchMessageHandler { _, _ in .done }

    @Test func aRouteAtItsShareIsPausedAloneAndTheOtherRouteKeepsFlowing() throws {
        var harness = MachineHarness(topic: "slow") {
            $0.topics = []
            $0.maxInFlightMessages = 100
            $0.ordering = .unordered
            $0.routes = [
                SluiceRoute(topics: ["slow"], handler: .sync(Self.nothing), maxInFlightMessages: 10),
                SluiceRoute(topics: ["fast"], handler: .sync(Self.nothing)),
            ]
        }
        let slow = TopicPartition(topic: "slow", partition: 0)
        let fast = TopicPartition(topic: "fast", partition: 0)
        _ = harness.machine.assigned([slow, fast], now: harness.now)
        let first = harness.poll((0..<30).map { Self.message("slow", 0, $0) } + (0..<40).map { Self.message("fast", 0, $0) })
        #expect(first.dispatch.filter { $0.topicPartition == slow }.count == 10, "the slow route stops at its share")
        #expect(first.dispatch.filter { $0.topicPartition == fast }.count == 40, "the fast route is not held behind it")
        #expect(first.pause == [slow])
        #expect(harness.machine.spanHeld[slow]?.count == 20, "the rest of the slow route waits aside, in order")
        #expect(harness.machine.counters.routePauses == 1)
        guard case .routePaused(let route, let partitions, let inFlight)? = first.logs.first(where: { if case .routePaused = $0 { true } else { false } })
        else { Issue.record("no route-paused log"); return }
        #expect(route == "slow" && partitions == 1 && inFlight == 10)

        // The fast route finishes everything while the slow one is stuck: committed to its end.
        _ = harness.succeed(first.dispatch.filter { $0.topicPartition == fast })
        #expect(harness.machine.tracker.commitPoint(of: fast) == 40)

        // The slow route drains to its resume mark (half its share): its kept messages come in.
        let slowWorks = first.dispatch.filter { $0.topicPartition == slow }
        _ = harness.succeed(Array(slowWorks.prefix(4)))
        #expect(harness.tick().resume.isEmpty, "6 in flight: above the resume mark of 5")
        _ = harness.succeed([slowWorks[4]])
        let resumed = harness.tick()
        #expect(resumed.dispatch.map(\.message.offset) == Array(10..<15), "admitted up to the share again, in order")
        #expect(harness.machine.spanHeld[slow]?.count == 15)
        #expect(resumed.resume.isEmpty, "still paused: messages wait aside")
    }

    @Test func routesApplyTheirOwnOrderingAndFailurePolicy() throws {
        var harness = MachineHarness(topic: "orders") {
            $0.topics = []
            $0.ordering = .partition
            $0.failurePolicy = .stop
            $0.retry = .none
            $0.routes = [
                SluiceRoute(topics: ["orders"], handler: .sync(Self.nothing)),
                SluiceRoute(topics: ["audit.*"], handler: .sync(Self.nothing), ordering: .unordered, failurePolicy: .skip),
            ]
        }
        let orders = TopicPartition(topic: "orders", partition: 0)
        let audit = TopicPartition(topic: "audit.eu", partition: 0)
        _ = harness.machine.assigned([orders, audit], now: harness.now)
        #expect(harness.machine.partitions[audit]?.route == 1, "the pattern's route")
        let started = harness.poll((0..<5).map { Self.message("orders", 0, $0) } + (0..<5).map { Self.message("audit.eu", 0, $0) })
        #expect(started.dispatch.filter { $0.topicPartition == orders }.count == 1, "partition order: one at a time")
        #expect(started.dispatch.filter { $0.topicPartition == audit }.count == 5, "unordered: all at once")
        // An audit failure is skipped under its route's policy; the consumer goes on.
        let auditWork = try #require(started.dispatch.first { $0.topicPartition == audit })
        let skipped = harness.fail(auditWork, TestFailure())
        #expect(harness.machine.lifecycle.isRunning)
        #expect(skipped.logs.contains { if case .failed(_, _, let outcome, _) = $0 { outcome.contains("skip") } else { false } })
        // An orders failure stops it, under the consumer's policy.
        let orderWork = try #require(started.dispatch.first { $0.topicPartition == orders })
        _ = harness.fail(orderWork, TestFailure())
        #expect(!harness.machine.lifecycle.isRunning)
        #expect(harness.machine.lifecycle.failure?.topic == "orders")
    }

    @Test func aBatchPastItsDeadlineFailsEveryMemberAndEachRetriesAlone() throws {
        var harness = MachineHarness(batches: true) {
            $0.ordering = .unordered
            $0.maxBatchSize = 4
            $0.handlerTimeout = .seconds(1)
            $0.retry = RetryPolicy(maxAttempts: 3, initialBackoff: .milliseconds(100), jitter: 0)
        }
        harness.assign(0)
        let polled = harness.poll((0..<4).map { harness.message(0, $0) })
        #expect(polled.dispatch.isEmpty)
        let batch = try #require(polled.batches.first)
        #expect(batch.map(\.message.offset) == [0, 1, 2, 3])
        _ = harness.machine.callStarted(batch, now: harness.now)
        harness.advance(by: .seconds(1))
        let timedOut = harness.tick()
        #expect(Set(timedOut.cancel.map(\.message.offset)) == [0, 1, 2, 3], "every member's call is given up")
        #expect(harness.machine.counters.timedOut == 4)
        #expect(harness.machine.retries.values.allSatisfy { $0.alone })
        harness.advance(by: .milliseconds(100))
        let retried = harness.tick()
        #expect(retried.batches.map { $0.map(\.message.offset) } == [[0], [1], [2], [3]], "each alone")
        // Their late outcome is dropped: nothing is done twice.
        _ = harness.succeed(batch)
        #expect(harness.machine.tracker.commitPoint(of: harness.tp(0)) == 0)
        for retry in retried.batches { _ = harness.succeed(retry) }
        #expect(harness.machine.tracker.commitPoint(of: harness.tp(0)) == 4)
    }

    @Test func aRevocationDropsItsFormingBatchAndFreesTheWindow() throws {
        var harness = MachineHarness(batches: true) {
            $0.ordering = .key
            $0.maxBatchSize = 100
            $0.maxBatchDelay = .seconds(5)
        }
        harness.assign(0, 1)
        let polled = harness.poll((0..<10).map { harness.message(0, $0, key: "k\($0 % 3)") } + (0..<6).map { harness.message(1, $0, key: "k") })
        #expect(polled.batches.isEmpty, "waiting to fill")
        #expect(harness.machine.window.count == 16)
        _ = harness.machine.revocationBegan([harness.tp(0)], lost: false, now: harness.now)
        #expect(harness.machine.window.count == 6, "partition 0's forming and queued work is gone")
        harness.advance(by: .seconds(5))
        let due = harness.tick()
        #expect(due.batches.map { $0.map(\.message.offset) } == [[0, 1, 2, 3, 4, 5]], "partition 1's key, in order")
        let batch = try #require(due.batches.first)
        #expect(batch.filter { $0.lane != nil }.map(\.message.offset) == [5], "only the lane's last member holds it")
        _ = harness.succeed(batch)
        #expect(harness.machine.scheduler.activeLaneCount == 0)
        #expect(harness.machine.tracker.commitPoint(of: harness.tp(1)) == 6)
    }

    @Test func aLanesNextBatchStartsOnlyOnceItsPreviousBatchIsDone() throws {
        var harness = MachineHarness(batches: true) {
            $0.ordering = .partition
            $0.maxBatchSize = 3
        }
        harness.assign(0)
        let first = harness.poll((0..<8).map { harness.message(0, $0) })
        #expect(first.batches.map { $0.map(\.message.offset) } == [[0, 1, 2]], "the rest waits for the lane")
        let second = harness.succeed(first.batches[0])
        #expect(second.batches.map { $0.map(\.message.offset) } == [[3, 4, 5]])
        #expect(harness.machine.forming.isEmpty && harness.machine.scheduler.queuedCount == 2, "6 and 7 wait on the lane, not beside the running batch")
        // A failure of a member other than the lane's holder does not hold the lane.
        let third = harness.machine.finished(
            second.batches[0], results: [.failure(TestFailure()), .success(()), .success(())], now: harness.now)
        #expect(third.batches.isEmpty, "6 and 7 start as soon as 5, the lane's holder, is done, and wait for more")
        #expect(harness.machine.retries.keys.map(\.offset) == [3], "3 retries without the lane")
        harness.advance(by: .milliseconds(10))
        #expect(harness.tick().batches.map { $0.map(\.message.offset) } == [[6, 7]])
        #expect(harness.machine.tracker.commitPoint(of: harness.tp(0)) == 3, "never past the failed offset 3")
    }

    @Test func aChunkOfAPerMessageHandlerThatFailedAsOneRunsEachMessageOnceMoreAlone() throws {
        var harness = MachineHarness {
            $0.ordering = .unordered
            $0.retry = .none
            $0.failurePolicy = .skip
        }
        harness.assign(0)
        let polled = harness.poll((0..<3).map { harness.message(0, $0) })
        #expect(polled.dispatch.count == 3, "a per-message route dispatches each; the engine chunks them")
        // The worker process running the three in one frame crashed: which one did it is unknown.
        let crashed = harness.machine.finished(polled.dispatch, results: polled.dispatch.map { _ in .failure(TestFailure()) }, wholeBatch: true, now: harness.now)
        #expect(crashed.logs.filter { if case .retrying = $0 { true } else { false } }.count == 3)
        #expect(harness.machine.retries.values.allSatisfy { $0.alone && $0.isolated && $0.attempt == 2 })
        harness.advance(by: .seconds(1))
        let alone = harness.tick()
        #expect(alone.dispatch.map(\.message.offset) == [0, 1, 2])
        #expect(alone.dispatch.allSatisfy { $0.alone }, "the engine sends each in a frame of its own")
        // Offset 1 was the poison: with one attempt (and the one granted on top) it is skipped;
        // the others are done. Nothing was skipped for its neighbour's crash.
        _ = harness.machine.finished(
            alone.dispatch, results: [.success(()), .failure(TestFailure()), .success(())], now: harness.now)
        #expect(harness.machine.counters.skipped == 1)
        #expect(harness.machine.counters.topics.byTopic["t"]?.handled == 2)
        #expect(harness.machine.tracker.commitPoint(of: harness.tp(0)) == 3)
    }
}

