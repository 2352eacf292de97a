//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

extension ConsumerStateMachine {
    /// What `run()` does when it is called.
    enum StartDecision: Equatable, Sendable {
        /// Connect and consume.
        case start
        /// A stop came before `run()`: return at once.
        case returnAtOnce
        /// `run()` was called before: a consumer runs once.
        case alreadyStarted
    }

    /// `run()` was called.
    mutating func startRequested() -> StartDecision {
        switch lifecycle {
        case .idle:
            lifecycle = .starting
            return .start
        case .stoppedBeforeStart:
            lifecycle = .stopped(failure: nil)
            return .returnAtOnce
        default:
            return .alreadyStarted
        }
    }

    /// The source is connected and subscribed: consuming begins, unless a stop came meanwhile.
    mutating func connected(now time: Int64) {
        advance(to: time)
        nextCommitAt = now + settings.commitInterval
        if case .starting = lifecycle { lifecycle = .running }
    }

    /// Asks the consumer to stop. Gracefully: take no more messages, let in-flight handlers finish
    /// until the drain timeout, commit, close. Immediately: commit what is done and close within a
    /// short budget, now, even in the middle of a graceful stop. A stronger mode wins.
    mutating func stopRequested(_ mode: ConsumerLifecycle.StopMode, now time: Int64) -> EngineActions {
        advance(to: time)
        var actions = EngineActions()
        actions.wakePoller = true
        switch lifecycle {
        case .idle:
            lifecycle = .stoppedBeforeStart
        case .starting, .running:
            lifecycle = .draining(.init(
                mode: mode, failure: nil, drainDeadline: mode == .immediate ? now : now + settings.drainTimeout))
        case .draining(var request) where mode == .immediate && request.mode != .immediate:
            request.mode = .immediate
            request.drainDeadline = min(request.drainDeadline, now)
            lifecycle = .draining(request)
        case .closing(var request) where mode == .immediate && request.mode != .immediate:
            request.mode = .immediate
            request.commitDeadline = min(request.commitDeadline ?? .max, now + settings.immediateBudget / 2)
            request.closeDeadline = min(request.closeDeadline ?? .max, now + settings.immediateBudget)
            lifecycle = .closing(request)
        default:
            break
        }
        // Forming batches go now rather than wait out their delay (or are parked, stopping at once).
        if !lifecycle.isRunning { emitForming(of: nil, into: &actions) }
        return actions
    }

    /// A failure outside any message (a fatal Kafka error, the brokers unreachable at start) stops
    /// the consumer.
    mutating func failed(_ failure: SluiceError, now time: Int64) -> EngineActions {
        advance(to: time)
        var actions = EngineActions()
        stop(on: failure, into: &actions)
        return actions
    }

    /// The poll loop ended: begins the shutdown. Held messages are dropped (never admitted, never
    /// tracked: the commit point stays below them); on a failure or an immediate stop queued work
    /// is dropped too, so only running handlers are waited for.
    ///
    /// - Returns: until when to wait for running handlers (`nil`: do not wait).
    mutating func beginShutdown(now time: Int64) -> Int64? {
        advance(to: time)
        dropHeld(of: nil)
        guard let request = lifecycle.stopRequest else { return nil }
        if request.failure != nil || request.mode == .immediate {
            dropQueued(of: nil)
        }
        if case .closing = lifecycle { return nil }
        return request.mode == .graceful ? request.drainDeadline : nil
    }

    /// Draining is over (everything finished, or its time ran out): the rest of the queued work is
    /// dropped and closing begins, within its budget.
    ///
    /// - Returns: the final commit, when any commit point moved.
    mutating func drainEnded(now time: Int64) -> CommitRequest? {
        advance(to: time)
        dropQueued(of: nil)
        if var request = lifecycle.stopRequest {
            if request.closeDeadline == nil {
                let budget = request.mode == .immediate ? settings.immediateBudget : settings.closeBudget
                request.commitDeadline = now + budget / 2
                request.closeDeadline = now + budget
            }
            lifecycle = .closing(request)
        }
        return syncCommit(of: nil)
    }

    /// When the final commit and the close must end (while closing).
    var closeDeadline: Int64? { lifecycle.stopRequest?.closeDeadline }

    /// The latest any synchronous commit may wait now: the final commit's deadline once closing,
    /// the immediate budget after an immediate stop, no limit otherwise (each phase has its own).
    var commitCutoff: Int64 {
        guard let request = lifecycle.stopRequest else { return .max }
        if let commit = request.commitDeadline { return commit }
        return request.mode == .immediate ? request.drainDeadline + settings.immediateBudget : .max
    }

    /// The source is closed: `run()` returns, with the error that stopped the consumer, if any.
    mutating func closed(now time: Int64) -> SluiceError? {
        advance(to: time)
        let failure = lifecycle.failure
        lifecycle = .stopped(failure: failure)
        return failure
    }
}
