//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Every count the engine keeps, in one place: ``SluiceStatistics`` and the metrics snapshot are
/// both derived from it. Only ``ConsumerStateMachine`` changes it.
struct EngineCounters: Sendable {
    /// Messages admitted into the window.
    var consumed = 0
    /// Messages done: handled, skipped, or acknowledged by the dead-letter topic.
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
    /// Attempts lost to a worker process stopped from outside (run again, not counted as attempts).
    var interrupted = 0
    /// Times the partitions were paused because the window stayed full.
    var pauses = 0
    /// Messages skipped because the last commit's metadata lists them as finished.
    var finishedBeforeRestart = 0
    /// Times a partition was paused alone at its uncommitted-span bound.
    var spanPauses = 0
    /// Batches handed to batch handlers, and the messages in them.
    var batches = 0
    var batchedMessages = 0
    /// Times a route reached its share of the window.
    var routePauses = 0
    /// Assignments and revocations this consumer took part in.
    var rebalances = 0
    /// Rebalance events by kind (`assigned`, `revoked`, `lost`), for metrics.
    var rebalanceEvents: [String: Int] = [:]
    /// Commits acknowledged by the broker.
    var commits = 0
    /// Commits that failed (their offsets are committed again later).
    var commitFailures = 0
    /// Per-topic counts.
    var topics = TopicCountTable()
    /// Time from poll to completion of every done message.
    var latency = LatencyHistogram()
    /// When the first message was admitted and the last one completed (engine clock; 0: not yet).
    var firstAdmittedAt: Int64 = 0
    var lastCompletedAt: Int64 = 0
    /// Nanoseconds the window was full (with messages waiting for room) before the current full period.
    var windowFullNanos: Int64 = 0

    /// Updates the counters of `topic`.
    mutating func count(_ topic: String, _ body: (inout TopicCounters) -> Void) {
        topics.update(topic, body)
    }

    /// Counts a message done (handled, skipped or dead-lettered) at `now`.
    mutating func recordDone(polledAt: Int64, at now: Int64) {
        completed += 1
        latency.record(nanoseconds: Int(now - polledAt))
        lastCompletedAt = now
    }
}
