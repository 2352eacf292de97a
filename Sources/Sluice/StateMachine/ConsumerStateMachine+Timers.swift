//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import HeapModule
internal import SluiceFutures

extension ConsumerStateMachine {
    /// Time passed: runs due retries and dead-letter writes, fails calls past their deadline,
    /// admits held messages that fit now, pauses or resumes on the window, and sends the periodic
    /// commit when it is due. The poll thread calls it on every turn of its loop, and wakes by
    /// ``nextDue`` at the latest.
    mutating func tick(now time: Int64) -> EngineActions {
        advance(to: time)
        var actions = EngineActions()
        while let timer = timers.min, timer.due <= now {
            timers.removeMin()
            fire(timer, into: &actions)
        }
        if lifecycle.isRunning {
            var refused = 0
            releaseSpanHeld(refused: &refused, into: &actions)
            if refused > 0 { actions.logs.append(.refused(count: refused)) }
            admitHeld(into: &actions)
            emitIfStarved(into: &actions)
            controlFlow(into: &actions)
            commitIfDue(into: &actions)
            reportStuck(into: &actions)
        }
        return actions
    }

    private mutating func fire(_ timer: EngineTimer, into actions: inout EngineActions) {
        switch timer.kind {
        case .retry(let key):
            guard let work = retries.removeValue(forKey: key) else { return }  // dropped meanwhile
            if isGivenUp(work) {
                // Given up: its offset stays uncommitted, and its lane moves on.
                settle(work, done: false, into: &actions)
                return
            }
            ready(work, into: &actions)
        case .deadLetter(let key):
            retryDeadLetter(key, into: &actions)
        case .deadline(let call):
            guard let (due, work) = deadlines[call], due == timer.due else { return }  // finished in time
            deadlines[call] = nil
            overrun.insert(call)
            actions.cancel.append(work)
            endRun(work)
            let error = HandlerTimeoutError(timeout: .nanoseconds(settings.routes[work.route].handlerTimeout ?? 0), attempt: work.attempt)
            // A batch timed out as one: which member was slow is unknown, so each runs alone.
            if !isolate(work, error: error, into: &actions) {
                var timedOut = work
                if settings.routes[work.route].batch != nil { timedOut.alone = true }
                fail(timedOut, error: error, into: &actions)
            }
            actions.wakePoller = actions.wakePoller || shouldWakePoller()
        case .batch(let group, let generation):
            batchDue(group, generation: generation, into: &actions)
        }
    }

    /// Pauses the assigned partitions once the window has stayed full, or at the message limit,
    /// with messages waiting for room, for the pause threshold, so that polling goes on and the
    /// group keeps this member; resumes them once the window has drained to the resume mark and
    /// nothing waits.
    private mutating func controlFlow(into actions: inout EngineActions) {
        if let head = held.first, !window.fits(head.weight) || isAtMessageLimit {
            let since = windowFullSince ?? now
            windowFullSince = since
            if case .open = flow, now - since >= settings.pauseThreshold {
                let active = partitions.keys.filter(isActive).sorted()
                flow = .paused(pending: [])
                counters.pauses += 1
                actions.pause += active
                actions.logs.append(.paused(partitions: active.count, inFlight: window.count))
            }
        } else {
            if let since = windowFullSince {
                counters.windowFullNanos += now - since
                windowFullSince = nil
            }
            if case .paused = flow, held.isEmpty, window.isAtOrBelow(settings.resumeFraction) {
                // Partitions at their span bound stay paused until their commit point moves.
                let active = partitions.keys.filter { isActive($0) && !spanPaused.contains($0) }.sorted()
                flow = .open
                actions.resume += active
                actions.logs.append(.resumed(partitions: active.count))
            }
        }
        if case .paused(let pending) = flow, !pending.isEmpty {
            actions.pause += pending.filter(isActive).sorted()
            flow = .paused(pending: [])
        }
    }

    /// How long the window has been full, this period included (for metrics).
    var windowFullNanos: Int64 {
        counters.windowFullNanos + (windowFullSince.map { now - $0 } ?? 0)
    }
}
