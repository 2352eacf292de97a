//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import CRdKafka
internal import _SluiceTime
/// Configuration of a ``KafkaConsumer`` in a consumer group.
///
/// Each typed setting names the librdkafka property it sets and its default. Sluice's defaults
/// differ from librdkafka's only where noted, and the reason is given.
///
/// ```swift
/// var config = KafkaConsumerConfiguration(bootstrapServers: [broker.bootstrapServers], groupID: "orders")
/// config.assignment = .cooperativeSticky
/// config.common.properties["fetch.wait.max.ms"] = "10"
/// let consumer = try KafkaConsumer(configuration: config)
/// ```
public struct KafkaConsumerConfiguration: Sendable, Hashable {
    /// How partitions are assigned to the members of a group.
    public struct AssignmentStrategy: Sendable, Hashable, CustomStringConvertible {
        fileprivate let value: String
        /// Eager rebalancing (every member gives up all partitions on a rebalance) with the
        /// `range,roundrobin` assignors. The safe default on librdkafka 2.0.2.
        public static let eager = AssignmentStrategy(value: "range,roundrobin")
        /// Incremental cooperative rebalancing (`cooperative-sticky`): only moved partitions are
        /// revoked. librdkafka 2.0.2 has known bugs in this assignor (hangs, lost assignments),
        /// fixed in later releases; prefer ``eager`` there.
        public static let cooperativeSticky = AssignmentStrategy(value: "cooperative-sticky")
        /// Any value of librdkafka's `partition.assignment.strategy`.
        public static func custom(_ value: String) -> AssignmentStrategy { AssignmentStrategy(value: value) }
        /// The librdkafka property value.
        public var description: String { value }
    }

    /// Where to start when a partition has no committed offset.
    public struct OffsetReset: Sendable, Hashable, CustomStringConvertible {
        fileprivate let value: String
        /// Start at the oldest retained message.
        public static let earliest = OffsetReset(value: "earliest")
        /// Start after the newest message.
        public static let latest = OffsetReset(value: "latest")
        /// Report an error instead of choosing.
        public static let error = OffsetReset(value: "error")
        /// The librdkafka property value.
        public var description: String { value }
    }

    /// Brokers, client id and pass-through properties.
    public var common: KafkaConfiguration
    /// The consumer group. librdkafka property: `group.id`. Must not be empty.
    public var groupID: String
    /// Partition assignment. librdkafka property: `partition.assignment.strategy`. Default: ``AssignmentStrategy/eager``.
    public var assignment: AssignmentStrategy
    /// Start position without a committed offset. librdkafka property: `auto.offset.reset`.
    /// Default: ``OffsetReset/earliest`` (librdkafka's is `latest`; a processing framework must not
    /// skip what was written before its first start).
    public var offsetReset: OffsetReset
    /// Whether librdkafka commits stored offsets periodically. librdkafka property: `enable.auto.commit`. Default: `true`.
    public var isAutoCommitEnabled: Bool
    /// Whether librdkafka stores each delivered message's offset automatically.
    /// librdkafka property: `enable.auto.offset.store`. Default: `true`. Engines that commit only
    /// completed work set it to `false` and call ``KafkaConsumer/storeOffsets(_:)``.
    public var isAutoOffsetStoreEnabled: Bool
    /// Period of automatic commits. librdkafka property: `auto.commit.interval.ms`. Default: 5 s.
    public var autoCommitInterval: Duration
    /// Group session timeout. librdkafka property: `session.timeout.ms`. Default: 45 s.
    public var sessionTimeout: Duration
    /// Longest allowed gap between polls before the member is expelled.
    /// librdkafka property: `max.poll.interval.ms`. Default: 300 s.
    public var maxPollInterval: Duration
    /// Longest time a broker holds a fetch open waiting for data. librdkafka property:
    /// `fetch.wait.max.ms`. Default: 500 ms. The embedded broker answers an empty fetch only after
    /// this full time, so tests against it want about 10 ms.
    public var fetchWaitMax: Duration
    /// Prefetch: fetching stops while the local queue holds this many messages.
    /// librdkafka property: `queued.min.messages`. Default: ``defaultQueuedMinMessages``, 250,000
    /// (librdkafka's is 100,000). Each queued message costs its payload plus about 300 bytes, so
    /// for small messages this count, not ``queuedMaxKilobytes``, bounds the memory: about 75 MB at
    /// this default. `SluiceConsumer` sizes both from its window instead, unless they were changed.
    ///
    /// Once the queue is full, librdkafka 2.0.2 fetches nothing until something reaches the
    /// fetcher's thread, or for a second (librdkafka#2879). ``wakesStalledFetcher`` (on by default
    /// there) wakes it once the queue drained; without it, the queue must hold about a second of
    /// traffic, and a consumer gets at most about this many messages per second.
    public var queuedMinMessages: Int
    /// Prefetch byte budget in KiB, payload only. librdkafka property:
    /// `queued.max.messages.kbytes`. Default: ``defaultQueuedMaxKilobytes``, 32,768 (32 MiB).
    public var queuedMaxKilobytes: Int
    /// The default of ``queuedMinMessages``.
    public static let defaultQueuedMinMessages = 250_000
    /// The default of ``queuedMaxKilobytes``.
    public static let defaultQueuedMaxKilobytes = 32_768
    /// How long a partition whose prefetch queue is full waits before it may fetch again.
    /// librdkafka property: `fetch.queue.backoff.ms`, which exists from librdkafka 2.1 on (its own
    /// default, 1 s, idles a consumer that drains its queue faster than that). Default: 10 ms where
    /// the linked librdkafka has the property (``linkedLibrdkafkaVersion``), `nil` (not set)
    /// where it does not: 2.0.2 rejects it as unknown. Not measured on this project's CI, which
    /// links 2.0.2.
    public var fetchQueueBackoff: Duration?
    /// Whether the consumer wakes librdkafka's fetcher once its queue drained below
    /// ``queuedMinMessages`` and ``queuedMaxKilobytes`` after it was full. Not a librdkafka property.
    ///
    /// librdkafka 2.0.2 stops fetching while the queue is full and looks again only about once a
    /// second (librdkafka#2879), so a consumer faster than that idles, or needs a prefetch queue
    /// of a second of traffic. With this on, the consumer samples its queue's length every 256
    /// messages and, once the queue drained, sends a `ListOffsets` request to the partitions'
    /// leaders from a thread of its own: the request reaches the fetcher's broker thread, which
    /// then fetches again at once. It costs one small request per queue refill.
    /// Default: `true` where the linked librdkafka lacks ``fetchQueueBackoff`` (before 2.1),
    /// `false` where it has it.
    public var wakesStalledFetcher: Bool

    /// Whether librdkafka fetches again soon after a full prefetch queue drained (by
    /// ``wakesStalledFetcher`` or ``fetchQueueBackoff``), so that the queue need not hold a
    /// second of traffic.
    public var refetchesPromptly: Bool {
        wakesStalledFetcher || fetchQueueBackoff != nil || common.properties["fetch.queue.backoff.ms"] != nil
    }

    /// The librdkafka linked at run time, as `rd_kafka_version()` reports it (`0xMMmmrrpp`).
    public static let linkedLibrdkafkaVersion = UInt32(bitPattern: rd_kafka_version())

    /// Whether librdkafka `version` (as ``linkedLibrdkafkaVersion``) knows `fetch.queue.backoff.ms`.
    public static func hasFetchQueueBackoff(version: UInt32) -> Bool {
        version >= 0x0201_0000
    }

    /// Creates a consumer configuration; every setting not given takes its documented default.
    public init(
        bootstrapServers: [String] = [],
        groupID: String,
        assignment: AssignmentStrategy = .eager,
        offsetReset: OffsetReset = .earliest,
        properties: [String: String] = [:]
    ) {
        self.common = KafkaConfiguration(bootstrapServers: bootstrapServers, properties: properties)
        self.groupID = groupID
        self.assignment = assignment
        self.offsetReset = offsetReset
        self.isAutoCommitEnabled = true
        self.isAutoOffsetStoreEnabled = true
        self.autoCommitInterval = .seconds(5)
        self.sessionTimeout = .seconds(45)
        self.maxPollInterval = .seconds(300)
        self.fetchWaitMax = .milliseconds(500)
        // Measured with `sluice bench` (BENCHMARKS.md): peak RSS of a no-op consumer with a 1M
        // backlog of 100-byte messages 306 MB with 1M/64 MiB, 145 MB with these, same throughput.
        self.queuedMinMessages = Self.defaultQueuedMinMessages
        self.queuedMaxKilobytes = Self.defaultQueuedMaxKilobytes
        let hasBackoff = Self.hasFetchQueueBackoff(version: Self.linkedLibrdkafkaVersion)
        self.fetchQueueBackoff = hasBackoff ? .milliseconds(10) : nil
        self.wakesStalledFetcher = !hasBackoff
    }

    /// The librdkafka properties this configuration stands for; pass-through properties win.
    public var librdkafkaProperties: [String: String] {
        var result: [String: String] = [
            "group.id": groupID,
            "partition.assignment.strategy": assignment.value,
            "auto.offset.reset": offsetReset.value,
            "enable.auto.commit": String(isAutoCommitEnabled),
            "enable.auto.offset.store": String(isAutoOffsetStoreEnabled),
            "auto.commit.interval.ms": String(autoCommitInterval.milliseconds),
            "session.timeout.ms": String(sessionTimeout.milliseconds),
            "max.poll.interval.ms": String(maxPollInterval.milliseconds),
            "fetch.wait.max.ms": String(fetchWaitMax.milliseconds),
            "queued.min.messages": String(queuedMinMessages),
            "queued.max.messages.kbytes": String(queuedMaxKilobytes),
        ]
        if let fetchQueueBackoff { result["fetch.queue.backoff.ms"] = String(fetchQueueBackoff.milliseconds) }
        let common = self.common.librdkafkaProperties
        result.merge(common) { _, passThrough in passThrough }
        return result
    }

    /// Checks every property against librdkafka without connecting anywhere.
    /// - Throws: ``KafkaError`` carrying librdkafka's message for the first bad property.
    public func validate() throws {
        guard !groupID.isEmpty || common.properties["group.id"] != nil else {
            throw KafkaError.configuration("group.id must not be empty")
        }
        _ = try RDKafkaConfig(properties: librdkafkaProperties)
    }
}
