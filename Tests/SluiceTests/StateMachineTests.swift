//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SluiceFutures
import SluiceProcessPool
import Testing
import _SluiceTime

@testable import Sluice

/// The engine's decisions, event by event, with time moved by hand: no broker, no threads.
@Suite struct StateMachineTests {
    // MARK: Revocation

    /// A revocation's commit fails and is retried; the polls between the tries return later
    /// messages of the revoked partition, which is then assigned back. Not one offset of it may be
    /// skipped: the refetch from the commit point must be admitted, not refused as "seen before".
    @Test func messagesPolledDuringARevocationNeverEnterTheNextAssignment() throws {
        var harness = MachineHarness {
            $0.maxInFlightMessages = 3
            $0.ordering = .unordered
        }
        harness.assign(0, 1)
        // Partition 1 fills two slots with calls that keep running; partition 0 handles 0 and 1
        // and holds 2...
        let other = harness.poll([harness.message(1, 0), harness.message(1, 1)]).dispatch
        #expect(other.count == 2)
        let first = harness.poll([harness.message(0, 0)]).dispatch
        _ = harness.succeed(first)
        let second = harness.poll([harness.message(0, 1), harness.message(0, 2), harness.message(0, 3)]).dispatch
        #expect(second.map(\.message.offset) == [1])
        #expect(harness.machine.held.count == 2, "2 and 3 wait for room")

        // Partition 0 is revoked while 1 still runs: its held messages are dropped.
        let plan = harness.machine.revocationBegan([harness.tp(0)], lost: false, now: harness.now)
        #expect(plan.drainDeadline != nil && plan.commitDeadline != nil)
        #expect(harness.machine.held.isEmpty)
        // The drain: 1 finishes.
        _ = harness.succeed(second)
        let pending = harness.machine.syncCommit(of: [harness.tp(0)])
        let commit = try #require(pending)
        #expect(commit.offsets == [TopicPartitionOffset(harness.tp(0), offset: 2)])
        // The commit fails with a retriable error; the poll between the tries returns 4 and 5 of
        // the revoked partition (still assigned in librdkafka), with the window full.
        let decision = harness.machine.syncCommitAnswered(
            commit, error: KafkaError(code: .rdKafka, message: "timed out", rdKafkaCode: 7, isRetriable: true),
            attempt: 1, deadline: plan.commitDeadline!, now: harness.now)
        #expect(decision == .retry)
        _ = harness.poll([harness.message(1, 2)])  // fills the window
        let during = harness.poll([harness.message(0, 4), harness.message(0, 5)])
        #expect(during.dispatch.isEmpty)
        #expect(harness.machine.held.map(\.message.offset) == [], "refused, not held: \(harness.machine.held.map(\.message))")
        #expect(harness.machine.syncCommitAnswered(commit, error: nil, attempt: 2, deadline: plan.commitDeadline!, now: harness.now) == .done)
        _ = harness.machine.revocationEnded([harness.tp(0)], lost: false, now: harness.now)

        // Assigned back: the source refetches from the committed offset 2.
        harness.assign(0)
        _ = harness.succeed(other)
        let again = harness.poll([harness.message(0, 2), harness.message(0, 3), harness.message(0, 4)])
        #expect(again.dispatch.map(\.message.offset) == [2, 3], "the window has two free slots")
        #expect(harness.machine.held.map(\.message.offset) == [4])
        #expect(again.logs.isEmpty, "nothing refused as seen before")
        #expect(harness.commitPoint(0) == 2)
    }

    @Test func aRevocationDropsQueuedWorkAndWaitingRetriesButDrainsRunningCalls() {
        var harness = MachineHarness {
            $0.ordering = .partition
            $0.retry = RetryPolicy(maxAttempts: 3, initialBackoff: .seconds(5), jitter: 0)
        }
        harness.assign(0, 1)
        let running = harness.poll([harness.message(0, 0), harness.message(0, 1), harness.message(1, 0)]).dispatch
        #expect(running.map(\.message.offset) == [0, 0], "one call per partition")
        // 1@0 fails and waits for its retry, keeping its slot.
        _ = harness.fail(running[1], TestFailure())
        #expect(harness.machine.window.count == 3)
        #expect(!harness.machine.isRunning(any: [harness.tp(1)]))

        _ = harness.machine.revocationBegan([harness.tp(0), harness.tp(1)], lost: false, now: harness.now)
        #expect(harness.machine.window.count == 1, "0@1 (queued) and 1@0 (retry) dropped; 0@0 runs")
        #expect(harness.machine.isRunning(any: [harness.tp(0)]))
        _ = harness.succeed([running[0]])
        #expect(harness.machine.syncCommit(of: [harness.tp(0), harness.tp(1)])?.offsets
            == [TopicPartitionOffset(harness.tp(0), offset: 1), TopicPartitionOffset(harness.tp(1), offset: 0)])
        // The retry's timer comes due after the revocation: nothing runs.
        harness.advance(by: .seconds(6))
        #expect(harness.tick().dispatch.isEmpty)
    }

    /// Lanes know a partition by a number it keeps over assignments: a partition assigned again
    /// while a call of its earlier assignment still runs (the drain timed out) queues its new
    /// messages of that key behind the old call, not beside it; other keys and partitions run.
    @Test func aPartitionAssignedAgainKeepsItsLanes() throws {
        var harness = MachineHarness { $0.ordering = .key }
        harness.assign(0, 1)
        let old = harness.poll([harness.message(0, 0, key: "a")]).dispatch
        #expect(old.map(\.message.offset) == [0])
        _ = harness.machine.revocationBegan([harness.tp(0)], lost: false, now: harness.now)
        _ = harness.machine.revocationEnded([harness.tp(0)], lost: false, now: harness.now)  // 0@0 still runs

        harness.assign(0)
        let again = harness.poll([harness.message(0, 0, key: "a"), harness.message(0, 1, key: "b"), harness.message(1, 0, key: "a")])
        #expect(again.dispatch.map(\.message.description) == ["t[0]@1", "t[1]@0"], "a's refetch waits for the old call")
        #expect(harness.machine.lanePartitions.count == 2, "one number per partition, kept")
        let after = harness.succeed(old)
        #expect(after.dispatch.map(\.message.description) == ["t[0]@0"], "the old call's end frees the lane")
    }

    @Test func aLostPartitionIsNeitherDrainedNorCommitted() {
        var harness = MachineHarness()
        harness.assign(0)
        _ = harness.poll([harness.message(0, 0)])
        let plan = harness.machine.revocationBegan([harness.tp(0)], lost: true, now: harness.now)
        #expect(plan == .init(drainDeadline: nil, commitDeadline: nil))
        _ = harness.machine.revocationEnded([harness.tp(0)], lost: true, now: harness.now)
        #expect(harness.machine.counters.rebalanceEvents == ["assigned": 1, "lost": 1])
        #expect(!harness.machine.hasAssignment)
    }

    /// A revocation's drain and commit get the drain timeout while running, and never more than
    /// what a stop in progress leaves: its immediate budget (counted from the stop, not from the
    /// revocation) or the final commit's share of the close budget.
    @Test func aRevocationDuringAStopIsBoundByTheStopsDeadlines() {
        var running = MachineHarness { $0.drainTimeout = .seconds(30) }
        running.assign(0)
        #expect(running.machine.revocationBegan([running.tp(0)], lost: false, now: running.now)
            == .init(drainDeadline: Duration.seconds(30).nanoseconds, commitDeadline: Duration.seconds(30).nanoseconds))

        var immediate = MachineHarness { $0.drainTimeout = .seconds(30) }
        immediate.assign(0)
        _ = immediate.machine.stopRequested(.immediate, now: immediate.now)
        immediate.advance(by: .seconds(1))
        #expect(immediate.machine.revocationBegan([immediate.tp(0)], lost: false, now: immediate.now)
            == .init(drainDeadline: nil, commitDeadline: Duration.seconds(2).nanoseconds))

        var closing = MachineHarness { $0.closeTimeout = .seconds(10) }
        closing.assign(0)
        _ = closing.machine.stopRequested(.graceful, now: closing.now)
        _ = closing.machine.drainEnded(now: closing.now)
        #expect(closing.machine.revocationBegan([closing.tp(0)], lost: false, now: closing.now)
            == .init(drainDeadline: nil, commitDeadline: Duration.seconds(5).nanoseconds))
    }

    // MARK: Commits

    /// Synchronous commits never consume the bookkeeping of asynchronous ones: each answer finds
    /// its own commit, so latencies and counts stay right.
    @Test func synchronousCommitsDoNotConsumeAsynchronousBookkeeping() throws {
        var harness = MachineHarness { $0.commitInterval = .seconds(1) }
        let async = try harness.handleFirstMessageAndCommitPeriodically()
        #expect(async.offsets == [TopicPartitionOffset(harness.tp(0), offset: 1)])
        // A synchronous commit (a revocation's) is sent and answered while the async one is out.
        _ = harness.succeed(harness.poll([harness.message(0, 1)]).dispatch)
        let pending = harness.machine.syncCommit(of: nil)
        let sync = try #require(pending)
        harness.advance(by: .milliseconds(30))
        #expect(harness.machine.syncCommitAnswered(sync, error: nil, attempt: 1, deadline: .max, now: harness.now) == .done)
        #expect(harness.machine.pendingAsyncCommits.keys.sorted() == [async.id])
        harness.advance(by: .milliseconds(20))
        let latency = harness.machine.asyncCommitAnswered(async.id, error: nil, now: harness.now)
        #expect(latency == .milliseconds(50), "measured from its own send")
        #expect(harness.machine.committed[harness.tp(0)] == 2, "an older answer never moves a commit back")
        #expect(harness.machine.counters.commits == 2)
        #expect(harness.machine.counters.commitFailures == 0)
        // An answer to no commit of this machine is ignored.
        #expect(harness.machine.asyncCommitAnswered(99, error: nil, now: harness.now) == nil)
        #expect(harness.machine.counters.commits == 2)
    }

    @Test func aRefusedCommitHoldsPeriodicCommitsUntilTheNextAssignment() throws {
        var harness = MachineHarness { $0.commitInterval = .seconds(1) }
        let async = try harness.handleFirstMessageAndCommitPeriodically()
        let refusal = KafkaError(code: .rdKafka, message: "rebalancing", rdKafkaCode: 27, isRetriable: true)
        _ = harness.machine.asyncCommitAnswered(async.id, error: refusal, now: harness.now)
        #expect(harness.machine.counters.commitFailures == 1)
        harness.advance(by: .seconds(2))
        #expect(harness.tick().commit == nil, "held while the group rebalances")
        harness.assign(1)
        harness.advance(by: .seconds(1))
        #expect(harness.tick().commit?.offsets == [TopicPartitionOffset(harness.tp(0), offset: 1)])
    }

    @Test func aSynchronousCommitIsTriedAgainOnlyWhileTimeAndTriesRemain() throws {
        var harness = MachineHarness()
        harness.assign(0)
        _ = harness.succeed(harness.poll([harness.message(0, 0)]).dispatch)
        let pending = harness.machine.syncCommit(of: nil)
        let request = try #require(pending)
        let retriable = KafkaError(code: .rdKafka, message: "timed out", rdKafkaCode: 7, isRetriable: true)
        let permanent = KafkaError(code: .rdKafka, message: "denied", rdKafkaCode: 30, isRetriable: false)
        let deadline = harness.now + Duration.seconds(5).nanoseconds
        #expect(harness.machine.syncCommitAnswered(request, error: retriable, attempt: 1, deadline: deadline, now: harness.now) == .retry)
        #expect(harness.machine.syncCommitAnswered(request, error: retriable, attempt: 20, deadline: deadline, now: harness.now) == .done)
        harness.advance(by: .seconds(5))
        #expect(harness.machine.syncCommitAnswered(request, error: retriable, attempt: 2, deadline: deadline, now: harness.now) == .done)
        #expect(harness.machine.syncCommitAnswered(request, error: permanent, attempt: 1, deadline: .max, now: harness.now) == .done)
        #expect(harness.machine.counters.commitFailures == 3)
        #expect(harness.machine.committed[harness.tp(0)] == nil)
    }

    // MARK: Dead letters

    /// A dead-letter write that can never succeed (a permanent error) stops the consumer at once,
    /// naming the dead-letter topic and the message, and nothing past it is committed.
    @Test func aPermanentDeadLetterFailureStopsTheConsumerNamingTopicAndMessage() throws {
        var harness = MachineHarness(topic: "big") {
            $0.failurePolicy = .deadLetter()
            $0.retry = .none
        }
        harness.assign(0)
        let works = harness.poll([harness.message(0, 0), harness.message(0, 1)]).dispatch
        _ = harness.succeed([works[1]])
        let failed = harness.fail(works[0], TestFailure())
        let request = try #require(failed.deadLetters.first)
        #expect(request.topic == "big.dlq")
        #expect(harness.machine.isRunning(any: [harness.tp(0)]), "the write in flight counts as running")

        let tooLarge = KafkaError(code: .rdKafka, message: "Broker: Message size too large", rdKafkaCode: 10, isRetriable: false)
        let actions = harness.machine.deadLetterFailed(request.work.key, error: tooLarge, isRetriable: false, now: harness.now)
        #expect(actions.wakePoller)
        let failure = try #require(harness.machine.lifecycle.failure)
        #expect(failure.code == .deadLetterFailed)
        #expect(failure.description.contains("cannot write big[0]@0"), "\(failure)")
        #expect(failure.description.contains("dead-letter topic big.dlq"), "\(failure)")
        #expect(failure.description.contains("permanent"), "\(failure)")
        #expect((failure.topic, failure.partition, failure.offset) == ("big", 0, 0))
        #expect(harness.machine.pendingCommits().offsets.map(\.offset) == [0], "nothing is committed past the message")
        #expect(!harness.machine.isRunning(any: nil))
    }

    @Test func retriableDeadLetterFailuresAreTriedAgainUntilTheDeadLetterTimeout() throws {
        var harness = MachineHarness {
            $0.failurePolicy = .deadLetter()
            $0.retry = .none
            $0.deadLetterTimeout = .seconds(10)
            $0.commitInterval = .seconds(3_600)
        }
        harness.assign(0)
        let polled = harness.poll([harness.message(0, 0)])
        let work = try #require(polled.dispatch.first)
        let failed = harness.fail(work, TestFailure())
        var request = try #require(failed.deadLetters.first)
        let down = KafkaError(code: .rdKafka, message: "all brokers down", rdKafkaCode: -187, isRetriable: true)
        var writes = 1
        while true {
            _ = harness.machine.deadLetterFailed(request.work.key, error: down, isRetriable: true, now: harness.now)
            if harness.machine.lifecycle.isStopping { break }
            // Waiting for its next write, it does not count as running: a stop or revocation
            // would not wait for it.
            #expect(!harness.machine.isRunning(any: nil))
            let due = try #require(harness.machine.nextDue)
            harness.now = due
            let tick = harness.tick()
            request = try #require(tick.deadLetters.first)
            #expect(request.writeAttempt == writes + 1)
            writes += 1
            try #require(writes < 100)
        }
        #expect(harness.now >= Duration.seconds(10).nanoseconds)
        #expect(writes > 3)
        let failure = try #require(harness.machine.lifecycle.failure)
        #expect(failure.code == .deadLetterFailed)
        #expect(failure.description.contains("it kept failing for"), "\(failure)")
    }

    @Test func aDeadLetterWaitingForItsNextWriteIsGivenUpByARevocation() throws {
        var harness = MachineHarness {
            $0.failurePolicy = .deadLetter()
            $0.retry = .none
        }
        harness.assign(0)
        let polled = harness.poll([harness.message(0, 0)])
        let work = try #require(polled.dispatch.first)
        let failed = harness.fail(work, TestFailure())
        let request = try #require(failed.deadLetters.first)
        _ = harness.machine.deadLetterFailed(request.work.key, error: TestFailure(), isRetriable: true, now: harness.now)
        let plan = harness.machine.revocationBegan([harness.tp(0)], lost: false, now: harness.now)
        #expect(plan.drainDeadline != nil)
        #expect(!harness.machine.isRunning(any: [harness.tp(0)]), "nothing to wait for")
        #expect(harness.machine.window.count == 0)
        #expect(harness.machine.deadLettering == 0)
        #expect(harness.machine.syncCommit(of: [harness.tp(0)])?.offsets == [TopicPartitionOffset(harness.tp(0), offset: 0)])
    }

    // MARK: Stopping

    @Test func anImmediateStopShortensEveryDeadlineOfAGracefulOne() {
        var harness = MachineHarness {
            $0.drainTimeout = .seconds(30)
            $0.closeTimeout = .seconds(10)
        }
        harness.assign(0)
        _ = harness.poll([harness.message(0, 0)])
        _ = harness.machine.stopRequested(.graceful, now: harness.now)
        #expect(harness.machine.beginShutdown(now: harness.now) == Duration.seconds(30).nanoseconds)
        #expect(harness.machine.commitCutoff == .max)
        harness.advance(by: .seconds(1))
        _ = harness.machine.stopRequested(.immediate, now: harness.now)
        #expect(harness.machine.lifecycle.stopRequest?.drainDeadline == harness.now)
        #expect(harness.machine.commitCutoff == harness.now + Duration.seconds(2).nanoseconds)
        _ = harness.machine.drainEnded(now: harness.now)
        #expect(harness.machine.closeDeadline == harness.now + Duration.seconds(2).nanoseconds)
        #expect(harness.machine.commitCutoff == harness.now + Duration.seconds(1).nanoseconds, "half for the final commit")

        // Already closing with the graceful budget: a second stop cuts it to the immediate one.
        var closing = MachineHarness { $0.closeTimeout = .seconds(10) }
        _ = closing.machine.stopRequested(.graceful, now: closing.now)
        _ = closing.machine.drainEnded(now: closing.now)
        #expect(closing.machine.closeDeadline == Duration.seconds(10).nanoseconds)
        #expect(closing.machine.commitCutoff == Duration.seconds(5).nanoseconds)
        closing.advance(by: .seconds(3))
        _ = closing.machine.stopRequested(.immediate, now: closing.now)
        #expect(closing.machine.closeDeadline == Duration.seconds(5).nanoseconds)
        #expect(closing.machine.commitCutoff == Duration.seconds(4).nanoseconds)
    }

    @Test func theStopPolicyStopsStartsNothingMoreAndCommitsNothingPastTheFailure() throws {
        var harness = MachineHarness {
            $0.ordering = .partition
            $0.retry = .none
        }
        harness.assign(0)
        let polled = harness.poll([harness.message(0, 0), harness.message(0, 1)])
        let work = try #require(polled.dispatch.first)
        let actions = harness.fail(work, TestFailure())
        #expect(actions.dispatch.isEmpty, "0@1 is parked, not started")
        #expect(actions.wakePoller)
        let failure = try #require(harness.machine.lifecycle.failure)
        #expect(failure.code == .handlerFailed)
        #expect(failure.description.contains("the handler failed on t[0]@0 after 1 attempt and the failure policy is stop"))
        #expect(harness.machine.beginShutdown(now: harness.now) == Duration.seconds(30).nanoseconds)
        #expect(harness.machine.window.count == 0, "parked work dropped")
        #expect(harness.machine.drainEnded(now: harness.now)?.offsets == [TopicPartitionOffset(harness.tp(0), offset: 0)])
        #expect(harness.machine.closed(now: harness.now)?.code == .handlerFailed)
    }

    @Test func aStopBeforeRunMakesRunReturnAtOnceAndASecondRunIsRefused() {
        var configuration = SluiceConfiguration(brokers: ["in-memory:9092"], groupID: "g", topics: ["t"])
        configuration.workers = 1
        var machine = ConsumerStateMachine(settings: .init(configuration, handlers: [(false, false)]), seed: 1)
        _ = machine.stopRequested(.graceful, now: 0)
        #expect(machine.startRequested() == .returnAtOnce)
        #expect(machine.startRequested() == .alreadyStarted)
    }

    // MARK: Handler outcomes

    @Test func aCallPastItsDeadlineFailsAsATimeoutAndItsLateOutcomeIsDropped() throws {
        var harness = MachineHarness {
            $0.handlerTimeout = .seconds(1)
            $0.retry = RetryPolicy(maxAttempts: 2, initialBackoff: .milliseconds(100), jitter: 0)
            $0.commitInterval = .seconds(3_600)
        }
        harness.assign(0)
        let polled = harness.poll([harness.message(0, 0)])
        let work = try #require(polled.dispatch.first)
        // The deadline starts when the call starts on its thread, not at dispatch.
        harness.advance(by: .milliseconds(300))
        _ = harness.machine.callStarted([work], now: harness.now)
        #expect(harness.machine.nextDue == Duration.milliseconds(1_300).nanoseconds)
        harness.advance(by: .seconds(1))
        let timedOut = harness.tick()
        #expect(timedOut.cancel.map(\.call) == [work.call])
        #expect(harness.machine.counters.timedOut == 1)
        #expect(harness.machine.counters.retried == 1)
        // The overrunning call returns later: its outcome is dropped, nothing counted twice.
        _ = harness.succeed([work])
        #expect(harness.machine.counters.completed == 0)
        #expect(harness.machine.window.count == 1)
        harness.advance(by: .milliseconds(100))
        let due = harness.tick()
        let retry = try #require(due.dispatch.first)
        #expect(retry.attempt == 2)
        _ = harness.machine.callStarted([retry], now: harness.now)
        _ = harness.succeed([retry])
        #expect(harness.machine.counters.completed == 1)
        #expect(harness.commitPoint(0) == 1)
    }

    @Test func aCallReturningAfterItsDeadlineCountsAsTimedOut() throws {
        var harness = MachineHarness {
            $0.handlerTimeout = .milliseconds(500)
            $0.retry = .none
            $0.failurePolicy = .skip
        }
        harness.assign(0)
        let polled = harness.poll([harness.message(0, 0)])
        let work = try #require(polled.dispatch.first)
        _ = harness.machine.callStarted([work], now: harness.now)
        harness.advance(by: .seconds(1))
        _ = harness.succeed([work])  // before the deadline's timer fired
        #expect(harness.machine.counters.timedOut == 1)
        #expect(harness.machine.counters.skipped == 1)
    }

    @Test func aWorkerStoppedFromOutsideRunsAgainWithoutCountingAnAttempt() throws {
        var harness = MachineHarness {
            $0.retry = .none
            $0.failurePolicy = .skip
        }
        harness.assign(0)
        let polled = harness.poll([harness.message(0, 0)])
        var work = try #require(polled.dispatch.first)
        let killed = ProcessPoolError(code: .workerCrashed, message: "Worker 42 crashed with signal SIGKILL", signal: 9)
        for round in 1...3 {
            let actions = harness.fail(work, killed)
            #expect(actions.dispatch.isEmpty)
            let again = harness.tick()
            work = try #require(again.dispatch.first, "run again at once (round \(round))")
            #expect(work.attempt == 1)
            #expect(work.interruptions == round)
        }
        #expect(harness.machine.counters.interrupted == 3)
        #expect(harness.machine.counters.skipped == 0)
        // A fourth loss in a row counts as a crash of the handler: the policy applies.
        _ = harness.fail(work, killed)
        #expect(harness.machine.counters.skipped == 1)
    }

    // MARK: Pause and resume

    @Test func aFullWindowPausesAfterTheThresholdAndResumesBelowTheResumeMark() throws {
        var harness = MachineHarness {
            $0.maxInFlightMessages = 2
            $0.pauseThreshold = .seconds(3)
            $0.resumeFraction = 0.5
            $0.ordering = .unordered
            $0.commitInterval = .seconds(3_600)
        }
        harness.assign(0, 1)
        let running = harness.poll([harness.message(0, 0), harness.message(0, 1), harness.message(0, 2)]).dispatch
        #expect(running.count == 2)
        #expect(harness.tick().pause.isEmpty, "full, but not for the threshold yet")
        #expect(harness.machine.nextDue == Duration.seconds(3).nanoseconds)
        harness.advance(by: .seconds(3))
        let paused = harness.tick()
        #expect(paused.pause == [harness.tp(0), harness.tp(1)])
        #expect(harness.machine.isPaused)
        #expect(harness.machine.counters.pauses == 1)

        // Assigned while paused: paused on the next tick (after librdkafka applied the assignment).
        harness.assign(2)
        #expect(harness.tick().pause == [harness.tp(2)])
        // Revoked while paused: resumed, or a later assignment of it would never fetch.
        _ = harness.machine.revocationBegan([harness.tp(1)], lost: false, now: harness.now)
        #expect(harness.machine.revocationEnded([harness.tp(1)], lost: false, now: harness.now).resume == [harness.tp(1)])

        // One finishes: the held message takes its slot, the window stays full.
        _ = harness.succeed([running[0]])
        let refill = harness.tick()
        #expect(refill.dispatch.map(\.message.offset) == [2])
        #expect(refill.resume.isEmpty)
        // Down to the resume mark with nothing held: everything assigned resumes.
        _ = harness.succeed([running[1]])
        let resumed = harness.tick()
        #expect(resumed.resume == [harness.tp(0), harness.tp(2)])
        #expect(!harness.machine.isPaused)
        #expect(harness.machine.windowFullNanos == Duration.seconds(3).nanoseconds)
    }

    @Test func completionsWakeAWaitingPollThreadOnlyAtTheRefillMark() {
        var harness = MachineHarness {
            $0.maxInFlightMessages = 4
            $0.ordering = .unordered
        }
        harness.assign(0)
        let running = harness.poll((0..<5).map { harness.message(0, $0) }).dispatch
        harness.machine.pollerWait = .room
        #expect(!harness.succeed([running[0]]).wakePoller, "3 of 4: above half")
        #expect(harness.succeed([running[1]]).wakePoller, "2 of 4: the refill mark")
    }
}
