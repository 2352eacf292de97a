//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SluiceTestKit
import Testing

@testable import Sluice

/// ``SluiceConfiguration/messageLimit``: exactly that many messages are handled and committed,
/// then the consumer stops by itself; nothing past them is handled or committed.
@Suite struct MessageLimitTests {
    @Test func admissionStopsAtTheLimitAndItsLastDoneMessageStopsTheConsumer() throws {
        var harness = MachineHarness {
            $0.ordering = .unordered
            $0.messageLimit = 5
        }
        harness.assign(0, 1)
        let first = harness.poll((0..<4).map { harness.message(0, $0) }).dispatch
        let second = harness.poll((0..<4).map { harness.message(1, $0) }).dispatch
        #expect(first.map(\.message.offset) == [0, 1, 2, 3])
        #expect(second.map(\.message.offset) == [0], "the fifth message; the rest wait")
        #expect(harness.machine.held.count == 3)
        #expect(harness.machine.isAtMessageLimit)
        #expect(!harness.machine.mayRefill, "the poll thread waits instead of polling on past the limit")

        // Four done: still running, and room in the window admits nothing more.
        var actions = harness.succeed(first)
        #expect(actions.dispatch.isEmpty)
        #expect(harness.machine.lifecycle.isRunning)
        #expect(harness.poll([harness.message(1, 4)]).dispatch.isEmpty)
        actions = harness.succeed(second)
        #expect(harness.machine.lifecycle.isStopping)
        #expect(actions.wakePoller)
        #expect(actions.logs.contains { if case .messageLimitReached(5) = $0 { true } else { false } })

        // The shutdown drops the held messages and commits exactly the five.
        #expect(harness.machine.beginShutdown(now: harness.now) != nil)
        #expect(harness.machine.held.isEmpty)
        let final = harness.machine.drainEnded(now: harness.now)
        let commit = try #require(final)
        #expect(Dictionary(uniqueKeysWithValues: commit.offsets.map { ($0.topicPartition, $0.offset) })
            == [harness.tp(0): 4, harness.tp(1): 1])
    }

    /// A message admitted but dropped unfinished (its partition revoked) does not count: another
    /// takes its place, so that the consumer still stops at the limit's count of done messages.
    @Test func aMessageDroppedUnfinishedLeavesRoomForAnother() throws {
        var harness = MachineHarness {
            $0.ordering = .partition
            $0.messageLimit = 3
        }
        harness.assign(0, 1)
        let started = harness.poll([harness.message(0, 0), harness.message(0, 1), harness.message(1, 0), harness.message(1, 1)]).dispatch
        #expect(started.map(\.topicPartition) == [harness.tp(0), harness.tp(1)], "0@1 queued behind 0@0; 1@1 held")
        #expect(harness.machine.held.count == 1)

        // Partition 0 is revoked: queued 0@1 is dropped, running 0@0 drains (and is done).
        _ = harness.machine.revocationBegan([harness.tp(0)], lost: false, now: harness.now)
        _ = harness.succeed([started[0]])
        _ = harness.machine.revocationEnded([harness.tp(0)], lost: false, now: harness.now)
        #expect(harness.machine.limitDone == 1)
        #expect(!harness.machine.isAtMessageLimit, "0@1 left room")

        // 1@0 finishes; 1@1 takes the room 0@1 left and is the third done message.
        _ = harness.succeed([started[1]])
        let next = harness.tick().dispatch
        #expect(next.map(\.message.offset) == [1])
        #expect(harness.machine.lifecycle.isRunning)
        _ = harness.succeed(next)
        #expect(harness.machine.lifecycle.isStopping)
        #expect(harness.machine.limitDone == 3)
        let final = harness.machine.drainEnded(now: harness.now)
        let commit = try #require(final)
        #expect(commit.offsets == [TopicPartitionOffset(harness.tp(1), offset: 2)])
    }

    /// A dead-lettered message counts once its write is acknowledged, like a handled one.
    @Test func aDeadLetteredMessageCountsWhenItsWriteIsAcknowledged() throws {
        var harness = MachineHarness {
            $0.ordering = .unordered
            $0.messageLimit = 2
            $0.failurePolicy = .deadLetter()
            $0.retry = RetryPolicy(maxAttempts: 1)
            $0.deadLetterGuard = .off
        }
        harness.assign(0)
        let started = harness.poll((0..<3).map { harness.message(0, $0) }).dispatch
        #expect(started.count == 2)
        _ = harness.succeed([started[0]])
        let failed = harness.fail(started[1], TestFailure())
        let write = try #require(failed.deadLetters.first)
        #expect(harness.machine.lifecycle.isRunning, "not done until the write is acknowledged")
        let acknowledged = harness.machine.deadLetterAcknowledged(write.work.key, now: harness.now)
        #expect(harness.machine.lifecycle.isStopping)
        #expect(acknowledged.wakePoller)
        let final = harness.machine.drainEnded(now: harness.now)
        let commit = try #require(final)
        #expect(commit.offsets == [TopicPartitionOffset(harness.tp(0), offset: 2)])
    }

    /// Waiting at the limit for long handlers is like waiting with a full window: after the pause
    /// threshold the partitions pause, so that the poll thread polls on and the group keeps this
    /// member.
    @Test func waitingAtTheLimitPausesThePartitionsAfterThePauseThreshold() {
        var harness = MachineHarness {
            $0.ordering = .unordered
            $0.messageLimit = 1
            $0.pauseThreshold = .seconds(3)
        }
        harness.assign(0)
        #expect(harness.poll([harness.message(0, 0), harness.message(0, 1)]).dispatch.count == 1)
        #expect(harness.tick().pause.isEmpty)
        harness.advance(by: .seconds(3))
        #expect(harness.tick().pause == [harness.tp(0)])
        #expect(harness.machine.isPaused)
    }

    @Test func aLimitBelowOneIsRefusedWithItsValue() {
        var config = SluiceConfiguration(brokers: ["127.0.0.1:9092"], groupID: "g", topics: ["t"])
        config.messageLimit = 0
        #expect(throws: SluiceError.self) { try config.validate() }
        do {
            try config.validate()
        } catch {
            #expect("\(error)".contains("the message limit must be at least 1, got 0"))
        }
    }

    /// The whole engine on the test kit: with key order, several workers and a window larger than
    /// the limit, exactly the limit's messages are handled, once each, and exactly they are
    /// committed: each partition's commit is its handled prefix.
    @Test(arguments: OrderingMode.allCases)
    func theConsumerHandlesAndCommitsExactlyTheLimitThenStops(ordering: OrderingMode) async throws {
        let kafka = TestKitTests.kafka(partitions: 4, messages: 400)
        var config = kafka.configuration(topics: ["orders"])
        config.ordering = ordering
        config.workers = 3
        config.maxInFlightMessages = 64
        config.messageLimit = 150
        let handler = TestKitTests.Recorder()
        let run = try await TestConsumer(configuration: config, kafka: kafka, handler: handler).run(until: .after(.seconds(600)))
        #expect(!run.metCondition, "the consumer stopped by itself")
        #expect(run.failure == nil)
        let handled = handler.handled
        #expect(handled.count == 150)
        #expect(handled.values.allSatisfy { $0 == 1 })
        #expect(run.statistics.completed == 150)
        #expect(run.committed.values.reduce(0, +) == 150)
        for (tp, offset) in run.committed {
            let mine = Set(handled.keys.filter { $0.hasPrefix("orders[\(tp.partition)]@") })
            #expect(mine == Set((0..<offset).map { "orders[\(tp.partition)]@\($0)" }), "\(tp)")
        }
    }
}
