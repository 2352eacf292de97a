//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// One admitted message on its way through the engine.
struct InFlightWork: Sendable {
    /// The message as the handler sees it.
    let message: KafkaMessage
    /// Its weight in the byte budget of the window.
    let weight: Int
    /// The ordering lane it holds while it runs (`nil`: none). In a batch only the last message
    /// of a lane holds it (the others are released from it when the batch forms).
    var lane: OrderingLane?
    /// The route (``ConsumerStateMachine/Settings/routes``) whose handler runs it.
    let route: Int
    /// The assignment epoch of its partition when it was admitted. A completion from an older
    /// epoch (the partition was revoked, maybe reassigned since) must not touch the new tracker.
    let epoch: UInt64
    /// When it was polled (``MonotonicInstant`` nanoseconds, or the test clock's), for latency.
    let polledAt: Int64
    /// Which attempt runs (or ran last), from 1.
    var attempt = 1
    /// Attempts lost to a worker process stopped from outside, which do not count as attempts.
    var interruptions = 0
    /// Its batch failed as a whole (the handler threw, its worker crashed, the call timed out):
    /// nobody knows which message was at fault, so its retries run in batches of their own.
    var alone = false
    /// It runs (or ran last) in a batch with other messages.
    var batched = false
    /// It was isolated after its batch failed as a whole: it has one attempt more than the retry
    /// policy's (``ConsumerStateMachine/isolate(_:error:into:)``).
    var isolated = false
    /// The lane of the lane run it belongs to (``ConsumerStateMachine/startWithFollowers(_:into:)``):
    /// it runs on one worker with the messages queued behind it on that lane, in order, and only
    /// the run's last member holds the lane (``lane``). `nil` outside a run.
    var runLane: OrderingLane?

    var topicPartition: TopicPartition { message.topicPartition }

    /// Identifies the work within one assignment of its partition.
    var key: Key { Key(topicPartition: topicPartition, offset: message.offset, epoch: epoch) }

    /// Identifies one handler call of the work (for its deadline).
    var call: Call { Call(key: key, attempt: attempt, interruptions: interruptions) }

    /// A message's identity within one assignment of its partition.
    struct Key: Hashable, Sendable {
        let topicPartition: TopicPartition
        let offset: Int64
        let epoch: UInt64
    }

    /// One handler call: a message's identity and the attempt it runs.
    struct Call: Hashable, Sendable {
        let key: Key
        let attempt: Int
        let interruptions: Int
    }
}

/// A message taken from the source, not yet admitted into the window.
struct PolledMessage: Sendable {
    let message: KafkaMessage
    /// Its weight in the byte budget: key and value bytes.
    let weight: Int
    /// When it was polled: an integer, not a clock instant, whose arithmetic costs 128-bit
    /// multiplications on every message.
    let polledAt: Int64

    /// Takes `message` over: moved in, not copied (a copy is a reference count per message).
    init(_ message: consuming KafkaMessage, polledAt: Int64) {
        self.weight = message.payloadByteCount
        self.polledAt = polledAt
        self.message = message
    }
}
