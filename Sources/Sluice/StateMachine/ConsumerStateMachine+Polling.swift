//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import SluiceFutures
internal import DequeModule

extension ConsumerStateMachine {
    /// Messages arrived from the source. Those of partitions not assigned, or being revoked, are
    /// dropped at once (their next owner, or this member after a new assignment, reads them again
    /// from the committed offset); the others are admitted while the window has room and held,
    /// in order, when it has none.
    ///
    /// Dropping a revoking partition's messages here is what keeps a revocation whose commit is
    /// retried (polling meanwhile) from admitting later offsets into the partition's next
    /// assignment ahead of the refetched earlier ones.
    mutating func polled(_ batch: [PolledMessage], now time: Int64) -> EngineActions {
        advance(to: time)
        var actions = EngineActions()
        var refused = 0
        if held.isEmpty {
            let taken = admit(batch, refused: &refused, into: &actions)
            if taken < batch.count { hold(batch[taken...], refused: &refused) }
        } else {
            hold(batch[...], refused: &refused)
            admitHeld(refused: &refused, into: &actions)
        }
        if refused > 0 { actions.logs.append(.refused(count: refused)) }
        emitIfStarved(into: &actions)
        return actions
    }

    /// Admits held messages while the window has room (room freed since they were held).
    mutating func admitHeld(into actions: inout EngineActions) {
        var refused = 0
        admitHeld(refused: &refused, into: &actions)
        if refused > 0 { actions.logs.append(.refused(count: refused)) }
    }

    private mutating func admitHeld(refused: inout Int, into actions: inout EngineActions) {
        guard !held.isEmpty else { return }
        if settings.lookaheadBytes > 0 {
            // Held messages may reach past the window's own partitions: share it out, at the
            // refill mark only (the poll thread polls on meanwhile, so there is no waiting for room).
            guard isAtRefillMark else { return }
            admitHeldByShare(refused: &refused, into: &actions)
        }
        admitHeldInOrder(refused: &refused, into: &actions)
    }

    /// Admits held messages oldest first while the window has room.
    private mutating func admitHeldInOrder(refused: inout Int, into actions: inout EngineActions) {
        while !held.isEmpty {
            let run = held.lend(run: 0)
            let taken = admit(run, refused: &refused, into: &actions)
            let runCount = run.count
            held.giveBack(run, toRun: 0, taken: taken)
            if taken < runCount { return }  // the window is full
        }
    }

    /// Admits held messages run by run, in poll order, each partition up to its share of the
    /// window (``Settings/partitionShare``) counting what it has in the window already: so that a
    /// window full of one partition's long fetch run, which keeps one worker busy, takes the
    /// next partitions' runs before more of the first. A partition's later run waits while an
    /// earlier one of it is left, which keeps each partition's order.
    private mutating func admitHeldByShare(refused: inout Int, into actions: inout EngineActions) {
        var waiting: Set<TopicPartition> = []
        var index = 0
        while index < held.runs.count {
            let tp = held.runs[index].tp
            let share = settings.partitionShare - (tracker[tp]?.outstandingCount ?? 0)
            guard share > 0, !waiting.contains(tp) else {
                waiting.insert(tp)
                index += 1
                continue
            }
            let run = held.lend(run: index)
            let runCount = run.count
            let allowed = min(share, runCount)
            let taken = admit(run.prefix(allowed), refused: &refused, into: &actions)
            held.giveBack(run, toRun: index, taken: taken)
            if taken < allowed { return }  // the window is full
            if taken < runCount {
                waiting.insert(tp)
                index += 1
            }
        }
    }

    /// Keeps messages of active partitions in hand, in order, until the window has room.
    private mutating func hold(_ messages: ArraySlice<PolledMessage>, refused: inout Int) {
        var run: (tp: TopicPartition, active: Bool)?
        for entry in messages {
            let tp = entry.message.topicPartition
            if run?.tp != tp { run = (tp, isActive(tp)) }
            if run!.active {
                held.append(entry)
            } else {
                refused += 1
            }
        }
    }

    /// Admits messages from the front of `polled` while the window has room and the consumer runs.
    ///
    /// - Returns: how many were taken from the front (admitted, or refused and dropped); the rest
    ///   wait for room.
    mutating func admit(
        _ polled: some Collection<PolledMessage>, refused: inout Int, into actions: inout EngineActions
    ) -> Int {
        guard lifecycle.isRunning else { return 0 }
        var taken = 0
        // A lane started here can only have followers queued here too (it was idle before).
        let queuedAtStart = scheduler.queuedCount
        // Polled messages come in runs of one partition (a fetch is per partition): look its
        // state up once per run, and add the run's started calls to `running` and its admitted
        // messages to its topic's count at its end. A message's partition is compared in place:
        // a copy of a topic name longer than 15 bytes costs atomic reference counts on storage
        // that every message of the topic shares, with the workers on the other end.
        var run: (tp: TopicPartition, lanePartition: LanePartition, epoch: UInt64, route: Int, ordering: OrderingMode, batches: Bool, shared: Bool)?
        var startedInRun = 0
        var admittedInRun = 0
        func closeRun(_ tp: TopicPartition?) {
            guard let tp else { return }
            if startedInRun > 0 { running[tp, default: 0] += startedInRun }
            if admittedInRun > 0 { counters.count(tp.topic) { [admittedInRun] in $0.consumed += admittedInRun } }
            startedInRun = 0
            admittedInRun = 0
        }
        for entry in polled {
            guard window.fits(entry.weight), !isAtMessageLimit else { break }
            taken += 1
            let message = entry.message
            if run.map({ !message.isFrom($0.tp) }) ?? true {
                closeRun(run?.tp)
                let tp = message.topicPartition
                run = partitions[tp].flatMap { state in
                    guard !state.isRevoking else { return nil }
                    let route = settings.routes[state.route]
                    return (tp, state.lanePartition, state.epoch, state.route, route.ordering, route.batch != nil, routeWindows[state.route] != nil)
                }
            }
            guard let (tp, lanePartition, epoch, route, ordering, batches, shared) = run else {
                refused += 1
                continue
            }
            if !spanPaused.isEmpty, spanPaused.contains(tp) {
                // Behind messages kept aside at the span bound: in order, after them.
                holdForSpan(entry, on: tp, into: &actions)
                continue
            }
            if shared, !routeWindows[route]!.fits(entry.weight) {
                // The route is at its share: its partitions alone wait, the others flow.
                holdForRoute(entry, on: tp, route: route, into: &actions)
                continue
            }
            guard tracker.receive(message.offset, on: tp, at: entry.polledAt, maxSpan: settings.maxUncommittedSpan) else {
                if exceedsSpan(message.offset, on: tp) {
                    holdForSpan(entry, on: tp, into: &actions)
                } else {
                    refused += 1
                }
                continue
            }
            if !restored.isEmpty, skipIfFinishedBefore(message, on: tp) { continue }
            window.take(entry.weight)
            if shared { routeWindows[route]!.take(entry.weight) }
            counters.consumed += 1
            admittedInRun += 1
            if counters.firstAdmittedAt == 0 { counters.firstAdmittedAt = entry.polledAt }
            let lane = ordering.lane(for: message, from: lanePartition)
            // The work moves into the scheduler and, when it starts, on into the actions: no copy
            // (each would cost a reference count on the poll thread's hot path).
            let work = InFlightWork(
                message: message, weight: entry.weight, lane: lane, route: route, epoch: epoch, polledAt: entry.polledAt)
            guard !batches else {
                if let start = scheduler.admit(consume work, lane: lane) {
                    ready(start, into: &actions)
                } else if let lane {
                    queuedOnLane(lane, into: &actions)
                }
                continue
            }
            // Without a lane it starts at once (and is moved, not copied through an optional).
            if lane == nil {
                startedInRun += 1
                totalRunning += 1
                actions.dispatch.append(consume work)
            } else if let start = scheduler.admit(consume work, lane: lane) {
                // `start` is `work` itself (its lane was free), so it belongs to this run.
                startedInRun += 1
                totalRunning += 1
                actions.dispatch.append(start)
            }
        }
        closeRun(run?.tp)
        if settings.runsLanes, scheduler.queuedCount > queuedAtStart { formLaneRuns(in: &actions) }
        return taken
    }

    /// Drops held messages of these partitions (all when `nil`), those kept aside at the span
    /// bound included: never admitted, never tracked.
    mutating func dropHeld(of tps: Set<TopicPartition>?) {
        guard let tps else {
            held.removeAll()
            spanHeld.removeAll()
            return
        }
        for tp in tps { spanHeld[tp] = nil }
        held.removeAll(of: tps)
    }

    /// Drops queued (not running) work of these partitions, or of all when `nil`: work waiting for
    /// its lane, parked work, waiting retries and dead-letter writes waiting to be tried again.
    /// Their window slots are released; their offsets stay outstanding, so commits stop before them.
    /// Returns how many were dropped.
    @discardableResult
    mutating func dropQueued(of tps: Set<TopicPartition>?) -> Int {
        let matches = { (work: InFlightWork) in tps.map { $0.contains(work.topicPartition) } ?? true }
        var dropped = scheduler.removeQueued(where: matches)
        dropped += dropForming(of: tps)
        dropped += parked.filter(matches)
        parked.removeAll(where: matches)
        for work in retries.values where matches(work) {
            retries[work.key] = nil
            // A lane belongs to one partition, whose queued work is gone: nothing follows.
            var none = EngineActions()
            releaseLane(of: work, into: &none)
            assert(none.dispatch.isEmpty && none.batches.isEmpty && none.laneRuns.isEmpty, "a lane outlived its partition's queued work")
            dropped.append(work)
        }
        for state in deadLetters.values where !state.isWriting && matches(state.work) {
            deadLetters[state.work.key] = nil
            dropped.append(state.work)  // its lane was freed when the write began
        }
        for work in dropped { release(work) }
        return dropped.count
    }
}
