//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// What the drivers must do after an event of ``ConsumerStateMachine``, once its lock is released.
///
/// Worker threads only ever get ``dispatch``, ``deadLetters``, ``cancel``, ``logs`` and
/// ``wakePoller``; the poll thread carries out the rest (it owns the source).
struct EngineActions: Sendable {
    /// Handler calls to start, in order.
    var dispatch: [InFlightWork] = []
    /// Batch handler calls to start: each a batch the machine formed, in order.
    var batches: [[InFlightWork]] = []
    /// Lane runs to start: each a lane's messages in offset order, to run on one worker, one after
    /// the other, stopping at the first failure (``LaneRunSkipped`` for the rest).
    var laneRuns: [[InFlightWork]] = []
    /// Dead-letter writes to start.
    var deadLetters: [DeadLetterRequest] = []
    /// Asynchronous handler calls whose deadline passed: cancel their tasks (the works name
    /// their calls and routes).
    var cancel: [InFlightWork] = []
    /// Partitions to pause.
    var pause: [TopicPartition] = []
    /// Partitions to resume.
    var resume: [TopicPartition] = []
    /// An asynchronous commit to send.
    var commit: CommitRequest?
    /// What to log.
    var logs: [EngineLog] = []
    /// Wake the poll thread: room in the window, a drain finished, or a stop was requested.
    var wakePoller = false

    /// Whether there is nothing to do.
    var isEmpty: Bool {
        dispatch.isEmpty && batches.isEmpty && laneRuns.isEmpty && deadLetters.isEmpty && cancel.isEmpty && pause.isEmpty && resume.isEmpty && commit == nil
            && logs.isEmpty && !wakePoller
    }
}

/// A write of a failed message to its dead-letter topic.
struct DeadLetterRequest: Sendable {
    /// The failed message.
    let work: InFlightWork
    /// The dead-letter topic.
    let topic: String
    /// The handler's error on the last attempt.
    let error: any Error
    /// Which write of this message this is, from 1.
    let writeAttempt: Int
}

/// A commit of commit points, identified so that its outcome finds its own bookkeeping.
struct CommitRequest: Sendable {
    /// The commit's identity within the consumer.
    let id: UInt64
    /// The commit points, one per partition, with their metadata.
    var offsets: [TopicPartitionOffset] { content.offsets }
    /// What it commits.
    let content: Content

    /// Commit points and the tracker state they were taken at.
    struct Content: Sendable {
        /// The commit points, one per partition, with their metadata.
        var offsets: [TopicPartitionOffset] = []
        /// Each partition's ``PartitionOffsetTracker/doneVersion`` when its point was taken.
        var versions: [TopicPartition: UInt64] = [:]
        /// Partitions whose finished offsets did not all fit the metadata budget.
        var overBudget: [TopicPartition] = []
    }
}

/// What the engine reports to the log; the drivers turn these into log lines.
enum EngineLog: Sendable {
    /// A failed attempt is tried again after `delay`.
    case retrying(KafkaMessage, attempt: Int, after: Duration, error: any Error)
    /// A message's last attempt failed: `outcome` says what happens to it.
    case failed(KafkaMessage, attempts: Int, outcome: String, error: any Error)
    /// A worker process running the message was stopped from outside: it runs again.
    case interrupted(KafkaMessage, attempt: Int, error: any Error)
    /// Writing to the dead-letter topic failed and is tried again after `delay`.
    case deadLetterRetrying(KafkaMessage, topic: String, writeAttempt: Int, after: Duration, error: any Error)
    /// A dead-letter write was given up (the partition is no longer ours, or the consumer stops):
    /// the message stays uncommitted.
    case deadLetterAbandoned(KafkaMessage, topic: String)
    /// Polled messages of partitions not (or no longer) assigned, or offsets seen before, were dropped.
    case refused(count: Int)
    /// The window stayed full for the pause threshold: partitions paused.
    case paused(partitions: Int, inFlight: Int)
    /// The window drained to the resume mark: partitions resumed.
    case resumed(partitions: Int)
    /// A route reached its share of the window: its partitions alone are paused.
    case routePaused(route: String, partitions: Int, inFlight: Int)
    /// A partition reached its uncommitted-span bound behind a slow message: it alone is paused.
    case spanPaused(TopicPartition, commitPoint: Int64, span: Int64)
    /// A span-paused partition's commit point moved: it is resumed.
    case spanResumed(TopicPartition, commitPoint: Int64)
    /// A partition's oldest unfinished message holds its commit point while later ones are done.
    case stuck(TopicPartition, offset: Int64, attempt: Int, state: String, age: Duration, finishedAbove: Int)
    /// The committed metadata of a newly assigned partition lists offsets finished before: they are skipped.
    case restored(TopicPartition, committed: Int64, finished: Int64)
    /// The committed metadata of a newly assigned partition was not read: everything from the
    /// committed offset is handled.
    case metadataIgnored(TopicPartition, committed: Int64, reason: String)
    /// The consumer stops on this error.
    case stopping(SluiceError)
    /// The message limit's last message is done: the consumer stops.
    case messageLimitReached(Int)
}
