//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import Logging
internal import SluiceFutures
internal import _SluiceTime

/// The consumer loop, on its own thread: turns the ``MessageSource`` into events of the
/// ``ConsumerStateMachine`` (messages, rebalances, commit answers, errors, time) and carries out
/// what the machine decides that needs the source (pause, resume, commit, close).
///
/// It blocks in the source's poll or on the engine's lock, never spins: an idle consumer wakes
/// about ten times a second, and a message is picked up as soon as it arrives.
///
/// `@unchecked Sendable`: every stored `var` is touched only on the poll thread (the source's
/// events arrive inside its `poll` and `close`, on that same thread).
final class PollLoop: @unchecked Sendable {
    private let engine: ConsumerEngine
    private let configuration: SluiceConfiguration
    private let logger: Logger
    private let clock: any EngineClock
    private let makeSource: MessageSourceFactory
    /// How long one poll may block: bounds how late a stop is noticed.
    private static let pollTimeout: Int64 = 100_000_000
    /// How long the poll thread waits for room between polls while it looks ahead.
    private static let lookaheadWait: Int64 = 2_000_000
    private var source: (any MessageSource)?
    /// The most messages taken from the source in one go (and so held beyond the window).
    private let maxBatch: Int
    private var batch: [PolledMessage] = []
    private var nextMetrics: Int64 = 0
    /// How often metrics are published while running.
    private static let metricsInterval: Int64 = 500_000_000

    /// Tells the owner which source runs (and `nil` once it is closed), for watermark look-ups.
    private let publish: @Sendable ((any MessageSource)?) -> Void

    init(engine: ConsumerEngine, makeSource: @escaping MessageSourceFactory, publish: @escaping @Sendable ((any MessageSource)?) -> Void) {
        self.engine = engine
        self.makeSource = makeSource
        self.publish = publish
        self.configuration = engine.configuration
        self.logger = engine.logger
        self.clock = engine.clock
        self.maxBatch = max(1, min(256, engine.configuration.maxInFlightMessages))
        self.batch.reserveCapacity(maxBatch)
    }

    // MARK: - Lifecycle

    /// Runs the whole life of the consumer on the calling (dedicated) thread. Returns the error
    /// that stopped it, or nil after a requested stop.
    func run() -> SluiceError? {
        do {
            try connect()
            try loop()
        } catch let error as SluiceError {
            engine.handle { $0.failed(error, now: clock.now()) }
        } catch let error as KafkaError where error.isFatal {
            logger.error("fatal Kafka error", metadata: error.loggingMetadata)
            engine.handle { $0.failed(SluiceError(code: .kafka, message: "fatal Kafka error", underlying: error), now: clock.now()) }
        } catch {
            engine.handle { $0.failed(SluiceError(code: .kafka, message: "the consumer failed", underlying: error), now: clock.now()) }
        }
        if source != nil { shutDown() }
        return engine.withMachine { $0.closed(now: clock.now()) }
    }

    private func connect() throws {
        let events = MessageSourceEvents(
            rebalanced: { [unowned self] in self.rebalanced($0) },
            committed: { [unowned self] in self.committed(id: $0, error: $1) },
            error: { [unowned self] in self.kafkaError($0) })
        let source = try makeSource(configuration, events)
        self.source = source
        publish(source)
        let topics = try topicsWhileStarting(source)
        guard let topics else { return }  // stopped while connecting
        let missing = configuration.namedTopics.filter { topics[$0] == nil }
        guard missing.isEmpty else {
            throw SluiceError(
                code: .kafka,
                message: "topic \(missing.joined(separator: ", ")) does not exist on \(configuration.brokers.joined(separator: ","))")
        }
        let deadLetterTopics = configuration.deadLetterTopics
        let missingDeadLetter = deadLetterTopics.filter { topics[$0] == nil }.sorted()
        guard missingDeadLetter.isEmpty else {
            throw SluiceError(
                code: .configuration,
                message: "dead-letter topic \(missingDeadLetter.joined(separator: ", ")) does not exist on \(configuration.brokers.joined(separator: ",")); create it first")
        }
        do {
            try source.subscribe(topics: configuration.subscription)
        } catch {
            throw SluiceError(code: .kafka, message: "cannot subscribe to \(configuration.subscription)", underlying: error)
        }
        logger.info("consumer started", metadata: [
            "kafka.group.id": "\(configuration.groupID)", "kafka.topics": "\(configuration.subscription)",
            "sluice.workers": "\(configuration.workers)", "sluice.ordering": "\(configuration.ordering)",
        ])
        engine.withMachine { $0.connected(now: clock.now()) }
        nextMetrics = clock.now()
    }

    /// The cluster's topics, asked in slices of a second so that a stop during the connect
    /// timeout is noticed; `nil` when a stop came first.
    private func topicsWhileStarting(_ source: any MessageSource) throws -> [String: Int]? {
        let deadline = clock.now() + configuration.connectTimeout.nanoseconds
        while true {
            guard case .starting = engine.withMachine({ $0.lifecycle }) else { return nil }
            let left = deadline - clock.now()
            do {
                return try source.topics(timeout: .nanoseconds(max(1_000_000, min(left, 1_000_000_000))))
            } catch where clock.now() < deadline {
                continue
            } catch {
                throw SluiceError(
                    code: .kafka,
                    message: "cannot reach Kafka at \(configuration.brokers.joined(separator: ",")) within \(configuration.connectTimeout)",
                    underlying: error)
            }
        }
    }

    // MARK: - The loop

    private func loop() throws {
        while engine.withMachine({ $0.lifecycle.isRunning }) {
            engine.beat()
            engine.releaseRetired()
            perform(engine.withMachine { $0.tick(now: clock.now()) })
            let (waitsForRoom, isPaused, nextDue, looksAhead) = engine.withMachine { (!$0.mayRefill, $0.isPaused, $0.nextDue, $0.looksAhead) }
            let now = clock.now()
            let timeout = max(0, min(Self.pollTimeout, (nextDue ?? .max) - now))
            if waitsForRoom, looksAhead, try pollBatch(timeout: 0) {
                // Polled on past the full window, for partitions that idle workers can take
                // (partition order): only what librdkafka has ready, so that room is never missed.
            } else if waitsForRoom {
                // The window is full and messages are in hand: wait for room. Paused, alternate
                // between waiting and polling, so that the group keeps this member. Looking ahead,
                // try again soon: librdkafka may have fetched more.
                let end = now + (isPaused ? timeout / 2 : looksAhead ? min(timeout, Self.lookaheadWait) : timeout)
                let refilled = engine.wait(for: .room, until: { _ in end }, done: { $0.mayRefill }, serve: perform)
                if isPaused, !refilled { try pollBatch(timeout: timeout / 2) }
            } else {
                try pollBatch(timeout: timeout)
            }
            publishMetricsIfDue()
        }
    }

    /// Waits up to `timeout` for a message, then takes whatever else is ready at once, up to a
    /// batch: the machine takes a batch under one lock. Returns whether a message came.
    ///
    /// The batch's messages share one poll time, read when the first arrived: the rest are taken
    /// within the next microseconds, and a clock read per message was 5 % of the poll thread's
    /// time with a cheap handler. Their poll → done latency counts from then, so it errs long.
    @discardableResult
    private func pollBatch(timeout: Int64) throws -> Bool {
        guard let source, let first = try poll(source, timeout: timeout) else { return false }
        let polledAt = clock.now()
        // Filled as a local (its storage borrowed from `self.batch` and given back): each append
        // to the property would be a run-time exclusivity check, one per message.
        var batch: [PolledMessage] = []
        swap(&batch, &self.batch)
        defer { swap(&batch, &self.batch) }
        batch.removeAll(keepingCapacity: true)
        batch.append(PolledMessage(first, polledAt: polledAt))
        while batch.count < maxBatch, let next = try poll(source, timeout: 0) {
            batch.append(PolledMessage(next, polledAt: polledAt))
        }
        perform(engine.withMachine { $0.polled(batch, now: clock.now()) })
        return true
    }

    private func poll(_ source: any MessageSource, timeout: Int64) throws -> KafkaMessage? {
        do {
            return try source.poll(timeout: timeout == 0 ? .zero : .nanoseconds(timeout))
        } catch let error as KafkaError where !error.isFatal {
            logger.warning("consumer error", metadata: error.loggingMetadata)
            return nil
        }
    }

    /// Carries out what the machine decided: the source's part here, the rest by the engine.
    private func perform(_ actions: EngineActions) {
        if let source {
            if !actions.pause.isEmpty { act("pausing", actions.pause) { try source.pause(actions.pause) } }
            if !actions.resume.isEmpty { act("resuming", actions.resume) { try source.resume(actions.resume) } }
            if let commit = actions.commit { commitAsync(commit, source) }
        }
        engine.perform(actions)
    }

    private func act(_ what: String, _ partitions: [TopicPartition], _ body: () throws -> Void) {
        do {
            try body()
        } catch {
            logger.warning("\(what) partitions failed", metadata: ["kafka.error": "\(error)", "kafka.partitions": "\(partitions.compactDescription)"])
        }
    }

    // MARK: - Commits

    private func commitAsync(_ request: CommitRequest, _ source: any MessageSource) {
        do {
            try source.commitAsync(request.offsets, id: request.id)
        } catch {
            committed(id: request.id, error: Self.kafkaError(error))
        }
    }

    /// A source's error as a ``KafkaError`` (sources throw nothing else; anything that is not one
    /// counts as a permanent failure).
    private static func kafkaError(_ error: any Error) -> KafkaError {
        error as? KafkaError ?? KafkaError(code: .invalidArgument, message: "\(error)")
    }

    /// An asynchronous commit was answered (inside poll, on this thread).
    private func committed(id: UInt64, error: KafkaError?) {
        let latency = engine.withMachine { $0.asyncCommitAnswered(id, error: error, now: clock.now()) }
        if let latency { engine.metrics.recordCommit(latency) }
        if let error {
            logger.warning("commit failed; it is retried", metadata: ["kafka.error": "\(error)"])
        }
    }

    /// Commits synchronously, trying again on retriable failures until `deadline` (asked of the
    /// machine each time: an immediate stop shortens it). Between tries it serves the source's
    /// events (outside the close), which also spaces the tries.
    private func commitSync(_ request: CommitRequest, until deadline: Int64) {
        guard let source else { return }
        let cutoff = { [engine] in min(deadline, engine.withMachine { $0.commitCutoff }) }
        var attempt = 0
        while true {
            attempt += 1
            let sent = clock.now()
            var failure: KafkaError?
            do {
                try source.commitSync(request.offsets, remaining: { [clock] in .nanoseconds(cutoff() - clock.now()) })
                engine.metrics.recordCommit(.nanoseconds(clock.now() - sent))
            } catch {
                failure = Self.kafkaError(error)
            }
            let until = cutoff()  // outside the lock: it takes it
            let decision = engine.withMachine {
                $0.syncCommitAnswered(request, error: failure, attempt: attempt, deadline: until, now: clock.now())
            }
            guard let failure else {
                logger.debug("committed \(request.offsets)")
                return
            }
            guard decision == .retry else {
                let refused = failure.isRebalanceRefusal ? "commit refused while the group rebalances" : "commit failed"
                logger.warning("\(refused)", metadata: ["kafka.error": "\(failure)", "kafka.offsets": "\(request.offsets)"])
                return
            }
            logger.info("commit failed, retrying", metadata: ["kafka.error": "\(failure)", "attempt": "\(attempt)"])
            if case .closing = engine.withMachine({ $0.lifecycle }) {
                let until = min(clock.now() + Self.pollTimeout, cutoff())
                _ = engine.wait(for: .drain(nil), until: { _ in until }, done: { _ in false }, serve: engine.perform)
            } else {
                do { try pollBatch(timeout: Self.pollTimeout) } catch { logger.warning("polling between commit tries failed: \(error)") }
            }
        }
    }

    private func kafkaError(_ error: KafkaError) {
        if error.isFatal {
            logger.error("fatal Kafka error", metadata: error.loggingMetadata)
            engine.handle { $0.failed(SluiceError(code: .kafka, message: "fatal Kafka error", underlying: error), now: clock.now()) }
        } else {
            logger.warning("Kafka error", metadata: error.loggingMetadata)
        }
    }

    // MARK: - Rebalances

    /// A rebalance (inside poll, on this thread), before the source changes the assignment.
    private func rebalanced(_ event: KafkaRebalanceEvent) {
        switch event.kind {
        case .assigned:
            perform(engine.withMachine { $0.assigned(event.partitions, now: clock.now()) })
            logger.info("partitions assigned", metadata: ["kafka.partitions": "\(event.partitions.compactDescription)"])
            readFinishedOffsets(of: event.partitions)
        default:
            revoke(Set(event.partitions), lost: event.kind == .lost)
        }
    }

    /// Reads the newly assigned partitions' committed offsets with their metadata, so that offsets
    /// finished before (listed there) are skipped. Before the assignment is applied, so before
    /// any of their messages is fetched. A failure costs only replay: they are handled again.
    private func readFinishedOffsets(of partitions: [TopicPartition]) {
        guard configuration.commitMetadata, !partitions.isEmpty, let source else { return }
        do {
            let committed = try source.committed(partitions, timeout: Self.committedReadTimeout)
            perform(engine.withMachine { $0.committedRead(committed, now: clock.now()) })
        } catch {
            logger.warning(
                "cannot read the committed offsets' metadata; messages finished before the rebalance or restart are handled again",
                metadata: ["kafka.error": "\(error)", "kafka.partitions": "\(partitions.compactDescription)"])
        }
    }

    /// How long reading committed metadata at an assignment may hold the rebalance up.
    private static let committedReadTimeout = Duration.seconds(5)

    /// Drops the revoked partitions' queued work, drains their running handlers, commits their
    /// commit points synchronously, and forgets them.
    private func revoke(_ partitions: Set<TopicPartition>, lost: Bool) {
        let plan = engine.withMachine { $0.revocationBegan(partitions, lost: lost, now: clock.now()) }
        if let drainDeadline = plan.drainDeadline {
            let drained = engine.wait(
                for: .drain(partitions), until: { min(drainDeadline, $0.commitCutoff) },
                done: { !$0.isRunning(any: partitions) || $0.lifecycle.isImmediate }, serve: perform)
            if !drained {
                logger.warning(
                    "handlers of revoked partitions still running after the drain timeout; their messages will be handled again by the new owner",
                    metadata: ["kafka.partitions": "\(partitions.compactDescription)"])
            }
        }
        if let commitDeadline = plan.commitDeadline, let request = engine.withMachine({ $0.syncCommit(of: partitions) }) {
            commitSync(request, until: commitDeadline)
        }
        perform(engine.withMachine { $0.revocationEnded(partitions, lost: lost, now: clock.now()) })
        logger.info(lost ? "partitions lost" : "partitions revoked", metadata: ["kafka.partitions": "\(partitions.compactDescription)"])
    }

    // MARK: - Shutdown

    private func shutDown() {
        guard let source else { return }
        if let drainDeadline = engine.withMachine({ $0.beginShutdown(now: clock.now()) }) {
            logger.info("stopping: draining in-flight handlers", metadata: [
                "sluice.inflight.messages": "\(engine.withMachine { $0.window.count })",
            ])
            let drained = engine.wait(
                for: .drain(nil), until: { min(drainDeadline, $0.commitCutoff) },
                done: { $0.totalRunning == 0 || $0.lifecycle.isImmediate }, serve: perform)
            if !drained {
                logger.warning(
                    "handlers still running after the drain timeout; committing what is done",
                    metadata: ["kafka.partitions": "\(engine.withMachine { $0.running.keys.compactDescription })"])
            }
        }
        if let request = engine.withMachine({ $0.drainEnded(now: clock.now()) }) {
            commitSync(request, until: engine.withMachine { $0.commitCutoff })
        }
        publishMetrics(source)
        publish(nil)  // the owner keeps its last view of the partitions, before close revokes them
        do {
            try source.close(remaining: { [engine, clock] in .nanoseconds((engine.withMachine { $0.closeDeadline } ?? 0) - clock.now()) })
        } catch {
            logger.warning("closing the consumer failed", metadata: ["kafka.error": "\(error)"])
        }
        self.source = nil
        publishMetrics(nil)  // the assignment is gone: its lag gauges fall to 0
        logger.info("consumer stopped")
    }

    // MARK: - Metrics

    private func publishMetricsIfDue() {
        let now = clock.now()
        guard engine.metrics.isEnabled, now >= nextMetrics else { return }
        nextMetrics = now + Self.metricsInterval
        publishMetrics(source)
    }

    /// Publishes the engine's counts, the window, and each assigned partition's lag.
    private func publishMetrics(_ source: (any MessageSource)?) {
        guard engine.metrics.isEnabled else { return }
        var snapshot = engine.withMachine { EngineMetrics.Snapshot($0) }
        snapshot.fetcherWakeUps = source?.fetcherWakeUps
        for (tp, position) in snapshot.lag {
            if let high = source?.cachedHighWatermark(of: tp) {
                snapshot.lag[tp] = max(0, high - position)
            } else {
                snapshot.lag[tp] = nil
            }
        }
        engine.metrics.publish(snapshot)
    }
}

extension KafkaError {
    /// The error, and its topic, partition and offset where known, as log metadata.
    var loggingMetadata: Logger.Metadata {
        var metadata: Logger.Metadata = ["kafka.error": "\(self)"]
        if let topic { metadata["kafka.topic"] = "\(topic)" }
        if let partition { metadata["kafka.partition"] = "\(partition)" }
        if let offset { metadata["kafka.offset"] = "\(offset)" }
        return metadata
    }
}
