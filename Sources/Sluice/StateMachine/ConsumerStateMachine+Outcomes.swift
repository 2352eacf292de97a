//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import _SluiceTime

extension ConsumerStateMachine {
    /// Handler calls finished, with their results in the same order. Records successes in the
    /// offset tracker, applies the retry and failure policies to failures, and starts the next
    /// call of each freed lane.
    ///
    /// The outcome of a call whose deadline the machine already failed is dropped; a call that
    /// returns after its deadline (before the deadline's timer fired) counts as timed out.
    ///
    /// `wholeBatch`: a batch failed as one (its handler threw, its worker crashed); as nobody knows
    /// which member was at fault, each runs once more alone (``isolate(_:error:into:)``), then
    /// follows the retry and failure policy alone.
    mutating func finished(_ works: [InFlightWork], results: [Result<Void, any Error>], wholeBatch: Bool = false, now time: Int64) -> EngineActions {
        advance(to: time)
        var actions = EngineActions()
        let guardsDeadLetters = settings.guardsDeadLetters
        // Lane runs stop at their first failure: their un-run rest goes back to its lanes first,
        // so that the failed member, once settled, frees its lane to them and not to later work.
        var handedBack = false
        if settings.runsLanes, results.contains(where: { if case .failure = $0 { true } else { false } }) {
            handedBack = handBackSkipped(works, results: results, alone: wholeBatch)
        }
        // Completions come in runs of one partition (a chunk is a slice of one partition's
        // fetch): its `running` count, epoch and topic count are looked up once per run of
        // successes. Works are read in place, and their partition compared in place: a copy of a
        // topic name longer than 15 bytes costs atomic reference counts on storage that every
        // message of the topic shares, with the poll thread on the other end.
        var run: CompletionRun?
        for index in works.indices {
            var result = results[index]
            if handedBack, case .failure(let error) = result, error is LaneRunSkipped { continue }
            if let timeout = settings.routes[works[index].route].handlerTimeout {
                let call = works[index].call
                if overrun.remove(call) != nil { continue }  // failed by its deadline already
                if let (due, _) = deadlines.removeValue(forKey: call), now >= due, case .success = result {
                    result = .failure(HandlerTimeoutError(timeout: .nanoseconds(timeout), attempt: works[index].attempt))
                }
            }
            switch result {
            case .success:
                if guardsDeadLetters { deadLetterGuard.record(deadLettered: false) }
                counters.recordDone(polledAt: works[index].polledAt, at: now)
                if run.map({ !works[index].message.isFrom($0.tp) }) ?? true {
                    endRuns(of: run)
                    let tp = works[index].topicPartition
                    run = CompletionRun(tp: tp, epoch: partitions[tp]?.epoch)
                }
                run!.ended += 1
                totalRunning -= 1
                settle(works[index], done: true, in: run, into: &actions)
            case .failure(let error):
                // The policy may change the partitions' state: no run is carried across it.
                endRuns(of: run)
                run = nil
                var work = works[index]
                // A failed member of a lane run holds its lane now: its retry or settling frees it.
                if let runLane = work.runLane {
                    work.lane = runLane
                    work.runLane = nil
                }
                endRun(work)
                // Several messages that failed in one call (a batch, or a chunk whose worker process
                // crashed): which one was at fault is unknown.
                if wholeBatch, works.count > 1 { work.batched = true }
                if wholeBatch, isolate(work, error: error, into: &actions) { continue }
                if wholeBatch { work.alone = true }
                fail(work, error: error, into: &actions)
            }
        }
        endRuns(of: run)
        actions.wakePoller = actions.wakePoller || shouldWakePoller()
        return actions
    }

    /// Successes of one partition in a row within one ``finished(_:results:wholeBatch:now:)``.
    struct CompletionRun {
        let tp: TopicPartition
        /// The partition's assignment epoch when the run began (`nil`: not assigned).
        let epoch: UInt64?
        /// Calls of the run that ended: counted off `totalRunning` already, off `running` and
        /// counted as handled not yet.
        var ended = 0
    }

    /// Takes a run's ended calls off its partition's `running` count, in one look-up, and counts
    /// them handled.
    private mutating func endRuns(of run: CompletionRun?) {
        guard let run, run.ended > 0 else { return }
        counters.count(run.tp.topic) { $0.handled += run.ended }
        guard let index = running.index(forKey: run.tp) else { return }
        if running.values[index] > run.ended {
            running.values[index] -= run.ended
        } else {
            running.remove(at: index)
        }
    }

    /// Decides a failed attempt's fate: retry, run again, skip, dead-letter, or stop. The call has
    /// ended (`endRun`); its window slot and lane are still taken.
    mutating func fail(_ work: InFlightWork, error: any Error, into actions: inout EngineActions) {
        let kind = HandlerFailure(error)
        let message = work.message
        if kind == .timedOut {
            counters.timedOut += 1
            counters.count(message.topic) { $0.timedOut += 1 }
        }
        if lifecycle.isStopping {
            // The next owner (or the next run) reads it again: nothing is committed past it.
            settle(work, done: false, into: &actions)
            actions.logs.append(.failed(message, attempts: work.attempt, outcome: "left uncommitted, the consumer is stopping", error: error))
            return
        }
        if kind == .interrupted, work.interruptions < settings.maxInterruptions {
            counters.interrupted += 1
            var again = work
            again.interruptions += 1
            retries[work.key] = again
            schedule(.retry(work.key), at: now)
            actions.logs.append(.interrupted(message, attempt: work.attempt, error: error))
            return
        }
        if kind == .workerSetup {
            failAndStop(work, on: SluiceError(
                code: .configuration, message: "the handler's worker processes cannot run \(message)",
                underlying: error, topic: message.topic, partition: message.partition, offset: message.offset),
                into: &actions)
            return
        }
        let route = settings.routes[work.route]
        // A message isolated after its batch failed as a whole had one attempt more.
        let maxAttempts = route.retry.maxAttempts + (work.isolated ? 1 : 0)
        if kind.isRetryable, work.attempt < maxAttempts {
            let delay = route.retry.backoff(after: work.attempt, random: Double.random(in: 0..<1, using: &random))
            var again = work
            again.attempt += 1
            retries[work.key] = again
            attempts[work.key] = again.attempt
            counters.retried += 1
            counters.count(message.topic) { $0.retried += 1 }
            schedule(.retry(work.key), at: now + delay.nanoseconds)
            actions.logs.append(.retrying(message, attempt: work.attempt, after: delay, error: error))
            return
        }
        let attempts = "after \(work.attempt) attempt\(work.attempt == 1 ? "" : "s")"
        switch route.failurePolicy.kind {
        case .skip:
            counters.failed += 1
            counters.skipped += 1
            counters.count(message.topic) {
                $0.failed += 1
                $0.skipped += 1
            }
            counters.recordDone(polledAt: work.polledAt, at: now)
            settle(work, done: true, into: &actions)
            actions.logs.append(.failed(message, attempts: work.attempt, outcome: "skipped (policy: skip)", error: error))
        case .stop:
            failAndStop(work, on: SluiceError(
                code: .handlerFailed, message: "the handler failed on \(message) \(attempts) and the failure policy is stop",
                underlying: error, topic: message.topic, partition: message.partition, offset: message.offset),
                into: &actions)
        case .deadLetter:
            if let refusal = deadLetterGuard.refusal() {
                failAndStop(work, on: SluiceError(
                    code: .deadLetterLimit, message: "stopping instead of dead-lettering \(message): \(refusal)",
                    underlying: error, topic: message.topic, partition: message.partition, offset: message.offset),
                    into: &actions)
                return
            }
            beginDeadLetter(work, error: error, into: &actions)
        }
    }

    /// Counts `work` failed and stops the consumer on `failure`: its offset, and everything past
    /// it, stays uncommitted.
    private mutating func failAndStop(_ work: InFlightWork, on failure: SluiceError, into actions: inout EngineActions) {
        counters.failed += 1
        counters.count(work.message.topic) { $0.failed += 1 }
        stop(on: failure, into: &actions)
        settle(work, done: false, into: &actions)
    }

    /// Stops the consumer on `failure` (the first failure wins): nothing more starts, and nothing
    /// past the failed offset is committed.
    mutating func stop(on failure: SluiceError, into actions: inout EngineActions) {
        switch lifecycle {
        case .starting, .running:
            lifecycle = .draining(.init(mode: .graceful, failure: failure, drainDeadline: now + settings.drainTimeout))
            actions.logs.append(.stopping(failure))
        case .draining(var request) where request.failure == nil:
            request.failure = failure
            lifecycle = .draining(request)
            actions.logs.append(.stopping(failure))
        case .closing(var request) where request.failure == nil:
            request.failure = failure
            lifecycle = .closing(request)
            actions.logs.append(.stopping(failure))
        default:
            break
        }
        actions.wakePoller = true
    }
}
