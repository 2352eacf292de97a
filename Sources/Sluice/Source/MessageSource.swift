//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Where the engine reads messages and commits offsets: librdkafka's consumer in production
/// (``KafkaMessageSource``), an in-memory cluster in `SluiceTestKit`.
///
/// The engine calls it from its poll thread only. Rebalances, answers to asynchronous commits and
/// client errors reach the ``MessageSourceEvents`` it was made with from inside ``poll(timeout:)``
/// (and ``close(remaining:)``), on that thread, as librdkafka does: a revocation is reported
/// *before* the assignment changes, so the engine can drain and commit first.
package protocol MessageSource: AnyObject, Sendable {
    /// Topics in the cluster with their partition counts.
    /// - Throws: when no broker answers within `timeout`.
    func topics(timeout: Duration) throws -> [String: Int]

    /// Subscribes to `topics`; partitions arrive through rebalance events.
    func subscribe(topics: [String]) throws

    /// Waits up to `timeout` for the next message, serving events meanwhile.
    /// - Throws: ``KafkaError`` for an error reported in place of a message; polling may go on.
    func poll(timeout: Duration) throws -> KafkaMessage?

    /// Stops fetching these partitions.
    func pause(_ partitions: [TopicPartition]) throws

    /// Resumes fetching these partitions.
    func resume(_ partitions: [TopicPartition]) throws

    /// Sends a commit whose answer reaches ``MessageSourceEvents/committed`` with `id` from a later poll.
    func commitAsync(_ offsets: [TopicPartitionOffset], id: UInt64) throws

    /// Commits and waits for the answer while `remaining()` is positive (it is asked again at least
    /// every 100 ms, so a shortened deadline takes effect).
    /// - Throws: the commit's error, or a ``KafkaError`` with code ``KafkaError/Code/timedOut``.
    func commitSync(_ offsets: [TopicPartitionOffset], remaining: () -> Duration) throws

    /// The group's committed offsets of these partitions, with their metadata (`offset == nil`
    /// where none is committed).
    /// - Throws: when the group coordinator does not answer within `timeout`.
    func committed(_ partitions: [TopicPartition], timeout: Duration) throws -> [TopicPartitionOffset]

    /// The log end offset as of the last fetch, without a request (for lag).
    func cachedHighWatermark(of partition: TopicPartition) -> Int64?

    /// Leaves the group and closes, reporting the final revocation, while `remaining()` is
    /// positive; past it, gives up (and the group notices the member gone after its session
    /// timeout).
    func close(remaining: () -> Duration) throws

    /// How many times the source woke its fetcher after its prefetch queue drained
    /// (``KafkaConsumerConfiguration/wakesStalledFetcher``).
    var fetcherWakeUps: Int { get }
}

extension MessageSource {
    /// None: a source without a fetcher to wake (the test kit's).
    package var fetcherWakeUps: Int { 0 }
}

/// Where a ``MessageSource`` reports what happens inside ``MessageSource/poll(timeout:)``.
package struct MessageSourceEvents: Sendable {
    /// The assignment changes; called before the change is applied.
    package var rebalanced: @Sendable (KafkaRebalanceEvent) -> Void
    /// An asynchronous commit was answered.
    package var committed: @Sendable (_ id: UInt64, _ error: KafkaError?) -> Void
    /// A client-level error (brokers down, a fatal error).
    package var error: @Sendable (KafkaError) -> Void

    package init(
        rebalanced: @escaping @Sendable (KafkaRebalanceEvent) -> Void,
        committed: @escaping @Sendable (UInt64, KafkaError?) -> Void,
        error: @escaping @Sendable (KafkaError) -> Void
    ) {
        self.rebalanced = rebalanced
        self.committed = committed
        self.error = error
    }
}

/// Makes the source of a consumer run, given where to report its events.
package typealias MessageSourceFactory = @Sendable (SluiceConfiguration, MessageSourceEvents) throws -> any MessageSource
