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
internal import _SluiceTime

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
    private let makeSource: MessageSourceFactory
    /// The source while it runs, for watermark look-ups from other threads.
    private let source = Mutex<(any MessageSource)?>(nil)
    /// Each partition's last known log end offset.
    private let highWatermarks = Mutex<[TopicPartition: Int64]>([:])
    /// The partitions as they were just before the consumer closed (and gave them up).
    private let finalPartitions = Mutex<[SluiceStatistics.Partition]?>(nil)

    /// The configuration the consumer runs with.
    public var configuration: SluiceConfiguration { engine.configuration }

    /// Creates a consumer running a synchronous, CPU-bound handler on dedicated worker threads.
    /// - Throws: ``SluiceError`` naming a bad configuration value.
    public convenience init(
        configuration: SluiceConfiguration,
        handler: some MessageHandler,
        logger: Logger = Logger(label: "sluice")
    ) throws {
        try self.init(configuration: configuration, single: .sync(handler), isolation: nil, logger: logger)
    }

    /// Creates a consumer running an asynchronous, I/O-bound handler under Swift concurrency.
    /// ``SluiceConfiguration/workers`` is not used; the window bounds concurrency.
    /// - Throws: ``SluiceError`` naming a bad configuration value.
    public convenience init(
        configuration: SluiceConfiguration,
        asyncHandler: some AsyncMessageHandler,
        logger: Logger = Logger(label: "sluice")
    ) throws {
        try self.init(configuration: configuration, single: .async(asyncHandler), isolation: nil, logger: logger)
    }

    /// Creates a consumer running a synchronous batch handler on dedicated worker threads, with
    /// batches of at most ``SluiceConfiguration/maxBatchSize`` messages and
    /// ``SluiceConfiguration/maxBatchBytes``, each waiting at most ``SluiceConfiguration/maxBatchDelay``.
    /// - Throws: ``SluiceError`` naming a bad configuration value.
    public convenience init(
        configuration: SluiceConfiguration,
        batchHandler: some BatchMessageHandler,
        logger: Logger = Logger(label: "sluice")
    ) throws {
        try self.init(configuration: configuration, single: .batch(batchHandler), isolation: nil, logger: logger)
    }

    /// Creates a consumer running an asynchronous batch handler under Swift concurrency.
    /// - Throws: ``SluiceError`` naming a bad configuration value.
    public convenience init(
        configuration: SluiceConfiguration,
        asyncBatchHandler: some AsyncBatchMessageHandler,
        logger: Logger = Logger(label: "sluice")
    ) throws {
        try self.init(configuration: configuration, single: .asyncBatch(asyncBatchHandler), isolation: nil, logger: logger)
    }

    /// Creates a consumer serving ``SluiceConfiguration/routes``: each route's topics go to its
    /// own handler, with its own ordering, failure policy and share of the window.
    /// - Throws: ``SluiceError`` naming a bad configuration value, or when there are no routes
    ///   or a route's handler needs worker processes (use ``init(configuration:isolation:logger:)``).
    public convenience init(configuration: SluiceConfiguration, logger: Logger = Logger(label: "sluice")) throws {
        guard !configuration.routes.isEmpty else {
            throw SluiceError.configuration("no routes given: give SluiceConfiguration.routes, or a handler")
        }
        try self.init(configuration: configuration, single: nil, isolation: nil, logger: logger)
    }

    /// Creates a consumer running a synchronous handler in supervised worker processes
    /// (``ProcessIsolation``): one per ``SluiceConfiguration/workers``, started before this returns.
    /// The workers serve a ``BatchMessageHandler`` when ``ProcessIsolation/handlesBatches``. With
    /// ``SluiceConfiguration/routes``, the routes whose handler is
    /// ``SluiceHandler/isolated(job:batches:)`` run in these workers, the others as usual.
    /// - Throws: ``SluiceError`` naming a bad configuration value, or when the workers do not start.
    public convenience init(
        configuration: SluiceConfiguration,
        isolation: ProcessIsolation,
        logger: Logger = Logger(label: "sluice")
    ) throws {
        let single: SluiceHandler? = configuration.routes.isEmpty
            ? .isolated(job: isolation.handlesBatches ? ProcessIsolation.batchJob : ProcessIsolation.job, batches: isolation.handlesBatches)
            : nil
        try self.init(configuration: configuration, single: single, isolation: isolation, logger: logger)
    }

    private convenience init(configuration: SluiceConfiguration, single: SluiceHandler?, isolation: ProcessIsolation?, logger: Logger) throws {
        try configuration.validate()
        let handlers = single.map { [$0] } ?? configuration.routes.map(\.handler)
        var pool: ProcessPoolExecutor?
        if let isolation, handlers.contains(where: { if case .isolated = $0.kind { true } else { false } }) {
            var settings = isolation.pool
            settings.workers = configuration.workers
            if handlers.contains(where: \.handlesBatches) {
                let largest = ([configuration.maxBatchSize] + configuration.routes.compactMap(\.maxBatchSize)).max()!
                settings.maximumResultBytes = max(settings.maximumResultBytes, WireMessage.maximumOutcomesBytes(count: largest))
            }
            do {
                pool = try ProcessPoolExecutor(configuration: settings, logger: logger)
            } catch {
                throw SluiceError(code: .configuration, message: "the handler's worker processes did not start", underlying: error)
            }
        }
        let invokers = try HandlerInvoker.make(handlers, configuration: configuration, pool: pool, inline: false)
        try self.init(
            configuration: configuration, handlers: invokers, source: KafkaMessageSource.factory(logger: logger),
            deadLetters: KafkaDeadLetterSink.factory(logger: logger), clock: SystemEngineClock(),
            seed: UInt64.random(in: 0 ... .max), runsInline: false, logger: logger)
    }

    /// Creates a consumer whose handler runs on worker threads, as the public initializers make
    /// it, over any message source: `sluice bench` measures the engine alone on a synthetic one.
    package convenience init(
        configuration: SluiceConfiguration, handler: any MessageHandler, source: @escaping MessageSourceFactory, logger: Logger
    ) throws {
        try configuration.validate()
        try self.init(
            configuration: configuration,
            handlers: try HandlerInvoker.make([.sync(handler)], configuration: configuration, pool: nil, inline: false),
            source: source, deadLetters: KafkaDeadLetterSink.factory(logger: logger), clock: SystemEngineClock(),
            seed: UInt64.random(in: 0 ... .max), runsInline: false, logger: logger)
    }

    /// Creates a consumer whose synchronous handlers (per message or per batch) run on the poll
    /// thread, over any source, dead-letter sink and clock: what `SluiceTestKit` runs on an
    /// in-memory cluster and a manual clock, deterministically. `handler` is the single handler;
    /// `nil` serves ``SluiceConfiguration/routes``.
    package convenience init(
        configuration: SluiceConfiguration, inlineHandler: SluiceHandler?, source: @escaping MessageSourceFactory,
        deadLetters: DeadLetterSinkFactory, clock: any EngineClock, seed: UInt64, logger: Logger
    ) throws {
        try configuration.validate()
        let handlers = inlineHandler.map { [$0] } ?? configuration.routes.map(\.handler)
        try self.init(
            configuration: configuration, handlers: try HandlerInvoker.make(handlers, configuration: configuration, pool: nil, inline: true),
            source: source, deadLetters: deadLetters, clock: clock, seed: seed, runsInline: true, logger: logger)
    }

    /// Creates a consumer over any source, dead-letter sink and clock, with one handler per route
    /// (one in all without routes).
    ///
    /// - Parameters:
    ///   - runsInline: Handler calls complete on the thread that starts them (an inline executor);
    ///     the engine then runs them one after another instead of recursively.
    private init(
        configuration: SluiceConfiguration, handlers: [HandlerInvoker], source: @escaping MessageSourceFactory,
        deadLetters: DeadLetterSinkFactory, clock: any EngineClock, seed: UInt64, runsInline: Bool, logger: Logger
    ) throws {
        let sink = configuration.usesDeadLetters ? try deadLetters(configuration) : nil
        self.engine = ConsumerEngine(
            configuration: configuration, handlers: handlers, deadLetters: sink, clock: clock, seed: seed,
            runsInline: runsInline, logger: logger)
        self.makeSource = source
    }

    /// Consumes until stopped, then leaves the group and returns.
    ///
    /// A graceful shutdown (swift-service-lifecycle) or ``stop(immediately:)`` drains in-flight
    /// work up to the drain timeout and commits; task cancellation commits what is done without
    /// waiting (the second-signal behaviour).
    ///
    /// - Throws: ``SluiceError`` when the brokers cannot be reached, a topic does not exist, a
    ///   handler failed under the `stop` policy, a dead-letter write cannot succeed, or librdkafka
    ///   reported a fatal error. Offsets committed before that are exactly those of completed work.
    public func run() async throws {
        switch engine.withMachine({ $0.startRequested() }) {
        case .alreadyStarted:
            throw SluiceError(code: .configuration, message: "a SluiceConsumer runs once; create a new one to run again")
        case .returnAtOnce:
            return
        case .start:
            break
        }
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await runPollThread()
            } onGracefulShutdown: { [self] in
                stop(immediately: false)
            }
        } onCancel: { [self] in
            stop(immediately: true)
        }
    }

    private func runPollThread() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let thread = Thread { [self] in
                // Named from inside: on Linux a name set before `start()` never reaches the
                // OS thread, and `top -H` or `perf` should show which thread polls.
                Thread.current.name = "sluice-poll"
                let loop = PollLoop(engine: engine, makeSource: makeSource) { source in
                    if source == nil {
                        // Closing: keep the last view of the partitions for a final summary.
                        let last = self.liveStatistics.partitions
                        self.finalPartitions.withLock { $0 = last }
                    }
                    self.source.withLock { $0 = source }
                }
                let failure = loop.run()
                let immediately = failure == nil && engine.withMachine { $0.lifecycle.isImmediate }
                engine.shutDownHelpers(immediately: immediately, timeout: immediately ? .milliseconds(200) : .seconds(1))
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
    /// up to the drain timeout, commit, close. Immediately: commit what is done and close within
    /// ``SluiceConfiguration/immediateStopBudget``, even in the middle of a graceful stop.
    public func stop(immediately: Bool = false) {
        engine.handle { [engine] in $0.stopRequested(immediately ? .immediate : .graceful, now: engine.clock.now()) }
    }

    /// The worker processes' counts (started, crashed, timed out, recycled), when the handler
    /// runs in worker processes (``ProcessIsolation``); `nil` otherwise.
    public var workerProcesses: ProcessPoolStatistics? {
        engine.handlers.lazy.compactMap(\.pool).first?.statistics
    }

    /// Liveness and readiness for probes: live while the consumer loop turns within
    /// `livenessTTL` and not every worker thread is stuck in one call for longer; ready once the
    /// group assigned this member its partitions, until it stops.
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
        guard live.partitions.isEmpty, let last = finalPartitions.withLock({ $0 }) else { return live }
        var result = live
        let committed = engine.withMachine { $0.lastCommitted }
        result.partitions = last.map { partition in
            var partition = partition
            partition.outstanding = 0
            if let offset = committed[partition.topicPartition] { partition.committed = offset }
            return partition
        }
        return result
    }

    private var liveStatistics: SluiceStatistics {
        let clock = engine.clock
        var snapshot = engine.withMachine { SluiceStatistics($0, clock: clock) }
        let source = source.withLock { $0 }
        highWatermarks.withLock { known in
            for index in snapshot.partitions.indices {
                let tp = snapshot.partitions[index].topicPartition
                if let high = source?.cachedHighWatermark(of: tp) { known[tp] = high }
                snapshot.partitions[index].highWatermark = known[tp]
            }
        }
        return snapshot
    }
}
