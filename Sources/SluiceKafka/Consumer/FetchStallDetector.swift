//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Decides, from what the poll thread sees, when librdkafka 2.0.2's fetcher may be stalled on a
/// full prefetch queue and should be woken (by ``FetchWaker``).
///
/// librdkafka 2.0.2 stops fetching a partition while the consumer's queue holds
/// `queued.min.messages` messages or `queued.max.messages.kbytes` of payload, and decides again
/// only when something reaches the partition's broker thread, or after a fixed second
/// (librdkafka#2879; `fetch.queue.backoff.ms` from 2.1 on). A consumer that drains the queue
/// faster than that idles for the rest of the second. This detector samples the queue's length
/// every ``sampleInterval`` polled messages (and on every empty poll): once it has seen the queue
/// at or near a threshold, the first sample below it answers "wake", once.
///
/// It is a value with no clock and no librdkafka in it, so its rule is tested on its own; the
/// consumer feeds it from the polling thread.
struct FetchStallDetector: Sendable {
    /// Messages polled between two samples of the queue's length.
    static let sampleInterval = 256

    /// `queued.min.messages`.
    let minMessages: Int
    /// `queued.max.messages.kbytes`, in bytes.
    let maxBytes: Int
    /// How close to a threshold counts as having reached it: samples are ``sampleInterval``
    /// messages apart, so a queue that touched the threshold between two samples is seen within it.
    private let margin: Int
    private var polledSinceSample = 0
    private var bytesSinceSample = 0
    /// Payload bytes per message, from the last sampled stretch (librdkafka counts payload only).
    private var averagePayload = 0
    /// The queue was seen at a threshold since the last wake.
    private(set) var sawFull = false

    /// A detector for librdkafka's `queued.min.messages` and `queued.max.messages.kbytes`.
    init(minMessages: Int, maxKilobytes: Int) {
        self.minMessages = max(1, minMessages)
        self.maxBytes = max(1, maxKilobytes) * 1024
        self.margin = min(2 * Self.sampleInterval, self.minMessages / 2)
    }

    /// Records one polled message of `payloadBytes`; returns whether the queue should be sampled now.
    @inline(__always)
    mutating func polled(payloadBytes: Int) -> Bool {
        polledSinceSample &+= 1
        bytesSinceSample &+= payloadBytes
        return polledSinceSample >= Self.sampleInterval
    }

    /// Takes a sample of the consumer queue's length; returns whether to wake the fetcher now.
    mutating func sample(queueLength: Int) -> Bool {
        if polledSinceSample > 0 {
            averagePayload = bytesSinceSample / polledSinceSample
        }
        polledSinceSample = 0
        bytesSinceSample = 0
        // The byte margin is the same stretch of messages, but at most half the budget: with large
        // messages a count margin alone would exceed the budget and make an empty queue look full.
        let nearFull = queueLength + margin >= minMessages
            || queueLength * averagePayload + min(margin * averagePayload, maxBytes / 2) >= maxBytes
        if nearFull {
            sawFull = true
            return false
        }
        guard sawFull else { return false }
        sawFull = false
        return true
    }

    /// An empty poll: the queue is drained. Returns whether to wake the fetcher now.
    mutating func pollCameBackEmpty() -> Bool {
        sample(queueLength: 0)
    }
}
