//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import DequeModule
internal import Logging
internal import SluiceFutures

/// The consumer loop, on its own thread: polls librdkafka, admits messages into the window,
/// pauses and resumes partitions, commits, serves rebalances, and shuts down.
///
/// It blocks in `rd_kafka_consumer_poll` or on the window, never spins: an idle consumer wakes
/// about ten times a second, and a message is picked up as soon as it arrives.
///
/// `@unchecked Sendable`: every stored `var` is touched only on the poll thread (the rebalance and
/// commit hooks run inside `poll`/`close`, on that same thread).
final class PollLoop: @unchecked Sendable {
    private let engine: ConsumerEngine
    private let configuration: SluiceConfiguration
    private let logger: Logger
    private let clock = ContinuousClock()
    /// How long one `poll` may block: bounds how late a stop or a commit is noticed.
    private let pollTimeout = Duration.milliseconds(100)

    private var consumer: KafkaConsumer?
    /// Polled messages not yet admitted because the window is full, in poll order.
    private var held: Deque<PolledMessage> = []
    /// The most messages taken from librdkafka in one go (and so held beyond the window).
    private let maxBatch: Int
    private var fullSince: ContinuousClock.Instant?
    private var isPaused = false
    /// Set by an assignment while paused: the new partitions must be paused too.
    private var needsRepause = false
    private var nextCommit: ContinuousClock.Instant
    /// Set once the shutdown drain is over, so the final revocation does not wait again.
    private var isShuttingDown = false
    /// The group refused a commit because it is rebalancing: periodic commits wait for the next
    /// assignment (or until then, should none come). Committing again meanwhile only gets refused
    /// again, and librdkafka 2.0.2 takes a refused cooperative commit (`ILLEGAL_GENERATION`) for a
    /// lost assignment and rejoins, which starts another rebalance (librdkafka#4059).
    private var commitsHeldUntil: ContinuousClock.Instant?
    private var commitsHeldForRebalance: Bool {
        get { commitsHeldUntil.map { clock.now < $0 } ?? false }
        set { commitsHeldUntil = newValue ? clock.now.advanced(by: max(configuration.effectiveSessionTimeout, .seconds(10))) : nil }
    }
    /// Time the window was full before the current full period, for metrics.
    private var windowFullNanos: Int64 = 0
    /// When each outstanding asynchronous commit was sent, oldest first (for commit latency).
    private var asyncCommitsSent: Deque<ContinuousClock.Instant> = []
    private var nextMetrics: ContinuousClock.Instant
    /// How often metrics are published while running.
    private let metricsInterval = Duration.milliseconds(500)

    /// Tells the owner which Kafka consumer runs (and `nil` once it is closed).
    private let publish: @Sendable (KafkaConsumer?) -> Void

    init(engine: ConsumerEngine, publish: @escaping @Sendable (KafkaConsumer?) -> Void) {
        self.engine = engine
        self.publish = publish
        self.configuration = engine.configuration
        self.logger = engine.logger
        self.nextCommit = ContinuousClock.now
        self.nextMetrics = ContinuousClock.now
        self.maxBatch = max(1, min(256, engine.configuration.maxInFlightMessages))
    }

    // MARK: - Lifecycle

    /// Runs the whole life of the consumer on the calling (dedicated) thread. Returns the error
    /// that stopped it, or nil after a requested stop.
    func run() -> SluiceError? {
        do {
            let consumer = try makeConsumer()
            self.consumer = consumer
            publish(consumer)
            try loop(consumer)
            shutDown(consumer)
        } catch let error as SluiceError {
            engine.fail(error)
            if let consumer { shutDown(consumer) }
        } catch {
            engine.fail(SluiceError(code: .kafka, message: "the consumer failed", underlying: error))
            if let consumer { shutDown(consumer) }
        }
        return engine.withState { $0.failure }
    }

    private func makeConsumer() throws -> KafkaConsumer {
        let consumer: KafkaConsumer
        do {
            consumer = try KafkaConsumer(
                configuration: configuration.effectiveKafka,
                logger: logger,
                rebalanceHook: { [unowned self] in self.rebalanced($0) },
                commitHook: { [unowned self] in self.committed($0) },
                errorHook: { [unowned self] in self.kafkaError($0) })
        } catch {
            throw SluiceError(code: .configuration, message: "invalid Kafka configuration", underlying: error)
        }
        let topics: [String: Int]
        do {
            topics = try consumer.topics(timeout: configuration.connectTimeout)
        } catch {
            throw SluiceError(
                code: .kafka,
                message: "cannot reach Kafka at \(configuration.brokers.joined(separator: ",")) within \(configuration.connectTimeout)",
                underlying: error)
        }
        let missing = configuration.topics.filter { topics[$0] == nil }
        guard missing.isEmpty else {
            throw SluiceError(
                code: .kafka,
                message: "topic \(missing.joined(separator: ", ")) does not exist on \(configuration.brokers.joined(separator: ","))")
        }
        let deadLetterTopics = Set(configuration.topics.compactMap { configuration.failurePolicy.deadLetterTopic(for: $0) })
        let missingDeadLetter = deadLetterTopics.filter { topics[$0] == nil }.sorted()
        guard missingDeadLetter.isEmpty else {
            throw SluiceError(
                code: .configuration,
                message: "dead-letter topic \(missingDeadLetter.joined(separator: ", ")) does not exist on \(configuration.brokers.joined(separator: ",")); create it first")
        }
        do {
            try consumer.subscribe(topics: configuration.topics)
        } catch {
            throw SluiceError(code: .kafka, message: "cannot subscribe to \(configuration.topics)", underlying: error)
        }
        logger.info("consumer started", metadata: [
            "kafka.group.id": "\(configuration.groupID)", "kafka.topics": "\(configuration.topics)",
            "sluice.workers": "\(configuration.workers)", "sluice.ordering": "\(configuration.ordering)",
        ])
        nextCommit = clock.now.advanced(by: configuration.commitInterval)
        return consumer
    }

    // MARK: - The loop

    private func loop(_ consumer: KafkaConsumer) throws {
        while engine.withState({ $0.stopMode }) == nil {
            engine.beat()
            engine.admit(&held)
            if let head = held.first {
                try waitForRoom(for: head, consumer)
            } else {
                if let since = fullSince {
                    windowFullNanos += Self.nanoseconds(since.duration(to: clock.now))
                    fullSince = nil
                }
                try resumeIfDrained(consumer)
                try pollBatch(consumer, timeout: pollTimeout)
            }
            try repauseIfNeeded(consumer)
            commitIfDue(consumer)
            publishMetricsIfDue(consumer)
        }
    }

    // MARK: - Metrics

    private func publishMetricsIfDue(_ consumer: KafkaConsumer) {
        let now = clock.now
        guard engine.metrics.isEnabled, now >= nextMetrics else { return }
        nextMetrics = now.advanced(by: metricsInterval)
        publishMetrics(consumer)
    }

    /// Publishes the engine's counts, the window, and each assigned partition's lag.
    private func publishMetrics(_ consumer: KafkaConsumer?) {
        guard engine.metrics.isEnabled else { return }
        let ongoingFull = fullSince.map { Self.nanoseconds($0.duration(to: clock.now)) } ?? 0
        var snapshot = engine.withState { state in
            var snapshot = EngineMetrics.Snapshot(
                topics: state.topics.byTopic, inFlightMessages: state.window.count, inFlightBytes: state.window.bytes,
                isPaused: state.isPaused, pauses: state.pauses, windowFullNanos: 0, commits: state.commits,
                commitFailures: state.commitFailures, rebalanceEvents: state.rebalanceEvents,
                assignedPartitions: state.epochs.count)
            for tp in state.epochs.keys {
                if let position = state.committed[tp] ?? state.tracker.commitPoint(of: tp) {
                    snapshot.lag[tp] = position
                }
            }
            return snapshot
        }
        snapshot.windowFullNanos = windowFullNanos + ongoingFull
        for (tp, position) in snapshot.lag {
            if let high = consumer?.cachedWatermarks(of: tp)?.high {
                snapshot.lag[tp] = max(0, high - position)
            } else {
                snapshot.lag[tp] = nil
            }
        }
        engine.metrics.publish(snapshot)
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
    }

    /// Waits up to `timeout` for a message, then takes whatever else is ready at once, up to a
    /// batch: the engine admits a batch under one lock.
    private func pollBatch(_ consumer: KafkaConsumer, timeout: Duration) throws {
        guard let first = try poll(consumer, timeout: timeout) else { return }
        held.append(first)
        while held.count < maxBatch, let next = try poll(consumer, timeout: .zero) {
            held.append(next)
        }
    }

    /// The window is full and messages are in hand. Wait for room; past the pause threshold
    /// without polling, pause the partitions and keep polling so the group keeps this member.
    private func waitForRoom(for head: PolledMessage, _ consumer: KafkaConsumer) throws {
        let now = clock.now
        let since = fullSince ?? now
        fullSince = since
        if !isPaused {
            let pauseAt = since.advanced(by: configuration.pauseThreshold)
            if now < pauseAt {
                _ = engine.waitForRoom(weight: head.weight, timeout: min(now.duration(to: pauseAt), pollTimeout))
                return
            }
            try pauseAll(consumer)
        }
        // Paused: alternate between waiting for room and serving the group.
        if engine.waitForRoom(weight: head.weight, timeout: pollTimeout / 2) { return }
        if let message = try poll(consumer, timeout: pollTimeout / 2) {
            held.append(message)  // from a partition assigned meanwhile, before it was paused
        }
    }

    private func poll(_ consumer: KafkaConsumer, timeout: Duration) throws -> PolledMessage? {
        do {
            guard let message = try consumer.poll(timeout: timeout) else { return nil }
            return PolledMessage(message)
        } catch let error as KafkaError where !error.isFatal {
            logger.warning("consumer error", metadata: error.loggingMetadata)
            return nil
        }
    }

    // MARK: - Pause and resume

    private func pauseAll(_ consumer: KafkaConsumer) throws {
        let partitions = try consumer.assignment()
        if !partitions.isEmpty { try consumer.pause(partitions) }
        isPaused = true
        needsRepause = false
        engine.withState {
            $0.isPaused = true
            $0.pauses += 1
        }
        logger.info("window full for \(configuration.pauseThreshold): paused \(partitions.count) partitions", metadata: [
            "sluice.inflight.messages": "\(engine.withState { $0.window.count })",
        ])
    }

    private func resumeIfDrained(_ consumer: KafkaConsumer) throws {
        guard isPaused else { return }
        guard engine.withState({ $0.window.isAtOrBelow(configuration.resumeFraction) }) else { return }
        let partitions = try consumer.assignment()
        if !partitions.isEmpty { try consumer.resume(partitions) }
        isPaused = false
        needsRepause = false
        engine.withState { $0.isPaused = false }
        logger.info("window below \(configuration.resumeFraction): resumed \(partitions.count) partitions")
    }

    private func repauseIfNeeded(_ consumer: KafkaConsumer) throws {
        guard needsRepause, isPaused else { return }
        needsRepause = false
        let partitions = try consumer.assignment()
        if !partitions.isEmpty { try consumer.pause(partitions) }
    }

    // MARK: - Commits

    private func commitIfDue(_ consumer: KafkaConsumer) {
        let now = clock.now
        guard now >= nextCommit, !commitsHeldForRebalance else { return }
        nextCommit = now.advanced(by: configuration.commitInterval)
        let offsets = engine.withState { $0.pendingCommits() }
        guard !offsets.isEmpty else { return }
        do {
            try consumer.commit(offsets, mode: .async)
            asyncCommitsSent.append(now)
        } catch {
            logger.warning("commit failed; it is retried", metadata: ["kafka.error": "\(error)", "kafka.offsets": "\(offsets)"])
        }
    }

    /// Commits synchronously, retrying retriable failures until `deadline`.
    private func commitNow(_ offsets: [TopicPartitionOffset], _ consumer: KafkaConsumer, until deadline: ContinuousClock.Instant) {
        guard !offsets.isEmpty else { return }
        var attempt = 0
        while true {
            attempt += 1
            do {
                let sent = clock.now
                try consumer.commit(offsets, mode: .sync)
                engine.metrics.recordCommit(sent.duration(to: clock.now))
                engine.withState { $0.acknowledge(offsets) }
                logger.debug("committed \(offsets)")
                return
            } catch let error as KafkaError where error.isRebalanceRefusal {
                // The generation is over: retrying cannot succeed. What is done is handled again
                // by the partitions' next owner.
                engine.withState { $0.commitFailures += 1 }
                commitsHeldForRebalance = true
                logger.warning("commit refused while the group rebalances", metadata: ["kafka.error": "\(error)", "kafka.offsets": "\(offsets)"])
                return
            } catch let error as KafkaError where error.isRetriable && clock.now < deadline && attempt < 20 {
                logger.info("commit failed, retrying", metadata: ["kafka.error": "\(error)", "attempt": "\(attempt)"])
                // Serve callbacks meanwhile; this also spaces the retries.
                if let message = try? consumer.poll(timeout: .milliseconds(100)) {
                    held.append(PolledMessage(message))
                }
            } catch {
                engine.withState { $0.commitFailures += 1 }
                logger.warning("commit failed", metadata: ["kafka.error": "\(error)", "kafka.offsets": "\(offsets)"])
                return
            }
        }
    }

    /// The commit hook: runs on this thread inside poll.
    private func committed(_ result: KafkaCommitResult) {
        if let sent = asyncCommitsSent.popFirst() {
            engine.metrics.recordCommit(sent.duration(to: clock.now))
        }
        if let error = result.error {
            engine.withState { $0.commitFailures += 1 }
            if error.isRebalanceRefusal { commitsHeldForRebalance = true }
            logger.warning("commit failed; it is retried", metadata: ["kafka.error": "\(error)", "kafka.offsets": "\(result.offsets)"])
        } else {
            engine.withState { $0.acknowledge(result.offsets) }
        }
    }

    private func kafkaError(_ error: KafkaError) {
        if error.isFatal {
            logger.error("fatal Kafka error", metadata: error.loggingMetadata)
            engine.fail(SluiceError(code: .kafka, message: "fatal Kafka error", underlying: error))
        } else {
            logger.warning("Kafka error", metadata: error.loggingMetadata)
        }
    }

    // MARK: - Rebalances

    /// The rebalance hook: runs on this thread, before librdkafka changes the assignment.
    private func rebalanced(_ event: KafkaRebalanceEvent) {
        let partitions = Set(event.partitions)
        switch event.kind {
        case .assigned:
            commitsHeldForRebalance = false
            engine.withState { $0.assign(event.partitions) }
            if isPaused { needsRepause = true }
            logger.info("partitions assigned", metadata: ["kafka.partitions": "\(event.partitions.sorted())"])
        default:
            revoke(partitions, lost: event.kind == .lost)
        }
    }

    /// Drops queued work of revoked partitions, drains their running handlers, commits their
    /// commit points synchronously, and forgets them.
    private func revoke(_ partitions: Set<TopicPartition>, lost: Bool) {
        held.removeAll { partitions.contains($0.message.topicPartition) }
        engine.dropQueued(of: partitions)
        if !lost, let consumer {
            let deadline = clock.now.advanced(by: configuration.drainTimeout)
            let drained = isShuttingDown || engine.waitForRunning(of: partitions, until: deadline)
            if !drained {
                logger.warning(
                    "handlers of revoked partitions still running after the drain timeout; their messages will be handled again by the new owner",
                    metadata: ["kafka.partitions": "\(partitions.sorted())"])
            }
            commitNow(engine.withState { $0.pendingCommits(of: partitions) }, consumer, until: deadline)
        }
        engine.withState { $0.revoke(partitions, lost: lost) }
        if isPaused, let consumer {
            // librdkafka 2.0.2 keeps a partition's pause flag across unassign and assign, and a
            // later resume covers only the assignment of that moment: resume what is given up, or
            // a later assignment of it would never fetch. (An assignment while paused pauses the
            // new partitions again through `needsRepause`.)
            do {
                try consumer.resume(partitions.sorted())
            } catch {
                logger.warning("resuming revoked partitions failed", metadata: ["kafka.error": "\(error)", "kafka.partitions": "\(partitions.sorted())"])
            }
        }
        logger.info(lost ? "partitions lost" : "partitions revoked", metadata: ["kafka.partitions": "\(partitions.sorted())"])
    }

    // MARK: - Shutdown

    private func shutDown(_ consumer: KafkaConsumer) {
        held.removeAll()  // never admitted, never tracked: the commit point stays below them
        let (mode, failed) = engine.withState { ($0.stopMode ?? .graceful, $0.failure != nil) }
        let deadline = clock.now.advanced(by: configuration.drainTimeout)
        if failed || mode == .immediate {
            engine.dropQueued(of: nil)
        }
        if mode == .graceful {
            logger.info("stopping: draining in-flight handlers", metadata: [
                "sluice.inflight.messages": "\(engine.withState { $0.window.count })",
            ])
            if !engine.waitForRunning(of: nil, until: deadline) {
                logger.warning(
                    "handlers still running after the drain timeout; committing what is done",
                    metadata: ["kafka.partitions": "\(engine.withState { $0.running.keys.sorted() })"])
            }
        }
        engine.dropQueued(of: nil)
        commitNow(engine.withState { $0.pendingCommits() }, consumer, until: clock.now.advanced(by: configuration.closeTimeout))
        publishMetrics(consumer)
        isShuttingDown = true
        publish(nil)  // the owner keeps its last view of the partitions, before close revokes them
        do {
            try consumer.close(timeout: configuration.closeTimeout)
        } catch {
            logger.warning("closing the consumer failed", metadata: ["kafka.error": "\(error)"])
        }
        self.consumer = nil
        publishMetrics(nil)  // the assignment is gone: its lag gauges fall to 0
        logger.info("consumer stopped")
    }
}

extension KafkaError {
    /// The group refused a commit because it rebalances, or because this member's generation is
    /// over: committing again before the next assignment cannot succeed.
    var isRebalanceRefusal: Bool {
        rdKafkaName == "REBALANCE_IN_PROGRESS" || rdKafkaName == "ILLEGAL_GENERATION"
    }

    /// The error, and its topic, partition and offset where known, as log metadata.
    var loggingMetadata: Logger.Metadata {
        var metadata: Logger.Metadata = ["kafka.error": "\(self)"]
        if let topic { metadata["kafka.topic"] = "\(topic)" }
        if let partition { metadata["kafka.partition"] = "\(partition)" }
        if let offset { metadata["kafka.offset"] = "\(offset)" }
        return metadata
    }
}
