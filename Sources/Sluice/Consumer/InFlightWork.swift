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
    /// The ordering lane it runs in (`nil`: it runs at once).
    let lane: OrderingLane?
    /// The assignment epoch of its partition when it was admitted. A completion from an older
    /// epoch (the partition was revoked, maybe reassigned since) must not touch the new tracker.
    let epoch: UInt64
    /// When it was polled (``monotonicNanos()``), for latency statistics.
    let polledAt: Int
    /// Which attempt runs (or ran last), from 1.
    var attempt = 1

    var topicPartition: TopicPartition { message.topicPartition }

    /// Identifies the work while it waits for a retry.
    var retryKey: RetryKey { RetryKey(topicPartition: topicPartition, offset: message.offset, epoch: epoch) }

    /// A message's identity within one assignment of its partition.
    struct RetryKey: Hashable, Sendable {
        let topicPartition: TopicPartition
        let offset: Int64
        let epoch: UInt64
    }
}

/// A message taken from librdkafka, not yet admitted into the window.
struct PolledMessage: Sendable {
    let message: KafkaMessage
    /// Its weight in the byte budget: key and value bytes.
    let weight: Int
    /// When it was polled (``monotonicNanos()``): an integer, not a clock instant, whose
    /// arithmetic costs 128-bit multiplications on every message.
    let polledAt: Int

    init(_ message: KafkaMessage, polledAt: Int = monotonicNanos()) {
        self.message = message
        self.weight = message.value.count + (message.key?.count ?? 0)
        self.polledAt = polledAt
    }
}
