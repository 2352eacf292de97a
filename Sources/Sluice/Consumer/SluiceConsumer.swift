//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import Foundation
public import Logging
public import ServiceLifecycle
internal import SluiceFutures
public import SluiceProcessPool
internal import Synchronization

/// A Kafka consumer that runs a handler per message with a bounded number in flight and commits
/// offsets as handlers complete, never past an unfinished one.
///
/// ``run()`` polls on a dedicated thread, admits each message into the in-flight window (bounded
/// by ``SluiceConfiguration/maxInFlightMessages`` and ``SluiceConfiguration/maxInFlightBytes``),
/// runs synchronous handlers on ``SluiceConfiguration/workers`` dedicated threads (asynchronous ones
/// under Swift concurrency), keeps the configured ordering, and commits each partition's commit
/// point: the lowest offset not yet done. Revoked partitions are drained and committed before the
/// rebalance proceeds; a stop drains, commits and leaves the group.
///
/// It is a swift-service-lifecycle `Service`: in a `ServiceGroup`, SIGTERM/SIGINT shut it down
/// gracefully.
///
/// ```swift
/// let consumer = try SluiceConsumer(
///     configuration: SluiceConfiguration(brokers: ["127.0.0.1:9092"], groupID: "g", topics: ["orders"]),
///     handler: ClosureMessageHandler { message, _ in _ = message.value.count })
/// let group = ServiceGroup(services: [consumer], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
/// try await group.run()
/// ```
///
/// Delivery is at-least-once: after a crash, at most the messages that were in the window are
/// handled again; none is skipped.
public final class SluiceConsumer: Service, Sendable {
    private let engine: ConsumerEngine
    private let started = Mutex(false)
    /// The Kafka consumer while it runs, for watermark look-ups from other threads.
    private let kafka = Mutex<KafkaConsumer?>(nil)
    /// Each partition's last known log end offset.
    private let highWatermarks = Mutex<[TopicPartition: Int64]>([:])
    /// The partitions as they were just before the consumer closed (and gave them up).
    private let finalStatistics = Mutex<SluiceStatistics?>(nil)

    /// The configuration the consumer runs with.
    public var configuration: SluiceConfiguration { engine.configuration }

    /// Creates a consumer running a synchronous, CPU-bound handler on dedicated worker threads.
    /// - Throws: ``SluiceError`` naming a bad configuration value.
    public init(
        configuration: SluiceConfiguration,
        handler: some MessageHandler,
        logger: Logger = Logger(label: "sluice")
    ) throws {
        try configuration.validate()
        let executor = ThreadPoolExecutor(workers: configuration.workers, name: "sluice-worker")
        self.engine = ConsumerEngine(
            configuration: configuration, handler: .sync(handler, executor), deadLetters: try Self.deadLetterWriter(configuration, logger),
            logger: logger)
    }

    /// Creates a consumer running an asynchronous, I/O-bound handler under Swift concurrency.
    /// ``SluiceConfiguration/workers`` is not used; the window bounds concurrency.
    /// - Throws: ``SluiceError`` naming a bad configuration value.
    public init(
        configuration: SluiceConfiguration,
        asyncHandler: some AsyncMessageHandler,
        logger: Logger = Logger(label: "sluice")
    ) throws {
        try configuration.validate()
        self.engine = ConsumerEngine(
            configuration: configuration, handler: .async(asyncHandler), deadLetters: try Self.deadLetterWriter(configuration, logger),
            logger: logger)
    }

    /// Creates a consumer running a synchronous handler in supervised worker processes
    /// (``ProcessIsolation``): one per ``SluiceConfiguration/workers``, started before this returns.
    /// - Throws: ``SluiceError`` naming a bad configuration value, or when the workers do not start.
    public init(
        configuration: SluiceConfiguration,
        isolation: ProcessIsolation,
        logger: Logger = Logger(label: "sluice")
    ) throws {
        try configuration.validate()
        var pool = isolation.pool
        pool.workers = configuration.workers
        let executor: ProcessPoolExecutor
        do {
            executor = try ProcessPoolExecutor(configuration: pool, logger: logger)
        } catch {
            throw SluiceError(code: .configuration, message: "the handler's worker processes did not start", underlying: error)
        }
        self.engine = ConsumerEngine(
            configuration: configuration, handler: .process(executor),
            deadLetters: try Self.deadLetterWriter(configuration, logger), logger: logger)
    }

    /// The dead-letter producer, for the dead-letter policy.
    private static func deadLetterWriter(_ configuration: SluiceConfiguration, _ logger: Logger) throws -> DeadLetterWriter? {
        guard configuration.failurePolicy.deadLetterTopicTemplate != nil else { return nil }
        return try DeadLetterWriter(configuration: configuration, logger: logger)
    }

    /// Consumes until stopped, then leaves the group and returns.
    ///
    /// A graceful shutdown (swift-service-lifecycle) or ``stop(immediately:)`` drains in-flight
    /// work up to the drain timeout and commits; task cancellation commits what is done without
    /// waiting (the second-signal behaviour).
    ///
    /// - Throws: ``SluiceError`` when the brokers cannot be reached, a topic does not exist, a
    ///   handler failed under the `stop` policy, or librdkafka reported a fatal error. Offsets
    ///   committed before that are exactly those of completed work.
    public func run() async throws {
        let alreadyStarted = started.withLock { started in
            defer { started = true }
            return started
        }
        guard !alreadyStarted else {
            throw SluiceError(code: .configuration, message: "a SluiceConsumer runs once; create a new one to run again")
        }
        engine.setLifecycle(1)
        defer { engine.setLifecycle(2) }
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await runPollThread()
            } onGracefulShutdown: { [engine] in
                engine.requestStop(.graceful)
            }
        } onCancel: { [engine] in
            engine.requestStop(.immediate)
        }
    }

    private func runPollThread() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let thread = Thread { [self] in
                    // Named from inside: on Linux a name set before `start()` never reaches the
                    // OS thread, and `top -H` or `perf` should show which thread polls.
                    Thread.current.name = "sluice-poll"
                    let loop = PollLoop(engine: engine) { consumer in
                        if consumer == nil {
                            // Closing: keep the last view of the partitions for a final summary.
                            let last = self.statistics
                            self.finalStatistics.withLock { $0 = last }
                        }
                        self.kafka.withLock { $0 = consumer }
                    }
                    let failure = loop.run()
                    engine.shutDownHelpers()
                    if let failure {
                        continuation.resume(throwing: failure)
                    } else {
                        continuation.resume()
                    }
                }
                thread.start()
            }
    }

    /// Asks a running consumer to stop. Gracefully: stop taking messages, finish in-flight work
    /// up to the drain timeout, commit, close. Immediately: commit what is done and close.
    public func stop(immediately: Bool = false) {
        engine.requestStop(immediately ? .immediate : .graceful)
    }

    /// The worker processes' counts (started, crashed, timed out, recycled), when the handler
    /// runs in worker processes (``ProcessIsolation``); `nil` otherwise.
    public var workerProcesses: ProcessPoolStatistics? {
        engine.workerProcesses
    }

    /// Liveness and readiness for probes: live while the consumer loop turns within
    /// `livenessTTL`; ready once the group assigned this member its partitions, until it stops.
    public func health(livenessTTL: Duration = .seconds(30)) -> SluiceHealth {
        engine.health(livenessTTL: livenessTTL)
    }

    /// Makes the consumer loop stop turning for `duration`, as a stuck loop would: for tests of
    /// liveness probes.
    func stallPollLoop(for duration: Duration) {
        engine.stallPollLoop(for: duration)
    }

    /// A snapshot of counters, the window and each assigned partition. After ``run()`` returns,
    /// the partitions are those held just before the consumer closed, with current counters.
    public var statistics: SluiceStatistics {
        let live = liveStatistics
        guard live.partitions.isEmpty, let last = finalStatistics.withLock({ $0 }) else { return live }
        var result = live
        result.partitions = last.partitions
        for index in result.partitions.indices {
            let tp = result.partitions[index].topicPartition
            result.partitions[index].outstanding = 0
            if let committed = engine.withState({ $0.lastCommitted[tp] }) { result.partitions[index].committed = committed }
        }
        return result
    }

    /// The clock instant of a ``monotonicNanos()`` reading (`nil` for 0, never read).
    private static func instant(ofMonotonicNanos nanos: Int) -> ContinuousClock.Instant? {
        guard nanos != 0 else { return nil }
        return ContinuousClock.now.advanced(by: .nanoseconds(nanos - monotonicNanos()))
    }

    private var liveStatistics: SluiceStatistics {
        var snapshot = engine.withState { state in
            SluiceStatistics(
                takenAt: .now, consumed: state.consumed, completed: state.completed, failed: state.failed,
                retried: state.retried, timedOut: state.timedOut, skipped: state.skipped,
                deadLettered: state.deadLettered, deadLettering: state.deadLettering, topics: state.topics.byTopic,
                inFlightMessages: state.window.count, inFlightBytes: state.window.bytes, isPaused: state.isPaused, pauses: state.pauses,
                rebalances: state.rebalances, commits: state.commits, commitFailures: state.commitFailures,
                firstAdmittedAt: Self.instant(ofMonotonicNanos: state.firstAdmittedAt),
                lastCompletedAt: Self.instant(ofMonotonicNanos: state.lastCompletedAt), latency: state.latency,
                partitions: state.epochs.keys.sorted().map { tp in
                    SluiceStatistics.Partition(
                        topicPartition: tp, commitPoint: state.tracker.commitPoint(of: tp),
                        committed: state.committed[tp], highWatermark: nil,
                        outstanding: state.tracker.outstanding(on: tp))
                })
        }
        let consumer = kafka.withLock { $0 }
        highWatermarks.withLock { known in
            for index in snapshot.partitions.indices {
                let tp = snapshot.partitions[index].topicPartition
                if let high = consumer?.cachedWatermarks(of: tp)?.high { known[tp] = high }
                snapshot.partitions[index].highWatermark = known[tp]
            }
        }
        return snapshot
    }
}
