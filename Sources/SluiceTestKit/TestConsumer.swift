//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

public import Logging
public import Sluice
internal import Foundation
internal import Synchronization

/// Runs a handler with its ``SluiceConfiguration`` against an ``InMemoryKafka``, through the same
/// engine as a real consumer (window, ordering, retries, dead letters, commits, rebalances, stop),
/// deterministically and in virtual time: no broker, no threads racing, no sleeps.
///
/// The handler runs on the consumer's poll thread, one call at a time, and time moves only on the
/// cluster's ``InMemoryKafka/clock``: when the consumer would wait, or when a handler advances it.
///
/// ```swift
/// let kafka = InMemoryKafka()
/// kafka.createTopic("orders")
/// kafka.createTopic("orders.dlq")
/// for id in 0..<10 { kafka.produce(topic: "orders", value: "\(id)") }
///
/// var config = kafka.configuration(topics: ["orders"])
/// config.failurePolicy = .deadLetter()
/// let consumer = try TestConsumer(configuration: config, kafka: kafka, handler: OrderHandler())
/// let run = await consumer.run()
///
/// #expect(run.failure == nil)
/// #expect(kafka.committedOffsets[TopicPartition(topic: "orders", partition: 0)] == 10)
/// #expect(kafka.messages(in: "orders.dlq").count == 1)
/// ```
public final class TestConsumer: Sendable {
    /// When ``run(until:timeLimit:)`` stops the consumer (gracefully).
    public struct StopCondition: Sendable {
        fileprivate let isMet: @Sendable (TestConsumer, _ idle: Bool) -> Bool

        /// Every partition of the subscribed topics is committed up to its log end offset, and
        /// nothing is left to poll.
        public static let caughtUp = StopCondition { consumer, idle in idle && consumer.isCaughtUp }

        /// At least `count` messages are done (handled, skipped or dead-lettered).
        public static func completed(_ count: Int) -> StopCondition {
            StopCondition { consumer, _ in consumer.consumer.statistics.completed >= count }
        }

        /// `duration` of the clock has passed since the run began.
        public static func after(_ duration: Duration) -> StopCondition {
            StopCondition { consumer, _ in consumer.elapsed >= duration }
        }

        /// `predicate` holds for the consumer's statistics.
        public static func when(_ predicate: @escaping @Sendable (SluiceStatistics) -> Bool) -> StopCondition {
            StopCondition { consumer, _ in predicate(consumer.consumer.statistics) }
        }
    }

    /// How a run ended.
    public struct Run: Sendable {
        /// Whether the stop condition was met (`false`: the consumer stopped on its own, on a
        /// failure, or the time limit passed).
        public var metCondition: Bool
        /// The error that stopped the consumer, if any (failure policy `stop`, a dead-letter write
        /// that cannot succeed, the dead-letter guard).
        public var failure: SluiceError?
        /// The consumer's statistics after it stopped.
        public var statistics: SluiceStatistics
        /// The group's committed offsets after it stopped.
        public var committed: [TopicPartition: Int64]
        /// How much of the clock the run took.
        public var elapsed: Duration
    }

    private struct State {
        var condition: StopCondition?
        var startedAt = ManualClock.Instant(offset: .zero)
        var deadline = ManualClock.Instant(offset: .zero)
        var metCondition = false
        var stopRequested = false
    }

    /// The cluster it reads from and commits to.
    public let kafka: InMemoryKafka
    /// The consumer under test, for its statistics, health or an explicit stop.
    public let consumer: SluiceConsumer
    private let state = Mutex(State())
    private let configuration: SluiceConfiguration

    /// A consumer running a synchronous handler.
    /// - Throws: ``SluiceError`` naming a bad configuration value.
    public convenience init(
        configuration: SluiceConfiguration, kafka: InMemoryKafka, handler: some MessageHandler,
        logger: Logger = TestConsumer.quietLogger, seed: UInt64 = 1
    ) throws {
        try self.init(configuration: configuration, kafka: kafka, inlineHandler: .sync(handler), logger: logger, seed: seed)
    }

    /// A consumer running an asynchronous handler (each call awaited before the next).
    /// - Throws: ``SluiceError`` naming a bad configuration value.
    public convenience init(
        configuration: SluiceConfiguration, kafka: InMemoryKafka, asyncHandler: some AsyncMessageHandler,
        logger: Logger = TestConsumer.quietLogger, seed: UInt64 = 1
    ) throws {
        try self.init(configuration: configuration, kafka: kafka, inlineHandler: .sync(AwaitingHandler(handler: asyncHandler)), logger: logger, seed: seed)
    }

    /// A consumer running a synchronous batch handler; batches form as in production, by
    /// ``SluiceConfiguration/maxBatchSize``, bytes and ``SluiceConfiguration/maxBatchDelay`` on the
    /// test clock.
    /// - Throws: ``SluiceError`` naming a bad configuration value.
    public convenience init(
        configuration: SluiceConfiguration, kafka: InMemoryKafka, batchHandler: some BatchMessageHandler,
        logger: Logger = TestConsumer.quietLogger, seed: UInt64 = 1
    ) throws {
        try self.init(configuration: configuration, kafka: kafka, inlineHandler: .batch(batchHandler), logger: logger, seed: seed)
    }

    /// A consumer running an asynchronous batch handler (each call awaited before the next).
    /// - Throws: ``SluiceError`` naming a bad configuration value.
    public convenience init(
        configuration: SluiceConfiguration, kafka: InMemoryKafka, asyncBatchHandler: some AsyncBatchMessageHandler,
        logger: Logger = TestConsumer.quietLogger, seed: UInt64 = 1
    ) throws {
        try self.init(
            configuration: configuration, kafka: kafka, inlineHandler: .batch(AwaitingBatchHandler(handler: asyncBatchHandler)),
            logger: logger, seed: seed)
    }

    /// A consumer serving ``SluiceConfiguration/routes``, each route's handler on the poll thread
    /// (asynchronous ones awaited there).
    /// - Throws: ``SluiceError`` naming a bad configuration value, or a route whose handler runs in
    ///   worker processes (not available in tests).
    public convenience init(configuration: SluiceConfiguration, kafka: InMemoryKafka, logger: Logger = TestConsumer.quietLogger, seed: UInt64 = 1) throws {
        var configuration = configuration
        for index in configuration.routes.indices {
            configuration.routes[index].handler = try Self.inline(configuration.routes[index].handler, route: configuration.routes[index].name)
        }
        try self.init(configuration: configuration, kafka: kafka, inlineHandler: nil, logger: logger, seed: seed)
    }

    /// `handler` as one that runs on the calling thread.
    private static func inline(_ handler: SluiceHandler, route: String) throws -> SluiceHandler {
        switch handler.kind {
        case .sync, .batch: return handler
        case .async(let handler): return .sync(AwaitingHandler(handler: handler))
        case .asyncBatch(let handler): return .batch(AwaitingBatchHandler(handler: handler))
        case .isolated:
            throw SluiceError(code: .configuration, message: "route '\(route)' runs in worker processes, which the test kit does not start")
        }
    }

    private init(configuration: SluiceConfiguration, kafka: InMemoryKafka, inlineHandler: SluiceHandler?, logger: Logger, seed: UInt64) throws {
        self.kafka = kafka
        self.configuration = configuration
        let box = WeakBox()
        self.consumer = try SluiceConsumer(
            configuration: configuration, inlineHandler: inlineHandler,
            source: { configuration, events in
                InMemoryConsumer(kafka: kafka, configuration: configuration, events: events) { idle in box.value?.check(idle: idle) }
            },
            deadLetters: { InMemoryDeadLetterSink(kafka: kafka, configuration: $0) },
            clock: ManualEngineClock(clock: kafka.clock), seed: seed, logger: logger)
        box.value = self
    }

    /// Logs warnings and above only.
    public static var quietLogger: Logger {
        var logger = Logger(label: "sluice.test")
        logger.logLevel = .warning
        return logger
    }

    /// Runs the consumer until `condition` holds (then stops it gracefully: drain, commit, close),
    /// until it stops on its own, or until `timeLimit` of the clock has passed.
    public func run(until condition: StopCondition = .caughtUp, timeLimit: Duration = .seconds(3_600)) async -> Run {
        let start = kafka.clock.now
        state.withLock { state in
            state.condition = condition
            state.startedAt = start
            state.deadline = start.advanced(by: timeLimit)
        }
        var failure: SluiceError?
        do {
            try await consumer.run()
        } catch let error as SluiceError {
            failure = error
        } catch {
            failure = SluiceError(code: .kafka, message: "the consumer failed", underlying: error)
        }
        let met = state.withLock { $0.metCondition }
        return Run(
            metCondition: met, failure: failure, statistics: consumer.statistics, committed: kafka.committedOffsets,
            elapsed: start.duration(to: kafka.clock.now))
    }

    /// How much of the clock has passed since the run began.
    private var elapsed: Duration {
        state.withLock { $0.startedAt }.duration(to: kafka.clock.now)
    }

    /// The subscribed topics: ``SluiceConfiguration/topics``, or those the routes match.
    private var topics: [String] {
        guard !configuration.routes.isEmpty else { return configuration.topics }
        return kafka.topicNames.filter { topic in configuration.routes.contains { $0.matches(topic) } }
    }

    /// Every partition of the subscribed topics committed up to its end.
    private var isCaughtUp: Bool {
        let committed = kafka.committedOffsets
        return topics.allSatisfy { topic in
            kafka.endOffsets(of: topic).allSatisfy { tp, end in end == 0 || committed[tp] == end }
        }
    }

    /// Before each poll of the consumer (on its thread): stops it once the condition holds or the
    /// time is up.
    fileprivate func check(idle: Bool) {
        let (condition, deadline, alreadyStopping) = state.withLock { ($0.condition, $0.deadline, $0.stopRequested) }
        guard !alreadyStopping, let condition else { return }
        let met = condition.isMet(self, idle)
        guard met || kafka.clock.now >= deadline else { return }
        state.withLock { state in
            state.metCondition = met
            state.stopRequested = true
        }
        consumer.stop()
    }
}

/// Lets the source reach its ``TestConsumer`` without a reference cycle.
private final class WeakBox: @unchecked Sendable {
    // @unchecked Sendable: set once, in the test consumer's init, before the consumer runs.
    weak var value: TestConsumer?
}

/// Runs an asynchronous batch handler's call to completion on the calling thread.
private struct AwaitingBatchHandler: BatchMessageHandler {
    let handler: any AsyncBatchMessageHandler

    func handle(_ messages: [KafkaMessage], context: BatchContext) throws -> BatchOutcome {
        let outcome = Mutex<Result<BatchOutcome, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            let result: Result<BatchOutcome, any Error>
            do {
                result = .success(try await handler.handle(messages, context: context))
            } catch {
                result = .failure(error)
            }
            outcome.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        return try outcome.withLock { $0 }!.get()
    }
}

/// Runs an asynchronous handler's call to completion on the calling thread (the consumer's poll
/// thread, never Swift's cooperative pool), so that a test run stays one call at a time.
private struct AwaitingHandler: MessageHandler {
    let handler: any AsyncMessageHandler

    func handle(_ message: KafkaMessage, context: HandlerContext) throws {
        let outcome = Mutex<Result<Void, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            let result: Result<Void, any Error>
            do {
                try await handler.handle(message, context: context)
                result = .success(())
            } catch {
                result = .failure(error)
            }
            outcome.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        try outcome.withLock { $0 }!.get()
    }
}
