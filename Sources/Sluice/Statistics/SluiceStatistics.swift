//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import _SluiceTime
internal import SluiceFutures
/// A snapshot of a running consumer: what it read, handled and committed, and how far behind it is.
///
/// Read it as often as you like (``SluiceConsumer/statistics``); counters only grow, so rates are
/// differences of two snapshots over their ``takenAt`` interval.
public struct SluiceStatistics: Sendable {
    /// One assigned partition.
    public struct Partition: Sendable, Hashable {
        /// The partition.
        public var topicPartition: TopicPartition
        /// The offset that would be committed now: lowest received offset not yet done, or the last
        /// received + 1. `nil` before the first message.
        public var commitPoint: Int64?
        /// The last offset the broker acknowledged as committed by this consumer.
        public var committed: Int64?
        /// The log end offset as of the last fetch (`nil` until the first fetch response).
        public var highWatermark: Int64?
        /// Messages received and not yet done (running, waiting for their lane, or retrying).
        public var outstanding: Int
        /// Offsets the tracker holds: the outstanding ones and the done ones above the commit
        /// point. At most ``SluiceConfiguration/maxUncommittedSpan``.
        public var trackedOffsets: Int = 0
        /// Offsets from the commit point to the last received one (0 when none is outstanding).
        public var uncommittedSpan: Int64 = 0
        /// How long the oldest unfinished message has been in the engine, if any.
        public var oldestUnfinishedAge: Duration?
        /// Whether the partition is paused because its uncommitted span reached its bound.
        public var isPausedBySpan = false

        /// Messages not yet committed: high watermark minus committed offset (or commit point).
        public var lag: Int64? {
            guard let highWatermark else { return nil }
            guard let position = committed ?? commitPoint else { return nil }
            return max(0, highWatermark - position)
        }
    }

    /// When the snapshot was taken.
    public var takenAt: ContinuousClock.Instant
    /// Messages received from Kafka and admitted.
    public var consumed: Int
    /// Messages done: handled, skipped, or acknowledged by the dead-letter topic.
    public var completed: Int
    /// Messages whose last attempt failed (then skipped, dead-lettered, or stopped on).
    public var failed: Int
    /// Retries scheduled (a message failing twice and then succeeding counts 2).
    public var retried: Int
    /// Attempts that overran the handler timeout.
    public var timedOut: Int
    /// Messages skipped by the skip policy.
    public var skipped: Int
    /// Messages acknowledged by the dead-letter topic.
    public var deadLettered: Int
    /// Messages not handled because the last commit's metadata lists them as finished before the
    /// restart (or before the rebalance that brought their partition here).
    public var finishedBeforeRestart: Int = 0
    /// Times a partition was paused alone because its uncommitted span reached its bound.
    public var spanPauses: Int = 0
    /// Calls of batch handlers.
    public var batches: Int = 0
    /// Messages handed to batch handlers, over all their calls (retries included).
    public var batchedMessages: Int = 0
    /// Times a route reached its share of the window and its partitions were paused.
    public var routePauses: Int = 0
    /// Dead-letter writes not yet acknowledged.
    public var deadLettering: Int
    /// Handler calls lost to a worker process stopped from outside (`kill -9`, the OOM killer),
    /// run again without counting an attempt.
    public var interrupted: Int = 0
    /// The same counts per topic.
    public var topics: [String: TopicCounters]
    /// Messages admitted and not yet done.
    public var inFlightMessages: Int
    /// Bytes of messages admitted and not yet done.
    public var inFlightBytes: Int
    /// Whether the partitions are paused because the window stayed full.
    public var isPaused: Bool
    /// How many times the partitions were paused.
    public var pauses: Int
    /// Rebalances this consumer took part in (assignments and revocations).
    public var rebalances: Int
    /// Commits acknowledged by the broker.
    public var commits: Int
    /// Commits that failed (their offsets are committed again later).
    public var commitFailures: Int
    /// When the first message was admitted, and when the last one completed: the busy period.
    public var firstAdmittedAt: ContinuousClock.Instant?
    /// When the last handled message completed.
    public var lastCompletedAt: ContinuousClock.Instant?
    /// Time from poll to handler completion of every handled message (from when its poll batch's
    /// first message arrived: a batch of up to 256 is taken at once).
    public var latency: LatencyHistogram
    /// The assigned partitions, in order.
    public var partitions: [Partition]

    /// Handled messages per second over the busy period (first admission to last completion).
    public var handledPerSecond: Double? {
        guard let first = firstAdmittedAt, let last = lastCompletedAt, completed > 0 else { return nil }
        let elapsed = first.duration(to: last).inSeconds
        return elapsed > 0 ? Double(completed) / elapsed : nil
    }

    /// The sum of the partitions' lags (those that know one).
    public var totalLag: Int64 { partitions.compactMap(\.lag).reduce(0, +) }
}

extension SluiceStatistics {
    /// The machine's view now: its counters, window and assigned partitions (without high
    /// watermarks, which the source knows). `clock` maps the machine's times to clock instants.
    init(_ machine: ConsumerStateMachine, clock: any EngineClock) {
        let counters = machine.counters
        let now = ContinuousClock.now
        let engineNow = clock.now()
        func instant(_ nanos: Int64) -> ContinuousClock.Instant? {
            nanos == 0 ? nil : now.advanced(by: .nanoseconds(nanos - engineNow))
        }
        self.init(
            takenAt: now, consumed: counters.consumed, completed: counters.completed, failed: counters.failed,
            retried: counters.retried, timedOut: counters.timedOut, skipped: counters.skipped,
            deadLettered: counters.deadLettered, finishedBeforeRestart: counters.finishedBeforeRestart,
            spanPauses: counters.spanPauses, deadLettering: machine.deadLettering, interrupted: counters.interrupted,
            topics: counters.topics.byTopic,
            inFlightMessages: machine.window.count, inFlightBytes: machine.window.weight, isPaused: machine.isPaused,
            pauses: counters.pauses, rebalances: counters.rebalances, commits: counters.commits,
            commitFailures: counters.commitFailures, firstAdmittedAt: instant(counters.firstAdmittedAt),
            lastCompletedAt: instant(counters.lastCompletedAt), latency: counters.latency,
            partitions: machine.partitionStatistics)
        self.batches = counters.batches
        self.batchedMessages = counters.batchedMessages
        self.routePauses = counters.routePauses
    }
}
