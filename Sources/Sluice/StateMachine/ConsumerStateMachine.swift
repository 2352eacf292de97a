//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import DequeModule
internal import HeapModule
internal import SluiceFutures
internal import _SluiceTime

/// The engine's decisions, in one value: what is admitted, what runs, what is retried,
/// dead-lettered, skipped or stopped on, what is paused and resumed, what is committed, and where
/// the consumer is in its life.
///
/// It takes events (messages polled, handler calls finished or failed, timers due, dead-letter
/// writes acknowledged or failed, commits answered, partitions assigned, revoked or lost, a stop
/// requested) and returns ``EngineActions`` for the drivers to carry out once the lock is released.
/// It holds no lock, starts no thread, calls no librdkafka function and reads no clock: time
/// arrives with each event as `now`, in nanoseconds of the driver's clock (``EngineClock``), so a
/// test drives it with a manual clock and gets the same decisions every time.
///
/// Its stored properties are internal so that its extensions (one file per concern) can share
/// them; nothing outside `StateMachine/` changes them.
///
/// The drivers around it are thin: ``PollLoop`` turns the ``MessageSource`` into events on the poll
/// thread, ``ConsumerEngine`` keeps the machine behind one lock and turns handler completions into
/// events on worker threads.
struct ConsumerStateMachine: Sendable {
    /// The machine's settings, from ``SluiceConfiguration``, with durations in nanoseconds.
    struct Settings: Sendable {
        /// One per route (one in all without routes): each route's handler kind and policies.
        var routes: [RouteSettings]
        /// Whether any route starts lane runs (``RouteSettings/runsLanes``).
        var runsLanes: Bool { routes.contains { $0.runsLanes } }
        /// The routes' topic patterns, to find a partition's route.
        var routePatterns: [[TopicPattern]]
        var maxInFlightMessages: Int
        var maxInFlightBytes: Int
        /// A waiting poll thread is woken once the window is down to this share of its bounds, so
        /// it refills in bursts instead of waking for every completion. Half a window: at 0.9 the
        /// poll thread woke for every tenth of a window, and with cheap handlers those wake-ups,
        /// not the work, set the rate (no-op: 436k against 325k msg/s; spin 100 µs × 2: 0.93
        /// against 0.88 of ideal, in one `sluice bench` run each).
        var refillFraction = 0.5
        /// With `partition` ordering, a partition's messages run one at a time, so only as many
        /// workers are busy as the window holds partitions with work. librdkafka hands messages
        /// over in runs of one partition (a fetch of up to `max.partition.fetch.bytes` each), and
        /// a window of small messages can fill with one run. Then the poll thread polls on past
        /// the full window, up to this many bytes held, to reach other partitions' runs, and each
        /// refill admits those first (``partitionShare``). 0: never (other orderings, routes, one
        /// worker).
        var lookaheadBytes = 0
        /// A partition with this many messages in the window (``maxInFlightMessages`` over the
        /// workers) is admitted after the partitions below it, at each refill.
        var partitionShare = Int.max
        /// The consumer's workers (threads or processes).
        var workers = 1
        var resumeFraction: Double
        var pauseThreshold: Int64
        var drainTimeout: Int64
        /// The final commit and the close after a graceful stop must end within this.
        var closeBudget: Int64
        /// The final commit and the close after an immediate stop must end within this.
        var immediateBudget: Int64
        var commitInterval: Int64
        /// After the group refused a commit because it rebalances, periodic commits wait for the
        /// next assignment, or this long at most.
        var commitHoldAfterRefusal: Int64
        /// Most tries of a synchronous commit that fails with a retriable error.
        var maxSyncCommitAttempts = 20
        var deadLetterGuard: DeadLetterGuard
        /// How long a dead-letter write may keep failing with retriable errors before the
        /// consumer stops.
        var deadLetterTimeout: Int64
        /// A message whose worker process is stopped from outside runs again this often without
        /// counting an attempt; beyond that, the loss counts as a crash of the handler.
        var maxInterruptions = 3
        /// Whether the dead-letter guard needs every outcome (dead-letter policy only).
        var guardsDeadLetters: Bool
        /// Whether commits carry the finished offsets above the commit point (``CommitMetadata``).
        var commitMetadata: Bool
        /// The longest metadata string of one partition's commit.
        var commitMetadataMaxBytes: Int
        /// Most offsets a partition may hold from its commit point to its last received offset.
        var maxUncommittedSpan: Int64
        /// A partition's oldest unfinished message this old, with later ones finished, is stuck.
        var stuckWarning: Int64
        /// How often partitions are checked for stuck messages.
        var stuckCheckInterval: Int64 = 1_000_000_000
        /// Most messages done before the consumer stops by itself (``SluiceConfiguration/messageLimit``);
        /// `Int.max`: no limit (so that admission compares without unwrapping).
        var messageLimit = Int.max

        /// - Parameter handlers: each route's handler: whether it takes batches, and whether its
        ///   worker processes enforce its deadline (they kill an overrunning worker).
        init(_ configuration: SluiceConfiguration, handlers: [(batches: Bool, isolated: Bool)]) {
            routes = handlers.enumerated().map { index, handler in
                RouteSettings(configuration, route: configuration.routes.indices.contains(index) ? configuration.routes[index] : nil,
                              batches: handler.batches, isolated: handler.isolated)
            }
            routePatterns = configuration.routes.map(\.topics)
            maxInFlightMessages = configuration.maxInFlightMessages
            maxInFlightBytes = configuration.maxInFlightBytes
            resumeFraction = configuration.resumeFraction
            pauseThreshold = configuration.pauseThreshold.nanoseconds
            drainTimeout = configuration.drainTimeout.nanoseconds
            closeBudget = configuration.closeTimeout.nanoseconds
            immediateBudget = min(configuration.closeTimeout, SluiceConfiguration.immediateStopBudget).nanoseconds
            commitInterval = configuration.commitInterval.nanoseconds
            commitHoldAfterRefusal = max(configuration.effectiveSessionTimeout, .seconds(10)).nanoseconds
            guardsDeadLetters = configuration.usesDeadLetters
            deadLetterGuard = configuration.deadLetterGuard
            deadLetterTimeout = configuration.deadLetterTimeout.nanoseconds
            commitMetadata = configuration.commitMetadata
            commitMetadataMaxBytes = configuration.commitMetadataMaxBytes
            maxUncommittedSpan = Int64(configuration.maxUncommittedSpan)
            stuckWarning = configuration.stuckMessageWarning.nanoseconds
            workers = configuration.workers
            messageLimit = configuration.messageLimit ?? .max
            if configuration.routes.isEmpty, configuration.ordering == .partition, workers > 1 {
                // `fetch.message.max.bytes` is librdkafka's other name for it.
                let properties = configuration.kafka.common.properties
                let fetch = (properties["max.partition.fetch.bytes"] ?? properties["fetch.message.max.bytes"]).flatMap { Int($0) }
                    ?? Self.partitionFetchBytes
                lookaheadBytes = min(maxInFlightBytes, workers * max(fetch, 1))
                partitionShare = max(1, maxInFlightMessages / workers)
            }
        }

        /// librdkafka's default `max.partition.fetch.bytes`.
        static let partitionFetchBytes = 1_048_576
    }

    /// An assigned partition.
    struct PartitionState: Sendable {
        /// Its assignment's epoch: work of an earlier assignment must not touch its tracker.
        var epoch: UInt64
        /// The route serving its topic.
        var route: Int
        /// Its revocation has begun: polled messages of it are dropped, in-flight ones drain.
        var isRevoking = false
        /// Its number in its lanes (``lanePartitions``).
        let lanePartition: LanePartition
    }

    /// Whether the poll thread waits, and for what (so completions wake it only when it helps).
    enum PollerWait: Sendable {
        /// For room in the window, down to the refill mark.
        case room
        /// For the running handlers of these partitions (all when `nil`) to finish.
        case drain(Set<TopicPartition>?)
    }

    /// Whether the assigned partitions are paused because the window stayed full.
    enum Flow: Sendable, Equatable {
        /// Fetching.
        case open
        /// Paused; `pending` are partitions assigned meanwhile, to pause once librdkafka applied
        /// the assignment (the rebalance event comes before it).
        case paused(pending: Set<TopicPartition>)
    }

    /// A dead-letter write in progress.
    struct DeadLetterState: Sendable {
        var work: InFlightWork
        var topic: String
        var error: any Error
        /// Writes so far, the one in flight included.
        var writes = 1
        /// When the first write failed (engine clock), for the retry budget.
        var firstFailureAt: Int64?
        /// Whether a write is in flight (it counts as running then); `false` while waiting for a retry.
        var isWriting = true
    }

    /// An asynchronous commit sent and not yet answered.
    struct PendingCommit: Sendable {
        var content: CommitRequest.Content
        /// The epoch of each partition when it was sent: an answer must not touch a later assignment.
        var epochs: [TopicPartition: UInt64]
        var sentAt: Int64
    }

    let settings: Settings
    var lifecycle: ConsumerLifecycle = .idle
    /// Most messages in a lane run (``RouteSettings/runsLanes``; 1: none). The engine sizes it
    /// like a chunk, to about 1 ms of the handler's measured time, so that a slow handler's lane
    /// does not hold a worker long (``ConsumerEngine/callTargetNanos``).
    var laneRunLimit = 1

    // MARK: Messages
    var window: InFlightBudget
    var tracker = OffsetTracker()
    var scheduler = OrderingScheduler<OrderingLane, InFlightWork>()
    /// Polled messages not yet admitted because the window is full, in poll order.
    var held = HeldMessages()
    /// Assigned partitions.
    var partitions: [TopicPartition: PartitionState] = [:]
    /// Every partition ever assigned, by its number in lanes. Never shrinks (it holds one entry per
    /// partition this member was ever given): a partition assigned again keeps its number, so
    /// that its new work queues behind work of its earlier assignment still running on its lanes.
    var lanePartitions: [TopicPartition: LanePartition] = [:]
    var nextEpoch: UInt64 = 1
    /// Each route's share of the window, for routes with one.
    var routeWindows: [InFlightBudget?]
    /// Routes at their share whose partitions are paused.
    var routesPaused: Set<Int> = []
    /// Partitions paused (with ``spanPaused``) because their route is at its share.
    var routeHeld: Set<TopicPartition> = []
    /// Batches forming (batch routes): admitted work whose lane is free, waiting to go.
    var forming: [BatchGroup: FormingBatch] = [:]
    /// Lanes whose holder sits in a forming batch, with the batch's group.
    var formingLanes: [OrderingLane: BatchGroup] = [:]
    var batchGeneration: UInt64 = 0
    /// Handler calls (and dead-letter writes) started and not finished, per partition: what a
    /// revocation drains.
    var running: [TopicPartition: Int] = [:]
    var totalRunning = 0
    /// Work whose lane came free while stopping on a failure: admitted, never started.
    var parked: [InFlightWork] = []
    /// Failed work waiting for its next attempt: it keeps its window slot and its lane.
    var retries: [InFlightWork.Key: InFlightWork] = [:]
    /// Dead-letter writes, in flight or waiting to be tried again.
    var deadLetters: [InFlightWork.Key: DeadLetterState] = [:]
    /// Deadlines of running handler calls (only with ``Settings/handlerTimeout``).
    var deadlines: [InFlightWork.Call: (due: Int64, work: InFlightWork)] = [:]
    /// Calls failed by their deadline that still run on their thread: their late outcome is dropped.
    var overrun: Set<InFlightWork.Call> = []
    /// The attempt that runs next of work that failed before (absent: its first), for the
    /// stuck-message warning.
    var attempts: [InFlightWork.Key: Int] = [:]
    var timers = Heap<EngineTimer>()
    var timerSequence: UInt64 = 0
    var deadLetterGuard: DeadLetterGuardState
    /// Jitter of retry backoffs: seeded by the driver, so a test replays the same waits.
    var random: SplitMix64

    // MARK: Bounded replay
    /// Offsets that the last commit's metadata lists as finished, not yet polled again in this
    /// assignment: skipped when they come.
    var restored: [TopicPartition: FinishedOffsets] = [:]
    /// Partitions paused because their uncommitted span reached its bound.
    var spanPaused: Set<TopicPartition> = []
    /// The span at which a partition's finished offsets outgrew the metadata budget: its bound
    /// until it resumes.
    var metadataSpanLimits: [TopicPartition: Int64] = [:]
    /// Messages of span-paused partitions polled before the pause took effect, in order.
    var spanHeld: [TopicPartition: Deque<PolledMessage>] = [:]
    /// The span-paused partition whose kept messages are being admitted.
    var releasingSpan: TopicPartition?
    /// The stuck message last warned about per partition, and when to warn again.
    var stuckWarned: [TopicPartition: (offset: Int64, again: Int64)] = [:]
    var nextStuckCheckAt: Int64 = 0

    // MARK: Commits
    /// Offsets the broker acknowledged as committed, for assigned partitions.
    var committed: [TopicPartition: Int64] = [:]
    /// The tracker's done count (``PartitionOffsetTracker/doneVersion``) at each partition's last
    /// acknowledged commit: with commit metadata, a commit is due when it moved.
    var committedVersions: [TopicPartition: UInt64] = [:]
    /// The last acknowledged commit of every partition ever held (for final statistics).
    var lastCommitted: [TopicPartition: Int64] = [:]
    var pendingAsyncCommits: [UInt64: PendingCommit] = [:]
    var nextCommitID: UInt64 = 1
    var nextCommitAt: Int64 = 0
    /// Periodic commits wait until then (or the next assignment) after a rebalance refusal.
    var commitsHeldUntil: Int64?

    // MARK: Flow and counters
    var flow = Flow.open
    /// When the window last filled with messages waiting for room (`nil`: it has room).
    var windowFullSince: Int64?
    var pollerWait: PollerWait?
    /// Whether the group has given this member its (possibly empty) assignment and not taken it back.
    var hasAssignment = false
    var counters = EngineCounters()
    /// Messages done and committable, toward ``Settings/messageLimit``: admission stops where
    /// these and the window's messages reach it, so that a message dropped unfinished leaves room.
    var limitDone = 0
    /// The time of the event being handled (engine clock, nanoseconds).
    var now: Int64 = 0

    init(settings: Settings, seed: UInt64) {
        self.settings = settings
        self.window = InFlightBudget(maxCount: settings.maxInFlightMessages, maxWeight: settings.maxInFlightBytes)
        self.routeWindows = settings.routes.map { route in
            route.maxInFlightMessages.map { InFlightBudget(maxCount: $0, maxWeight: settings.maxInFlightBytes) }
        }
        self.deadLetterGuard = DeadLetterGuardState(settings.deadLetterGuard)
        self.random = SplitMix64(seed: seed)
    }

    // MARK: - Queries

    /// Whether the partition is assigned and not being revoked: its messages are taken.
    func isActive(_ tp: TopicPartition) -> Bool {
        partitions[tp].map { !$0.isRevoking } ?? false
    }

    /// Whether `work`, waiting for a timer, is given up when it comes due: the consumer stops, or
    /// its partition is being revoked or no longer in the assignment it was admitted in.
    func isGivenUp(_ work: InFlightWork) -> Bool {
        lifecycle.isStopping || partitions[work.topicPartition].map { $0.epoch != work.epoch || $0.isRevoking } ?? true
    }

    /// Whether any handler call or dead-letter write of these partitions (all when `nil`) runs.
    func isRunning(any tps: Set<TopicPartition>?) -> Bool {
        guard let tps else { return totalRunning > 0 }
        return tps.contains { running[$0] != nil }
    }

    /// Whether the poll thread, waiting for room, should go on: the window drained to its refill
    /// mark with the held head fitting, nothing is held, or the consumer no longer runs.
    var mayRefill: Bool {
        guard lifecycle.isRunning, let head = held.first else { return true }
        return window.fits(head.weight) && isAtRefillMark && !isAtMessageLimit
    }

    /// Whether the messages done and in the window reach ``Settings/messageLimit``: nothing more
    /// is admitted (the consumer stops once they are done).
    var isAtMessageLimit: Bool {
        limitDone + window.count >= settings.messageLimit
    }

    /// Whether the window is down to its refill mark (``Settings/refillFraction``), or empty:
    /// where held messages go in, in one burst.
    var isAtRefillMark: Bool {
        window.count == 0 || window.isAtOrBelow(settings.refillFraction)
    }

    /// Whether the poll thread should poll on past the full window (``Settings/lookaheadBytes``):
    /// fewer partitions have work in the window than there are workers, more are assigned, and
    /// the held messages are within their bound.
    var looksAhead: Bool {
        settings.lookaheadBytes > 0 && lifecycle.isRunning && !held.isEmpty && held.weight < settings.lookaheadBytes
            && !isPaused && !isAtMessageLimit && scheduler.activeLaneCount < settings.workers && partitions.count > scheduler.activeLaneCount
    }

    /// Whether the partitions are paused because the window stayed full.
    var isPaused: Bool {
        if case .paused = flow { return true }
        return false
    }

    /// When the next timer is due (retry, dead-letter write, handler deadline, periodic commit,
    /// the pause threshold of a full window).
    var nextDue: Int64? {
        var due = timers.min?.due
        if lifecycle.isRunning {
            if !partitions.isEmpty { due = min(due ?? .max, nextCommitAt) }
            if let since = windowFullSince, !isPaused { due = min(due ?? .max, since + settings.pauseThreshold) }
        }
        return due
    }

    /// Dead-letter writes not yet acknowledged.
    var deadLettering: Int { deadLetters.count }

    /// Commit points that differ from what the broker acknowledged, for these partitions (or
    /// all), with their metadata; with commit metadata, also those whose finished offsets changed.
    func pendingCommits(of tps: Set<TopicPartition>? = nil) -> CommitRequest.Content {
        var result = CommitRequest.Content()
        for tp in (tps.map(Array.init) ?? Array(partitions.keys)).sorted() where partitions[tp] != nil {
            guard let entry = tracker[tp], let point = entry.commitPoint else { continue }
            guard point != committed[tp] || (settings.commitMetadata && entry.doneVersion != committedVersions[tp]) else { continue }
            let metadata = commitMetadata(of: tp, at: point)
            result.offsets.append(TopicPartitionOffset(tp, offset: point, metadata: metadata.text))
            result.versions[tp] = entry.doneVersion
            if metadata.isTruncated { result.overBudget.append(tp) }
        }
        return result
    }

    /// The assigned partitions with their commit points, acknowledged commits and outstanding counts.
    var partitionStatistics: [SluiceStatistics.Partition] {
        partitions.keys.sorted().map { tp in
            let entry = tracker[tp]
            return SluiceStatistics.Partition(
                topicPartition: tp, commitPoint: entry?.commitPoint, committed: committed[tp],
                highWatermark: nil, outstanding: entry?.outstandingCount ?? 0,
                trackedOffsets: entry?.entryCount ?? 0, uncommittedSpan: uncommittedSpan(of: tp),
                oldestUnfinishedAge: entry?.oldestOutstandingSince.map { .nanoseconds(now - $0) },
                isPausedBySpan: spanPaused.contains(tp))
        }
    }

    // MARK: - Shared steps

    /// Every event starts here: time never goes backwards within the machine.
    mutating func advance(to time: Int64) {
        now = max(now, time)
    }

    /// `count` handler calls of `work`'s partition started (a lane run's members count at once).
    mutating func markRunning(_ work: InFlightWork, count: Int = 1) {
        running[work.topicPartition, default: 0] += count
        totalRunning += count
    }

    /// A handler call of `work` ended (or its dead-letter write did): its worker is free.
    mutating func endRun(_ work: InFlightWork) {
        // One look-up: this runs for every message.
        if let index = running.index(forKey: work.topicPartition) {
            if running.values[index] > 1 {
                running.values[index] -= 1
            } else {
                running.remove(at: index)
            }
        }
        totalRunning -= 1
    }

    /// `work` leaves the window; `done` says whether its offset may be committed. The next work
    /// of its lane, if any, starts (or joins a batch).
    ///
    /// `run`: the run of completions of `work`'s partition it belongs to, which looked the
    /// partition's epoch up already.
    mutating func settle(_ work: InFlightWork, done: Bool, in run: CompletionRun? = nil, into actions: inout EngineActions) {
        release(work)
        if !attempts.isEmpty { attempts[work.key] = nil }
        if done {
            if let run {
                if run.epoch == work.epoch { markDone(work, on: run.tp, into: &actions) }
            } else if partitions[work.topicPartition]?.epoch == work.epoch {
                markDone(work, on: work.topicPartition, into: &actions)
            }
        }
        releaseLane(of: work, into: &actions)
    }

    /// `work` is done in its partition's current assignment: its offset may be committed. The
    /// ``Settings/messageLimit``-th such message stops the consumer, gracefully: nothing else is
    /// in the window then, so the stop commits and closes at once.
    mutating func markDone(_ work: InFlightWork, on tp: TopicPartition, into actions: inout EngineActions) {
        tracker.markDone(work.message.offset, on: tp)
        limitDone += 1
        guard limitDone >= settings.messageLimit, lifecycle.isRunning else { return }
        let stop = stopRequested(.graceful, now: now)
        assert(stop.dispatch.isEmpty && stop.batches.isEmpty && stop.laneRuns.isEmpty, "work left in the window at the message limit")
        actions.wakePoller = true
        actions.logs.append(.messageLimitReached(limitDone))
    }

    /// Gives `work`'s slot in the window (and in its route's share) back.
    mutating func release(_ work: InFlightWork) {
        window.release(work.weight)
        if routeWindows[work.route] != nil { routeWindows[work.route]!.release(work.weight) }
    }

    /// Frees the lane of `work`; its next work, if any, starts (or joins a batch).
    mutating func releaseLane(of work: InFlightWork, into actions: inout EngineActions) {
        guard let lane = work.lane, let next = scheduler.complete(lane: lane) else { return }
        if lifecycle.failure != nil || lifecycle.isImmediate {
            // Stopping on a failure or at once: nothing more starts; the shutdown drops it.
            parked.append(next)
            return
        }
        ready(next, into: &actions)
    }

    /// A handler call began running (of one message, or of a batch): with a handler timeout, its
    /// deadline starts now (not at dispatch: a call waiting for a busy worker thread has not used
    /// any of its time). A batch's deadline is every member's.
    mutating func callStarted(_ works: [InFlightWork], now time: Int64) -> EngineActions {
        advance(to: time)
        var actions = EngineActions()
        guard let first = works.first, let timeout = settings.routes[first.route].handlerTimeout else { return actions }
        let due = now + timeout
        for work in works {
            deadlines[work.call] = (due, work)
            schedule(.deadline(work.call), at: due)
        }
        // A waiting poll thread wakes for the earliest timer: tell it about this one.
        actions.wakePoller = pollerWait != nil
        return actions
    }

    mutating func schedule(_ kind: EngineTimer.Kind, at due: Int64) {
        timerSequence += 1
        timers.insert(EngineTimer(due: due, sequence: timerSequence, kind: kind))
    }

    /// Whether a completion now should wake the poll thread.
    func shouldWakePoller() -> Bool {
        switch pollerWait {
        case nil: false
        case .room: isAtRefillMark
        case .drain(let tps): !isRunning(any: tps)
        }
    }
}

/// A small, fast, seedable random number generator (SplitMix64), so that the state machine's
/// jitter is reproducible in tests. Not for anything security-related.
struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
