//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import SluiceFutures
internal import Metrics
internal import Synchronization
internal import _SluiceTime

/// The consumer's metrics, through swift-metrics: whatever backend the application bootstrapped
/// (Prometheus in the `sluice` runner), or nothing at all with the default no-op backend.
///
/// Counters and gauges are published from the engine's own counts by the poll loop, a few times
/// a second and once more when the consumer stops, rather than per message: the hot path only
/// counts under the lock it takes anyway. Handler durations are recorded per call, by the worker.
///
/// Labels are bounded: `topic` (the subscribed topics), `partition` (their partitions), and small
/// fixed sets (`result`, `event`); never offsets or keys.
///
/// `@unchecked Sendable`: `published` is touched only on the poll thread; the recorders are
/// thread-safe.
final class EngineMetrics: @unchecked Sendable {
    /// What the poll loop publishes: the engine's counts and gauges at one moment.
    struct Snapshot {
        var topics: [String: TopicCounters] = [:]
        var inFlightMessages = 0
        var inFlightBytes = 0
        var isPaused = false
        var pauses = 0
        var windowFullNanos: Int64 = 0
        var commits = 0
        var commitFailures = 0
        var rebalanceEvents: [String: Int] = [:]
        var assignedPartitions = 0
        /// Lag of each assigned partition (log end offset minus committed offset).
        var lag: [TopicPartition: Int64] = [:]
        var spanPauses = 0
        /// Wake-ups of librdkafka's fetcher so far (`nil`: no source to ask).
        var fetcherWakeUps: Int?
        /// Each assigned partition's oldest unfinished message age (seconds) and uncommitted span.
        var partitions: [TopicPartition: (oldestUnfinishedAge: Double, uncommittedSpan: Int64)] = [:]
    }

    /// Whether a metrics backend is bootstrapped; without one nothing is timed or published.
    let isEnabled: Bool
    /// Handler call durations, per subscribed topic.
    private let handlerDurations: [String: Timer]
    /// Durations of topics matched by a route's pattern, created as they come.
    private let patternDurations = Mutex<[String: Timer]>([:])
    /// Messages per batch handler call, per route (`consumer` without routes).
    private let batchSizes: [Recorder]
    /// From an offset commit request to the broker's answer.
    private let commitDuration: Timer
    private var published = Snapshot()
    /// Partitions whose gauges were set: set to 0 once they are no longer assigned.
    private var gaugedPartitions: Set<TopicPartition> = []

    init(topics: [String], routes: [String]) {
        self.isEnabled = !(MetricsSystem.factory is NOOPMetricsHandler)
        var durations: [String: Timer] = [:]
        for topic in topics {
            durations[topic] = Timer(label: "sluice_handler_duration_seconds", dimensions: [("topic", topic)], preferredDisplayUnit: .seconds)
        }
        self.handlerDurations = durations
        self.commitDuration = Timer(label: "sluice_commit_duration_seconds", preferredDisplayUnit: .seconds)
        self.batchSizes = routes.map { Recorder(label: "sluice_batch_size", dimensions: [("route", $0)], aggregate: true) }
    }

    /// Records one handler call (of one message, or of a batch) of `topic`.
    func recordHandlerDuration(topic: String, nanoseconds: Int64) {
        if let timer = handlerDurations[topic] {
            timer.recordNanoseconds(nanoseconds)
        } else if isEnabled {
            // A topic a route's pattern matched: a label of its own, as for named topics.
            patternDurations.withLock { timers in
                if let timer = timers[topic] { return timer }
                let timer = Timer(label: "sluice_handler_duration_seconds", dimensions: [("topic", topic)], preferredDisplayUnit: .seconds)
                timers[topic] = timer
                return timer
            }.recordNanoseconds(nanoseconds)
        }
    }

    /// Records the size of a batch handed to the batch handler of route `route`.
    func recordBatch(route: Int, size: Int) {
        guard isEnabled, batchSizes.indices.contains(route) else { return }
        batchSizes[route].record(size)
    }

    /// Records the time from an offset commit request to the broker's answer.
    func recordCommit(_ duration: Duration) {
        guard isEnabled else { return }
        commitDuration.record(duration: duration)
    }

    /// Publishes what changed since the last call. Poll thread only.
    func publish(_ now: Snapshot) {
        guard isEnabled else { return }
        var now = now
        if now.fetcherWakeUps == nil { now.fetcherWakeUps = published.fetcherWakeUps }
        for (topic, counts) in now.topics {
            let before = published.topics[topic] ?? TopicCounters()
            let dimensions = [("topic", topic)]
            increment("sluice_messages_consumed_total", dimensions, by: counts.consumed - before.consumed)
            increment("sluice_messages_handled_total", dimensions, by: counts.handled - before.handled)
            increment("sluice_messages_failed_total", dimensions, by: counts.failed - before.failed)
            increment("sluice_messages_retried_total", dimensions, by: counts.retried - before.retried)
            increment("sluice_messages_dead_lettered_total", dimensions, by: counts.deadLettered - before.deadLettered)
            increment("sluice_messages_skipped_total", dimensions, by: counts.skipped - before.skipped)
            increment("sluice_handler_timeouts_total", dimensions, by: counts.timedOut - before.timedOut)
            increment(
                "sluice_messages_finished_before_restart_total", dimensions,
                by: counts.finishedBeforeRestart - before.finishedBeforeRestart)
        }
        increment("sluice_pauses_total", [], by: now.pauses - published.pauses)
        increment("sluice_span_pauses_total", [], by: now.spanPauses - published.spanPauses)
        increment("sluice_fetcher_wakeups_total", [], by: (now.fetcherWakeUps ?? 0) - (published.fetcherWakeUps ?? 0))
        increment("sluice_commits_total", [("result", "success")], by: now.commits - published.commits)
        increment("sluice_commits_total", [("result", "failure")], by: now.commitFailures - published.commitFailures)
        for (event, count) in now.rebalanceEvents {
            increment("sluice_rebalance_events_total", [("event", event)], by: count - (published.rebalanceEvents[event] ?? 0))
        }
        // Created at the first publication, so that it is scraped as 0 before the window first fills.
        let fullNanos = now.windowFullNanos - published.windowFullNanos
        FloatingPointCounter(label: "sluice_window_full_seconds_total").increment(by: Double(max(0, fullNanos)) / 1e9)
        Gauge(label: "sluice_in_flight_messages").record(now.inFlightMessages)
        Gauge(label: "sluice_in_flight_bytes").record(now.inFlightBytes)
        Gauge(label: "sluice_paused").record(now.isPaused ? 1 : 0)
        Gauge(label: "sluice_assigned_partitions").record(now.assignedPartitions)
        for (tp, lag) in now.lag {
            partitionGauge("sluice_consumer_lag", tp).record(lag)
        }
        for (tp, state) in now.partitions {
            partitionGauge("sluice_oldest_unfinished_age_seconds", tp).record(state.oldestUnfinishedAge)
            partitionGauge("sluice_uncommitted_span", tp).record(state.uncommittedSpan)
        }
        // No longer ours: their lag is another member's, and nothing of theirs is unfinished here.
        for tp in gaugedPartitions.subtracting(now.lag.keys) {
            partitionGauge("sluice_consumer_lag", tp).record(0)
        }
        for tp in gaugedPartitions.subtracting(now.partitions.keys) {
            partitionGauge("sluice_oldest_unfinished_age_seconds", tp).record(0)
            partitionGauge("sluice_uncommitted_span", tp).record(0)
        }
        gaugedPartitions = Set(now.lag.keys).union(now.partitions.keys)
        published = now
    }

    /// Creating the counter registers it, so that it is scraped as 0 before its first event.
    private func increment(_ label: String, _ dimensions: [(String, String)], by delta: Int) {
        Counter(label: label, dimensions: dimensions).increment(by: max(0, delta))
    }

    private func partitionGauge(_ label: String, _ tp: TopicPartition) -> Gauge {
        Gauge(label: label, dimensions: [("topic", tp.topic), ("partition", "\(tp.partition)")])
    }
}

extension EngineMetrics.Snapshot {
    /// The machine's counts and gauges now; `lag` holds each assigned partition's position
    /// (committed offset, or commit point), for the caller to turn into lag with the watermarks.
    init(_ machine: ConsumerStateMachine) {
        let counters = machine.counters
        self.init(
            topics: counters.topics.byTopic, inFlightMessages: machine.window.count, inFlightBytes: machine.window.weight,
            isPaused: machine.isPaused, pauses: counters.pauses, windowFullNanos: machine.windowFullNanos,
            commits: counters.commits, commitFailures: counters.commitFailures, rebalanceEvents: counters.rebalanceEvents,
            assignedPartitions: machine.partitions.count)
        spanPauses = counters.spanPauses
        // The same per-partition view as the statistics, so that the two never disagree.
        for partition in machine.partitionStatistics {
            let tp = partition.topicPartition
            if let position = partition.committed ?? partition.commitPoint { lag[tp] = position }
            partitions[tp] = (partition.oldestUnfinishedAge?.inSeconds ?? 0, partition.uncommittedSpan)
        }
    }
}
