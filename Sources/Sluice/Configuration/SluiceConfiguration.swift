//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Configuration of a ``SluiceConsumer``: where to read, how much to run at once, and how to commit.
///
/// Every setting states its default. Kafka client settings, including any librdkafka property,
/// live in ``kafka``.
///
/// ```swift
/// var config = SluiceConfiguration(brokers: ["127.0.0.1:9092"], groupID: "orders", topics: ["orders"])
/// config.workers = 4
/// config.maxInFlightMessages = 2_000
/// config.ordering = .partition
/// config.kafka.common.properties["fetch.wait.max.ms"] = "10"
/// ```
public struct SluiceConfiguration: Sendable {
    /// The Kafka consumer settings (brokers, group, assignment strategy, pass-through properties).
    ///
    /// Sluice commits only completed work itself, so it always sets `enable.auto.commit` and
    /// `enable.auto.offset.store` to `false`, whatever is given here.
    ///
    /// librdkafka's prefetch follows the window: unless ``KafkaConsumerConfiguration/queuedMinMessages``
    /// and ``KafkaConsumerConfiguration/queuedMaxKilobytes`` were changed from their defaults (or set
    /// as properties), Sluice sets them from ``maxInFlightMessages`` and ``maxInFlightBytes`` (see
    /// ``prefetch(maxInFlightMessages:maxInFlightBytes:)``), where librdkafka fetches again as soon
    /// as the queue drained (``KafkaConsumerConfiguration/refetchesPromptly``).
    public var kafka: KafkaConsumerConfiguration
    /// The topics to consume. Must not be empty, and each must exist, unless ``routes`` are given:
    /// then the consumer subscribes to the routes' topics, and these, if any, must each be
    /// served by a route.
    public var topics: [String]
    /// Topics (names or patterns) mapped to their own handlers, each with its own ordering,
    /// failure policy and optionally its share of the window and its own workers: one consumer
    /// serving several topics (``SluiceRoute``). Used by ``SluiceConsumer/init(configuration:logger:)``.
    /// A topic goes to the first route that matches it. Default: none.
    public var routes: [SluiceRoute]
    /// Most messages in one call of a batch handler (``BatchMessageHandler``). Default: 100.
    public var maxBatchSize: Int
    /// Most key and value bytes in one call of a batch handler; a single larger message still
    /// makes a batch of its own. Default: 1 MiB.
    public var maxBatchBytes: Int
    /// Longest a batch waits to fill before it is handed to a batch handler (from its first
    /// message), unless the window fills first. Default: 10 ms.
    public var maxBatchDelay: Duration
    /// Worker threads running synchronous handlers. Default: the number of active cores.
    public var workers: Int
    /// Most messages admitted and not yet done (running, or waiting for their key or partition).
    /// Default: 1,000.
    public var maxInFlightMessages: Int
    /// Most bytes (keys and values) admitted and not yet done. A single larger message is still
    /// admitted when nothing else is in flight. Default: 64 MiB.
    public var maxInFlightBytes: Int
    /// Which messages may run at the same time. Default: ``OrderingMode/key``.
    public var ordering: OrderingMode
    /// How long the window may stay full before the assigned partitions are paused (so polling
    /// goes on and the group keeps the member). Must be well under `max.poll.interval.ms`. Default: 3 s.
    public var pauseThreshold: Duration
    /// Paused partitions resume when both the message count and the bytes in flight fall to this
    /// fraction of their bounds (hysteresis). Default: 0.5.
    public var resumeFraction: Double
    /// Longest wait for in-flight handlers of revoked partitions, and for all of them at shutdown.
    /// Must be under `max.poll.interval.ms`. Default: 30 s.
    public var drainTimeout: Duration
    /// Most offsets one partition may hold between its commit point (its lowest unfinished
    /// message) and its last received offset. One slow message (a retry waiting out its backoff,
    /// a long call) holds its partition's commit point while later messages finish; at this span
    /// that partition alone is paused until its commit point moves (other partitions keep
    /// flowing), which bounds both the memory of its finished offsets and what a crash replays.
    /// With ``commitMetadata``, a partition is also paused when its finished offsets no longer
    /// fit ``commitMetadataMaxBytes`` (a contiguous run fits in a few bytes whatever its length;
    /// the worst pattern, every other offset finished, about 24,000 offsets in 4,096 bytes).
    /// A partition's messages in flight all lie within its span: on topics with few partitions,
    /// keep it well above ``maxInFlightMessages``, or the span, not the window, bounds them.
    /// Default: 10,000.
    public var maxUncommittedSpan: Int
    /// Whether each commit carries, in its metadata, the offsets above the commit point that are
    /// already finished (``CommitMetadata``), so that after a crash or a rebalance they are not
    /// handled again: a restart replays the unfinished messages only, not the whole span. Other
    /// Kafka tools still see an ordinary committed offset. Default: `true`.
    public var commitMetadata: Bool
    /// The longest metadata string a commit carries per partition; the broker refuses longer
    /// ones (`offset.metadata.max.bytes`, 4,096 by default). Default: 4,096.
    public var commitMetadataMaxBytes: Int
    /// A partition whose lowest unfinished message has waited this long while later offsets are
    /// finished is logged as stuck (topic, partition, offset, attempt, how long), and again each
    /// time as long again passes. Default: 60 s.
    public var stuckMessageWarning: Duration
    /// How often advanced commit points are committed (asynchronously). Revocation and shutdown
    /// always commit synchronously. Default: 1 s.
    public var commitInterval: Duration
    /// The budget of the final commit and of leaving the group after a graceful stop (both within
    /// it, after the drain): a graceful stop takes at most ``drainTimeout`` + this + 1 s for
    /// dead-letter writes still in flight. Default: 10 s.
    public var closeTimeout: Duration
    /// Longest wait for the brokers' first answer at start-up. Default: 10 s.
    public var connectTimeout: Duration
    /// How often a failed message is tried again, and how long each retry waits.
    /// Default: 3 attempts, 100 ms doubling up to 10 s, ±20% jitter (``RetryPolicy``).
    public var retry: RetryPolicy
    /// What happens to a message whose handler still fails after its last attempt.
    /// Default: ``FailurePolicy/stop``.
    public var failurePolicy: FailurePolicy
    /// Limits on dead-lettering, beyond which the consumer stops instead (dead-letter policy only).
    /// Default: at most 100 in a row and half of the last 1,000 messages.
    public var deadLetterGuard: DeadLetterGuard
    /// How long a dead-letter write may keep failing with retriable errors (broker down, topic
    /// unavailable) before the consumer stops with an error naming the dead-letter topic and the
    /// message. A permanent error (record too large, authorization failed) stops it at once.
    /// Default: 60 s.
    public var deadLetterTimeout: Duration
    /// The producer that writes to the dead-letter topic. Default (`nil`): the consumer's brokers
    /// and client id, its connection properties (`security.*`, `sasl.*`, `ssl.*`, `socket.*`,
    /// `client.*`, `broker.*`, `reconnect.*`, `api.version*`), and the properties that govern
    /// producing (``deadLetterProducingProperties``, e.g. `message.max.bytes`).
    public var deadLetterProducer: KafkaProducerConfiguration?
    /// The longest a handler call may take before it counts as a failed attempt
    /// (``HandlerTimeoutError``). An async handler is cancelled; a sync handler's thread stays
    /// busy until it returns. Default: `nil`, no deadline.
    public var handlerTimeout: Duration?
    /// Values that must never appear in dead-letter headers or the engine's log lines (shown as
    /// `***`), such as a handler's API key. The values of librdkafka's sensitive properties in
    /// ``kafka`` and ``deadLetterProducer`` (`sasl.password`, `ssl.key.password`, …) are masked
    /// whether or not they are here. Default: none.
    public var secrets: SecretRedactor
    /// Stop after this many messages: the consumer admits no more than this many (each counted
    /// once, however often it is tried; handled, skipped or dead-lettered), finishes them, commits
    /// them and stops as after a graceful ``SluiceConsumer/stop(immediately:)``: `run()` returns.
    /// Messages polled past the limit are never handled nor committed; the group's next member
    /// reads them. A message admitted but not finished (its partition revoked, its handler failing
    /// while the consumer stops) leaves room for another. For batch jobs, smoke tests and
    /// `sluice run --max-messages`. Default: `nil`, no limit.
    public var messageLimit: Int?

    /// Creates a configuration; every setting not given takes its documented default.
    public init(brokers: [String], groupID: String, topics: [String]) {
        self.kafka = KafkaConsumerConfiguration(bootstrapServers: brokers, groupID: groupID)
        self.topics = topics
        self.routes = []
        self.maxBatchSize = 100
        self.maxBatchBytes = 1 << 20
        self.maxBatchDelay = .milliseconds(10)
        self.workers = Self.defaultWorkers
        self.maxInFlightMessages = 1_000
        self.maxInFlightBytes = 64 << 20
        self.ordering = .key
        self.pauseThreshold = .seconds(3)
        self.resumeFraction = 0.5
        self.drainTimeout = .seconds(30)
        self.commitInterval = .seconds(1)
        self.maxUncommittedSpan = 10_000
        self.commitMetadata = true
        self.commitMetadataMaxBytes = CommitMetadata.brokerDefaultMaxBytes
        self.stuckMessageWarning = .seconds(60)
        self.closeTimeout = .seconds(10)
        self.connectTimeout = .seconds(10)
        self.retry = RetryPolicy()
        self.failurePolicy = .stop
        self.deadLetterGuard = DeadLetterGuard()
        self.deadLetterTimeout = .seconds(60)
        self.deadLetterProducer = nil
        self.handlerTimeout = nil
        self.secrets = SecretRedactor()
        self.messageLimit = nil
    }

    /// ``secrets`` and the values of the sensitive properties of the consumer and the
    /// dead-letter producer.
    var redactor: SecretRedactor {
        var redactor = secrets
        redactor.formUnion(SecretRedactor(kafkaProperties: kafka.common.properties))
        if let deadLetterProducer {
            redactor.formUnion(SecretRedactor(kafkaProperties: deadLetterProducer.common.properties))
        }
        return redactor
    }

    /// The smallest metadata budget that holds a few finished offsets beside the format's fixed
    /// part at any offset.
    static let minimumCommitMetadataBytes = 64

    /// The brokers, as `host:port`.
    public var brokers: [String] {
        get { kafka.common.bootstrapServers }
        set { kafka.common.bootstrapServers = newValue }
    }

    /// The consumer group.
    public var groupID: String {
        get { kafka.groupID }
        set { kafka.groupID = newValue }
    }

    /// The number of active cores, the default worker count.
    public static var defaultWorkers: Int { ProcessorCount.active }

    /// The budget of the final commit and the close after an immediate stop (``SluiceConsumer/stop(immediately:)``,
    /// a second signal), capped by ``closeTimeout``: 2 s. With an unresponsive broker the consumer
    /// gives up on both then, and exits well within 5 s.
    public static let immediateStopBudget: Duration = .seconds(2)

    /// librdkafka properties given in ``kafka`` that also reach the default dead-letter producer,
    /// because they govern producing: message sizes, batching, compression, acknowledgements,
    /// timeouts and retries.
    public static let deadLetterProducingProperties: Set<String> = [
        "message.max.bytes", "message.copy.max.bytes", "receive.message.max.bytes", "max.in.flight.requests.per.connection",
        "max.in.flight", "metadata.max.age.ms", "topic.metadata.refresh.interval.ms", "request.timeout.ms",
        "acks", "request.required.acks", "linger.ms", "queue.buffering.max.ms", "queue.buffering.max.messages",
        "queue.buffering.max.kbytes", "batch.num.messages", "batch.size", "compression.codec", "compression.type",
        "compression.level", "message.timeout.ms", "delivery.timeout.ms", "enable.idempotence", "retries",
        "message.send.max.retries", "retry.backoff.ms",
    ]

    /// The Kafka settings Sluice actually uses: ``kafka`` with automatic commit and offset store
    /// off, and the prefetch sized from the window where it was left at its defaults.
    var effectiveKafka: KafkaConsumerConfiguration {
        var kafka = self.kafka
        kafka.isAutoCommitEnabled = false
        kafka.isAutoOffsetStoreEnabled = false
        kafka.common.properties["enable.auto.commit"] = "false"
        kafka.common.properties["enable.auto.offset.store"] = "false"
        if kafka.refetchesPromptly {
            let prefetch = Self.prefetch(maxInFlightMessages: maxInFlightMessages, maxInFlightBytes: maxInFlightBytes)
            if kafka.queuedMinMessages == KafkaConsumerConfiguration.defaultQueuedMinMessages {
                kafka.queuedMinMessages = prefetch.messages
            }
            if kafka.queuedMaxKilobytes == KafkaConsumerConfiguration.defaultQueuedMaxKilobytes {
                kafka.queuedMaxKilobytes = prefetch.kilobytes
            }
        }
        return kafka
    }

    /// librdkafka's prefetch (`queued.min.messages`, `queued.max.messages.kbytes`) for a window:
    /// 20 windows of messages, between 10,000 and 250,000, and a quarter of the window's bytes,
    /// between 4 MiB and 32 MiB. With the defaults (1,000 messages, 64 MiB): 20,000 messages and
    /// 16 MiB, about 8 MB for 100-byte messages.
    ///
    /// The queue only needs to outlast the time librdkafka takes to fetch again once it drained
    /// (a request and a fetch, a few milliseconds); `sluice bench` measured the no-op consumer at
    /// the same rate with 20,000 messages as with 250,000, at 60 MB of peak RSS instead of 150 MB
    /// (BENCHMARKS.md).
    public static func prefetch(maxInFlightMessages: Int, maxInFlightBytes: Int) -> (messages: Int, kilobytes: Int) {
        let messages = max(min(maxInFlightMessages, 12_500) * 20, 10_000)  // at most 250,000
        let kilobytes = min(max(maxInFlightBytes / 4 / 1024, 4_096), 32_768)
        return (messages, kilobytes)
    }

    /// Checks every value, including each librdkafka property, without connecting.
    /// - Throws: ``SluiceError`` (``SluiceError/Code/configuration``) naming the setting and its value.
    public func validate() throws {
        func require(_ condition: Bool, _ message: @autoclosure () -> String) throws {
            if !condition { throw SluiceError.configuration(message()) }
        }
        try require(!brokers.isEmpty, "no brokers given")
        try require(!groupID.isEmpty, "the consumer group id is empty")
        try require(!topics.isEmpty || !routes.isEmpty, "no topics given")
        try require(topics.allSatisfy { !$0.isEmpty }, "a topic name is empty")
        try require(workers >= 1, "workers must be at least 1, got \(workers)")
        try require(maxBatchSize >= 1, "max batch size must be at least 1, got \(maxBatchSize)")
        try require(maxBatchBytes >= 1, "max batch bytes must be at least 1, got \(maxBatchBytes)")
        try require(maxBatchDelay >= .zero, "max batch delay must not be negative, got \(maxBatchDelay)")
        try validateRoutes()
        try require(maxInFlightMessages >= 1, "max in-flight messages must be at least 1, got \(maxInFlightMessages)")
        try require(maxInFlightBytes >= 1, "max in-flight bytes must be at least 1, got \(maxInFlightBytes)")
        try require(resumeFraction > 0 && resumeFraction <= 1, "resume fraction must be in (0, 1], got \(resumeFraction)")
        try require(commitInterval > .zero, "commit interval must be positive, got \(commitInterval)")
        try require(maxUncommittedSpan >= 1, "max uncommitted span must be at least 1, got \(maxUncommittedSpan)")
        try require(
            !commitMetadata || commitMetadataMaxBytes >= Self.minimumCommitMetadataBytes,
            "commit metadata max bytes must be at least \(Self.minimumCommitMetadataBytes) (or commit metadata off), got \(commitMetadataMaxBytes)")
        try require(stuckMessageWarning > .zero, "the stuck-message warning must be positive, got \(stuckMessageWarning)")
        try retry.validate()
        try failurePolicy.validate(topics: routes.isEmpty ? topics : topics.filter { topic in !routes.contains { $0.matches(topic) } })
        try deadLetterGuard.validate()
        try require(deadLetterTimeout >= .zero, "the dead-letter timeout must not be negative, got \(deadLetterTimeout)")
        if let messageLimit {
            try require(messageLimit >= 1, "the message limit must be at least 1, got \(messageLimit)")
        }
        if let handlerTimeout {
            try require(handlerTimeout > .zero, "the handler timeout must be positive, got \(handlerTimeout)")
        }
        let maxPoll = effectiveMaxPollInterval
        try require(
            pauseThreshold > .zero && pauseThreshold * 2 <= maxPoll,
            "pause threshold \(pauseThreshold) must be positive and at most half of max.poll.interval.ms (\(maxPoll))")
        try require(
            drainTimeout >= .zero && drainTimeout < maxPoll,
            "drain timeout \(drainTimeout) must be under max.poll.interval.ms (\(maxPoll)), or a draining member is expelled")
        do {
            try effectiveKafka.validate()
        } catch {
            throw SluiceError(code: .configuration, message: "invalid Kafka configuration", underlying: error)
        }
        // librdkafka accepts this, but the group then expels the member between two heartbeats,
        // over and over (Kafka's Java client rejects it too).
        let session = effectiveSessionTimeout
        let heartbeat = effectiveHeartbeatInterval
        try require(
            heartbeat < session,
            "heartbeat.interval.ms (\(heartbeat)) must be under session.timeout.ms (\(session)), or the group drops the member between heartbeats")
    }

    /// The producer configuration of the dead-letter topic: ``deadLetterProducer``, or one derived
    /// from the consumer's connection settings.
    package var effectiveDeadLetterProducer: KafkaProducerConfiguration {
        if let deadLetterProducer { return deadLetterProducer }
        // Connection settings only: consumer properties would make librdkafka warn on a producer.
        let prefixes = ["security.", "sasl.", "ssl.", "socket.", "client.", "broker.", "reconnect.", "api.version"]
        var producer = KafkaProducerConfiguration(
            bootstrapServers: kafka.common.bootstrapServers,
            properties: kafka.common.properties.filter { entry in
                prefixes.contains { entry.key.hasPrefix($0) } || Self.deadLetterProducingProperties.contains(entry.key)
            })
        producer.common.clientID = kafka.common.clientID
        // A write that fails is produced again by Sluice: let it fail (and be logged) early,
        // unless the user chose a timeout.
        if producer.common.properties["message.timeout.ms"] == nil, producer.common.properties["delivery.timeout.ms"] == nil {
            producer.messageTimeout = .seconds(30)
        }
        return producer
    }

    /// `session.timeout.ms` as librdkafka will see it (a pass-through property wins).
    var effectiveSessionTimeout: Duration {
        if let text = kafka.common.properties["session.timeout.ms"], let ms = Int64(text) {
            return .milliseconds(ms)
        }
        return kafka.sessionTimeout
    }

    /// `heartbeat.interval.ms` as librdkafka will see it: a pass-through property, or librdkafka's
    /// default of 3 s.
    var effectiveHeartbeatInterval: Duration {
        if let text = kafka.common.properties["heartbeat.interval.ms"], let ms = Int64(text) {
            return .milliseconds(ms)
        }
        return .seconds(3)
    }

    /// `max.poll.interval.ms` as librdkafka will see it (a pass-through property wins).
    var effectiveMaxPollInterval: Duration {
        if let text = kafka.common.properties["max.poll.interval.ms"], let ms = Int64(text) {
            return .milliseconds(ms)
        }
        return kafka.maxPollInterval
    }
}
