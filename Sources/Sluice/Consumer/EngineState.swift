//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Everything the poll thread and the completing threads share, kept behind one lock by
/// ``ConsumerEngine``. A plain value: each method is a step of the engine's state machine and
/// returns what the caller must do once the lock is released.
struct EngineState: Sendable {
    /// How the consumer is asked to stop.
    enum StopMode: Int, Comparable, Sendable {
        /// Finish in-flight work up to the drain timeout, commit, close.
        case graceful
        /// Commit what is done and close without waiting for in-flight work.
        case immediate

        static func < (lhs: StopMode, rhs: StopMode) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    var window: InFlightWindow
    var tracker = OffsetTracker()
    var scheduler = OrderingScheduler<OrderingLane, InFlightWork>()
    /// Assigned partitions and the epoch of their current assignment.
    var epochs: [TopicPartition: UInt64] = [:]
    var nextEpoch: UInt64 = 1
    /// Handler calls started and not finished, per partition (what a revocation drains).
    var running: [TopicPartition: Int] = [:]
    var totalRunning = 0
    /// Offsets the broker acknowledged as committed, for assigned partitions.
    var committed: [TopicPartition: Int64] = [:]
    /// The last acknowledged commit of every partition ever held (for final statistics).
    var lastCommitted: [TopicPartition: Int64] = [:]
    /// Work whose lane came free while stopping on a failure: admitted, never started.
    var parked: [InFlightWork] = []
    /// Finished work, left for the poll thread to release (see ``ConsumerEngine/admit(_:)``).
    var retired: [InFlightWork] = []
    /// Failed work waiting for its next attempt: it keeps its window slot and its lane.
    var waitingRetries: [InFlightWork.RetryKey: InFlightWork] = [:]
    /// Recent dead-letter outcomes, for the dead-letter guard.
    var deadLetterGuard: DeadLetterGuardState
    var stopMode: StopMode?
    /// The error that stops the consumer (failure policy `stop`, or a fatal Kafka error).
    var failure: SluiceError?

    /// The poll thread waits for the window to drain to the refill mark.
    var isPollerWaiting = false
    /// Threads waiting for handlers of some partitions to finish (revocation, shutdown).
    var drainWaiters = 0

    init(maxInFlightMessages: Int, maxInFlightBytes: Int, deadLetterGuard: DeadLetterGuard = DeadLetterGuard()) {
        window = InFlightWindow(maxCount: maxInFlightMessages, maxBytes: maxInFlightBytes)
        self.deadLetterGuard = DeadLetterGuardState(deadLetterGuard)
    }

    /// Time from poll to completion of handled messages.
    var latency = LatencyHistogram()
    /// When the first message was admitted and the last one completed (for rates over the busy time).
    /// (``monotonicNanos()``; 0: not yet)
    var firstAdmittedAt = 0
    var lastCompletedAt = 0

    /// Per-topic counts, for metrics.
    var topics = TopicCountTable()
    /// Rebalance events by kind (`assigned`, `revoked`, `lost`), for metrics.
    var rebalanceEvents: [String: Int] = [:]
    /// Whether the group has given this member its (possibly empty) assignment and not taken it back.
    var hasAssignment = false

    // Counters for statistics.
    var consumed = 0
    var completed = 0
    /// Messages whose last attempt failed (then skipped, dead-lettered, or stopped on).
    var failed = 0
    /// Retries scheduled.
    var retried = 0
    /// Attempts that overran the handler timeout.
    var timedOut = 0
    /// Messages skipped by the skip policy.
    var skipped = 0
    /// Messages acknowledged by the dead-letter topic.
    var deadLettered = 0
    /// Dead-letter writes not yet acknowledged.
    var deadLettering = 0
    var pauses = 0
    var isPaused = false
    var rebalances = 0
    var commits = 0
    var commitFailures = 0

    /// Records an assignment: each partition gets a new epoch.
    mutating func assign(_ partitions: [TopicPartition]) {
        for tp in partitions {
            epochs[tp] = nextEpoch
            nextEpoch += 1
        }
        rebalances += 1
        rebalanceEvents["assigned", default: 0] += 1
        hasAssignment = true
    }

    /// Updates the counters of `topic`.
    mutating func count(_ topic: String, _ body: (inout TopicCounters) -> Void) {
        topics.update(topic, body)
    }

    /// Admits polled messages, oldest first, while the window has room.
    ///
    /// - Returns: the work to start now (the rest waits for its lane), how many messages were
    ///   taken from the front of `polled` (the others stay in hand), and how many of those were
    ///   refused (unassigned partition or an offset seen before) and dropped.
    mutating func admit(
        _ polled: some Collection<PolledMessage>, ordering: OrderingMode, into ready: inout [InFlightWork]
    ) -> (taken: Int, refused: Int) {
        var taken = 0
        var refused = 0
        // Polled messages come in runs of one partition (a fetch is per partition): look its
        // epoch up once per run, and add the run's started calls to `running` at its end.
        var run: (tp: TopicPartition, epoch: UInt64)?
        var startedInRun = 0
        for entry in polled {
            guard window.hasRoom(for: entry.weight) else { break }
            taken += 1
            let message = entry.message
            let tp = message.topicPartition
            if run?.tp != tp {
                if let run, startedInRun > 0 { running[run.tp, default: 0] += startedInRun }
                startedInRun = 0
                run = epochs[tp].map { (tp, $0) }
            }
            guard let epoch = run?.epoch, tracker.receive(message.offset, on: tp) else {
                refused += 1
                continue
            }
            window.admit(entry.weight)
            consumed += 1
            count(message.topic) { $0.consumed += 1 }
            if firstAdmittedAt == 0 { firstAdmittedAt = entry.polledAt }
            let work = InFlightWork(
                message: message, weight: entry.weight, lane: ordering.lane(for: tp, key: message.key),
                epoch: epoch, polledAt: entry.polledAt)
            if failure == nil, let start = scheduler.admit(work, lane: work.lane) {
                // `start` is `work` itself (its lane was free), so it belongs to this run.
                startedInRun += 1
                totalRunning += 1
                ready.append(start)
            } else if failure != nil {
                parked.append(work)
            }
        }
        if let run, startedInRun > 0 { running[run.tp, default: 0] += startedInRun }
        return (taken, refused)
    }

    private mutating func markRunning(_ work: InFlightWork) {
        running[work.topicPartition, default: 0] += 1
        totalRunning += 1
    }

    /// Records a finished handler call. `done` says whether its offset may be committed.
    /// Returns the next work of its lane to dispatch, if any.
    mutating func finish(_ work: InFlightWork, done: Bool) -> InFlightWork? {
        endRun(work)
        return settle(work, done: done)
    }

    /// A handler call of `work` ended (or its dead-letter write did): its worker is free.
    private mutating func endRun(_ work: InFlightWork) {
        // One lookup: this runs for every message.
        if let index = running.index(forKey: work.topicPartition) {
            if running.values[index] > 1 {
                running.values[index] -= 1
            } else {
                running.remove(at: index)
            }
        }
        totalRunning -= 1
    }

    /// `work` leaves the window; `done` says whether its offset may be committed. Returns the next
    /// work of its lane to dispatch, if any.
    private mutating func settle(_ work: InFlightWork, done: Bool) -> InFlightWork? {
        window.release(work.weight)
        if done, epochs[work.topicPartition] == work.epoch {
            tracker.markDone(work.message.offset, on: work.topicPartition)
        }
        return releaseLane(of: work)
    }

    /// Frees the lane of `work`; returns its next work to dispatch, if any.
    private mutating func releaseLane(of work: InFlightWork) -> InFlightWork? {
        guard let lane = work.lane, let next = scheduler.complete(lane: lane) else { return nil }
        if failure != nil {
            // Stopping on a failure: nothing more starts; a shutdown drops it with the queued work.
            parked.append(next)
            return nil
        }
        markRunning(next)
        return next
    }

    /// A failed attempt of `work` will be tried again: its worker is free, while its window slot,
    /// its lane and its offset stay taken.
    mutating func holdForRetry(_ work: InFlightWork) {
        endRun(work)
        waitingRetries[work.retryKey] = work
        retried += 1
        count(work.message.topic) { $0.retried += 1 }
    }

    /// Takes a retry that is due. Returns the work to run again (its attempt counted up), or,
    /// when the consumer is stopping, gives the retry up (its offset stays uncommitted) and
    /// returns the next work of its lane.
    mutating func takeRetry(_ key: InFlightWork.RetryKey) -> (retry: InFlightWork?, next: InFlightWork?) {
        guard var work = waitingRetries.removeValue(forKey: key) else { return (nil, nil) }
        if stopMode != nil || failure != nil || epochs[work.topicPartition] != work.epoch {
            return (nil, settle(work, done: false))
        }
        work.attempt += 1
        markRunning(work)
        return (work, nil)
    }

    /// `work` goes to the dead-letter topic: its lane is free, while it keeps its window slot and
    /// counts as running (a revocation or shutdown waits for the write) until
    /// ``endDeadLetter(_:acknowledged:)``. Returns the next work of its lane, if any.
    mutating func beginDeadLetter(_ work: InFlightWork) -> InFlightWork? {
        failed += 1
        count(work.message.topic) { $0.failed += 1 }
        deadLettering += 1
        deadLetterGuard.record(deadLettered: true)
        return releaseLane(of: work)
    }

    /// The dead-letter write of `work` ended: acknowledged (its offset may be committed) or given up.
    mutating func endDeadLetter(_ work: InFlightWork, acknowledged: Bool) {
        endRun(work)
        deadLettering -= 1
        if acknowledged {
            deadLettered += 1
            count(work.message.topic) { $0.deadLettered += 1 }
        }
        window.release(work.weight)
        if acknowledged, epochs[work.topicPartition] == work.epoch {
            tracker.markDone(work.message.offset, on: work.topicPartition)
        }
    }

    /// Drops queued (not running) work and waiting retries of these partitions, or of all when
    /// `nil`, and releases their window slots. Their offsets stay outstanding, so commits stop
    /// before them. Returns how many were dropped.
    mutating func dropQueued(of partitions: Set<TopicPartition>?) -> Int {
        let matches = { (work: InFlightWork) in partitions.map { $0.contains(work.topicPartition) } ?? true }
        var dropped = scheduler.removeQueued(where: matches)
        dropped += parked.filter(matches)
        parked.removeAll(where: matches)
        let retries = waitingRetries.values.filter(matches)
        for work in retries {
            waitingRetries[work.retryKey] = nil
            // A lane belongs to one partition, whose queued work is gone: nothing follows.
            let next = releaseLane(of: work)
            assert(next == nil, "a lane outlived its partition's queued work")
        }
        dropped += retries
        for work in dropped { window.release(work.weight) }
        return dropped.count
    }

    /// Whether any handler of these partitions is still running.
    func isRunning(any partitions: Set<TopicPartition>) -> Bool {
        partitions.contains { running[$0] != nil }
    }

    /// Commit points that differ from what the broker acknowledged, for these partitions (or all).
    func pendingCommits(of partitions: Set<TopicPartition>? = nil) -> [TopicPartitionOffset] {
        var result: [TopicPartitionOffset] = []
        for tp in (partitions.map(Array.init) ?? Array(epochs.keys)).sorted() where epochs[tp] != nil {
            if let point = tracker.commitPoint(of: tp), point != committed[tp] {
                result.append(TopicPartitionOffset(tp, offset: point))
            }
        }
        return result
    }

    /// Forgets revoked (or lost) partitions.
    mutating func revoke(_ partitions: Set<TopicPartition>, lost: Bool = false) {
        _ = tracker.remove(partitions)
        for tp in partitions {
            epochs[tp] = nil
            committed[tp] = nil
        }
        rebalances += 1
        rebalanceEvents[lost ? "lost" : "revoked", default: 0] += 1
        // Cooperative rebalancing takes back some partitions and keeps the others.
        hasAssignment = !epochs.isEmpty
    }

    /// Records a commit acknowledged by the broker.
    mutating func acknowledge(_ offsets: [TopicPartitionOffset]) {
        for entry in offsets {
            guard let offset = entry.offset, epochs[entry.topicPartition] != nil else { continue }
            committed[entry.topicPartition] = max(committed[entry.topicPartition] ?? offset, offset)
            lastCommitted[entry.topicPartition] = committed[entry.topicPartition]
        }
        commits += 1
    }

    /// Asks the consumer to stop; a stronger mode wins.
    mutating func requestStop(_ mode: StopMode) {
        stopMode = max(stopMode ?? mode, mode)
    }
}
