//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import _SluiceTime

/// Batch formation, for routes whose handler takes batches.
///
/// Work whose lane is free (or that has none) joins its route's forming batch instead of running
/// at once; in `partition` mode each partition forms its own batches, so that a batch holds only
/// consecutive offsets of one partition. A batch also takes the work queued behind its members on
/// their lanes, in order, while it has room: in `key` mode a batch holds one key's messages in
/// offset order, never out of order. A batch goes when it is full (``RouteSettings/BatchLimits``
/// size or bytes), when it has waited its longest (`maxDelay`), when the window is full (nothing
/// more can join), or at once while the consumer drains.
///
/// Only the last member of each lane keeps the lane while the batch runs: the lane's next work
/// starts once that member is done (or dead-lettered), so batches of one lane never overlap. A
/// member that fails before it retries without its lane (it may run after later messages of its
/// lane, which the handler already saw in this batch).
extension ConsumerStateMachine {
    /// Where a batch forms: per route, and per partition in `partition` mode.
    struct BatchGroup: Hashable, Sendable, Comparable {
        var route: Int
        var partition: TopicPartition?

        static func < (lhs: BatchGroup, rhs: BatchGroup) -> Bool {
            if lhs.route != rhs.route { return lhs.route < rhs.route }
            switch (lhs.partition, rhs.partition) {
            case (nil, nil): return false
            case (nil, _): return true
            case (_, nil): return false
            case (let left?, let right?): return left < right
            }
        }
    }

    /// A batch being filled.
    struct FormingBatch: Sendable {
        var works: [InFlightWork] = []
        var bytes = 0
        /// Tells this batch's delay timer from an earlier batch's of the same group.
        var generation: UInt64
        /// The lanes its members hold (their queued followers may join it).
        var lanes: [OrderingLane] = []
    }

    /// `work` may start: its lane is free (it holds it now), or it has none. A per-message route
    /// runs it now; a batch route adds it to a forming batch (a retry of a batch that failed as a
    /// whole goes alone).
    mutating func ready(_ work: InFlightWork, into actions: inout EngineActions) {
        guard let limits = settings.routes[work.route].batch else {
            markRunning(work)
            startWithFollowers(work, into: &actions)
            return
        }
        if work.alone {
            emit([work], route: work.route, into: &actions)
            return
        }
        let group = BatchGroup(route: work.route, partition: settings.routes[work.route].ordering == .partition ? work.topicPartition : nil)
        add(work, to: group, limits: limits, into: &actions)
        if let lane = work.lane { pullFollowers(of: lane, into: &actions) }
        if !lifecycle.isRunning { emitForming(of: nil, into: &actions) }
    }

    /// Work was queued behind its lane: if the lane's holder sits in a forming batch, the work
    /// joins that batch (while it has room).
    mutating func queuedOnLane(_ lane: OrderingLane, into actions: inout EngineActions) {
        guard !formingLanes.isEmpty, formingLanes[lane] != nil else { return }
        pullFollowers(of: lane, into: &actions)
    }

    /// Adds `work` to the group's forming batch: a batch that would pass its bytes goes first,
    /// and a full one goes at once.
    private mutating func add(_ work: InFlightWork, to group: BatchGroup, limits: RouteSettings.BatchLimits, into actions: inout EngineActions) {
        if let batch = forming[group], batch.bytes + work.weight > limits.maxBytes {
            emit(group, into: &actions)
        }
        if forming[group] == nil {
            batchGeneration += 1
            forming[group] = FormingBatch(generation: batchGeneration)
            schedule(.batch(group, generation: batchGeneration), at: now + limits.maxDelay)
        }
        forming[group]!.works.append(work)
        forming[group]!.bytes += work.weight
        if let lane = work.lane, formingLanes.updateValue(group, forKey: lane) == nil {
            forming[group]!.lanes.append(lane)
        }
        if forming[group]!.works.count >= limits.maxSize || forming[group]!.bytes >= limits.maxBytes {
            emit(group, into: &actions)
        }
    }

    /// Moves the work queued behind `lane` into the forming batch holding the lane, in order,
    /// while the batch has room; stops at the batch's limits (the rest waits for the lane).
    private mutating func pullFollowers(of lane: OrderingLane, into actions: inout EngineActions) {
        while let group = formingLanes[lane], let batch = forming[group], let limits = settings.routes[group.route].batch {
            guard batch.works.count < limits.maxSize, let next = scheduler.peekQueued(lane: lane),
                batch.bytes + next.weight <= limits.maxBytes
            else { return }
            _ = scheduler.takeQueued(lane: lane)
            add(next, to: group, limits: limits, into: &actions)
        }
    }

    /// A forming batch's delay timer came due.
    mutating func batchDue(_ group: BatchGroup, generation: UInt64, into actions: inout EngineActions) {
        guard forming[group]?.generation == generation else { return }  // gone already
        emit(group, into: &actions)
    }

    /// Sends the forming batches of `route` (all when `nil`) as they are.
    mutating func emitForming(of route: Int?, into actions: inout EngineActions) {
        guard !forming.isEmpty else { return }
        for group in forming.keys.sorted() where route == nil || group.route == route {
            emit(group, into: &actions)
        }
    }

    /// Whether nothing more can join the forming batches: messages wait for room in the window.
    /// They go then rather than wait out their delay.
    mutating func emitIfStarved(into actions: inout EngineActions) {
        guard !forming.isEmpty else { return }
        if !held.isEmpty {
            emitForming(of: nil, into: &actions)
            return
        }
        for route in routesPaused { emitForming(of: route, into: &actions) }
    }

    private mutating func emit(_ group: BatchGroup, into actions: inout EngineActions) {
        guard let batch = forming.removeValue(forKey: group) else { return }
        for lane in batch.lanes { formingLanes[lane] = nil }
        emit(batch.works, route: group.route, into: &actions)
    }

    /// Starts a batch: only the last member of each lane keeps the lane.
    private mutating func emit(_ works: [InFlightWork], route: Int, into actions: inout EngineActions) {
        var works = works
        if works.count > 1 {
            var seen = Set<OrderingLane>()
            for index in works.indices.reversed() {
                works[index].batched = true
                guard let lane = works[index].lane else { continue }
                if !seen.insert(lane).inserted { works[index].lane = nil }
            }
        } else if !works.isEmpty {
            works[0].batched = false
        }
        if lifecycle.failure != nil || lifecycle.isImmediate {
            // Stopping on a failure or at once: nothing more starts; the shutdown drops it.
            parked.append(contentsOf: works)
            return
        }
        for work in works { markRunning(work) }
        counters.batches += 1
        counters.batchedMessages += works.count
        actions.batches.append(works)
    }

    /// A batch failed as a whole (its handler threw, its worker crashed, its deadline passed):
    /// nobody knows which member was at fault, so each member that ran with others runs once more
    /// alone (after the retry backoff), an attempt the retry policy grants on top of its own, so
    /// that one poison message cannot take its neighbours to the dead-letter topic or stop the
    /// consumer, whatever the policy's attempts. Returns `false` when `work` is not such a member
    /// (the failure then follows the retry and failure policy).
    mutating func isolate(_ work: InFlightWork, error: any Error, into actions: inout EngineActions) -> Bool {
        guard work.batched, !work.isolated, !lifecycle.isStopping else { return false }
        let kind = HandlerFailure(error)
        guard kind != .interrupted, kind != .workerSetup else { return false }
        if kind == .timedOut {
            counters.timedOut += 1
            counters.count(work.message.topic) { $0.timedOut += 1 }
        }
        let retry = settings.routes[work.route].retry
        let delay = retry.backoff(after: work.attempt, random: Double.random(in: 0..<1, using: &random))
        var again = work
        again.alone = true
        again.isolated = true
        again.attempt += 1
        retries[work.key] = again
        attempts[work.key] = again.attempt
        counters.retried += 1
        counters.count(work.message.topic) { $0.retried += 1 }
        schedule(.retry(work.key), at: now + delay.nanoseconds)
        actions.logs.append(.retrying(work.message, attempt: work.attempt, after: delay, error: error))
        return true
    }

    /// Drops the forming work of these partitions (all when `nil`), freeing its lanes (whose
    /// queued work was dropped with it). Returns it, for its window slots to be released.
    mutating func dropForming(of tps: Set<TopicPartition>?) -> [InFlightWork] {
        guard !forming.isEmpty else { return [] }
        var dropped: [InFlightWork] = []
        for group in Array(forming.keys) {
            var batch = forming[group]!
            let (gone, kept) = batch.works.reduce(into: ([InFlightWork](), [InFlightWork]())) { split, work in
                if tps?.contains(work.topicPartition) ?? true { split.0.append(work) } else { split.1.append(work) }
            }
            guard !gone.isEmpty else { continue }
            dropped += gone
            for lane in Set(gone.compactMap(\.lane)) {
                formingLanes[lane] = nil
                batch.lanes.removeAll { $0 == lane }
                _ = scheduler.complete(lane: lane)
            }
            batch.works = kept
            batch.bytes = kept.reduce(0) { $0 + $1.weight }
            forming[group] = kept.isEmpty ? nil : batch
        }
        return dropped
    }
}
