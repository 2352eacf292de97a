//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import SluiceFutures
internal import _SluiceTime

extension ConsumerStateMachine {
    /// `work` goes to its dead-letter topic: its lane is free at once, while it keeps its window
    /// slot and counts as running (a revocation or a stop waits for the write in flight) until the
    /// write is acknowledged or given up.
    mutating func beginDeadLetter(_ work: InFlightWork, error: any Error, into actions: inout EngineActions) {
        counters.failed += 1
        counters.count(work.message.topic) { $0.failed += 1 }
        deadLetterGuard.record(deadLettered: true)
        let topic = settings.routes[work.route].failurePolicy.deadLetterTopic(for: work.message.topic) ?? work.message.topic + ".dlq"
        deadLetters[work.key] = DeadLetterState(work: work, topic: topic, error: error)
        markRunning(work)
        actions.deadLetters.append(DeadLetterRequest(work: work, topic: topic, error: error, writeAttempt: 1))
        releaseLane(of: work, into: &actions)
    }

    /// The dead-letter topic acknowledged the write of `key`: the message is done.
    mutating func deadLetterAcknowledged(_ key: InFlightWork.Key, now time: Int64) -> EngineActions {
        advance(to: time)
        var actions = EngineActions()
        guard let state = deadLetters.removeValue(forKey: key) else { return actions }
        let work = state.work
        if state.isWriting { endRun(work) }
        counters.deadLettered += 1
        counters.count(work.message.topic) { $0.deadLettered += 1 }
        release(work)
        counters.recordDone(polledAt: work.polledAt, at: now)
        actions.wakePoller = shouldWakePoller()
        if partitions[work.topicPartition]?.epoch == work.epoch {
            markDone(work, on: work.topicPartition, into: &actions)
        }
        return actions
    }

    /// A write of `key` to its dead-letter topic failed.
    ///
    /// A retriable error is tried again after a backoff, for ``Settings/deadLetterTimeout`` since
    /// the first failure; a permanent one (the record is too large, authorization failed), or
    /// running out of that time, stops the consumer with an error naming the dead-letter topic and
    /// the message: nothing past it is committed, and no partition is held forever. While it waits
    /// for its next write it does not count as running, so stops and revocations do not wait for
    /// it: they give it up and its offset stays uncommitted.
    mutating func deadLetterFailed(_ key: InFlightWork.Key, error: any Error, isRetriable: Bool, now time: Int64) -> EngineActions {
        advance(to: time)
        var actions = EngineActions()
        guard var state = deadLetters[key], state.isWriting else { return actions }
        let work = state.work
        endRun(work)
        state.isWriting = false
        if lifecycle.isStopping || partitions[work.topicPartition]?.epoch != work.epoch {
            abandonDeadLetter(state, into: &actions)
            actions.wakePoller = shouldWakePoller()
            return actions
        }
        let firstFailure = state.firstFailureAt ?? now
        if !isRetriable || now - firstFailure >= settings.deadLetterTimeout {
            deadLetters[key] = nil
            release(work)
            let message = work.message
            let why = isRetriable
                ? "it kept failing for \(Duration.nanoseconds(now - firstFailure)) (\(state.writes) writes)"
                : "the error is permanent"
            stop(on: SluiceError(
                code: .deadLetterFailed,
                message: "cannot write \(message) to the dead-letter topic \(state.topic): \(why)",
                underlying: error, topic: message.topic, partition: message.partition, offset: message.offset),
                into: &actions)
            return actions
        }
        state.firstFailureAt = firstFailure
        let delay = Self.deadLetterBackoff(settings.routes[state.work.route].retry).backoff(after: state.writes, random: Double.random(in: 0..<1, using: &random))
        deadLetters[key] = state
        schedule(.deadLetter(key), at: now + delay.nanoseconds)
        actions.logs.append(.deadLetterRetrying(work.message, topic: state.topic, writeAttempt: state.writes, after: delay, error: error))
        actions.wakePoller = shouldWakePoller()
        return actions
    }

    /// The next write of a dead letter is due (from ``tick(now:)``).
    mutating func retryDeadLetter(_ key: InFlightWork.Key, into actions: inout EngineActions) {
        guard var state = deadLetters[key], !state.isWriting else { return }
        let work = state.work
        if isGivenUp(work) {
            abandonDeadLetter(state, into: &actions)
            return
        }
        state.isWriting = true
        state.writes += 1
        deadLetters[key] = state
        markRunning(work)
        actions.deadLetters.append(DeadLetterRequest(work: work, topic: state.topic, error: state.error, writeAttempt: state.writes))
    }

    /// Gives a dead-letter write up: the message leaves the window uncommitted.
    private mutating func abandonDeadLetter(_ state: DeadLetterState, into actions: inout EngineActions) {
        deadLetters[state.work.key] = nil
        release(state.work)
        actions.logs.append(.deadLetterAbandoned(state.work.message, topic: state.topic))
    }

    /// The spacing of dead-letter writes after failures: the retry policy's, but never below
    /// 100 ms at first nor 1 s at most, doubling.
    static func deadLetterBackoff(_ retry: RetryPolicy) -> RetryPolicy {
        RetryPolicy(
            maxAttempts: .max, initialBackoff: max(retry.initialBackoff, .milliseconds(100)),
            multiplier: 2, maxBackoff: max(retry.maxBackoff, .seconds(1)), jitter: 0.2)
    }
}
