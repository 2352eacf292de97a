//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

public import Logging
public import Sluice

/// A handler ready to run: per message or per batch, synchronous (CPU-bound, worker threads) or
/// asynchronous (I/O-bound, Swift concurrency).
///
/// ```swift
/// handlers.register("insert-rows", summary: "writes each batch in one insert") { setup in
///     .batch(InsertRows(table: try setup.options.string("table") ?? "events"))
/// }
/// ```
public struct RegisteredHandler: Sendable {
    enum Kind: Sendable {
        case sync(any MessageHandler)
        case async(any AsyncMessageHandler)
        case batch(any BatchMessageHandler)
        case asyncBatch(any AsyncBatchMessageHandler)
    }

    let kind: Kind

    /// A synchronous, CPU-bound handler, called per message on the worker threads.
    public static func sync(_ handler: some MessageHandler) -> RegisteredHandler {
        RegisteredHandler(kind: .sync(handler))
    }

    /// An asynchronous, I/O-bound handler, called per message under Swift concurrency.
    public static func async(_ handler: some AsyncMessageHandler) -> RegisteredHandler {
        RegisteredHandler(kind: .async(handler))
    }

    /// A synchronous batch handler, called on the worker threads with up to `--max-batch-size`
    /// messages at once; it runs in worker processes with `--isolation process`.
    public static func batch(_ handler: some BatchMessageHandler) -> RegisteredHandler {
        RegisteredHandler(kind: .batch(handler))
    }

    /// An asynchronous batch handler, called under Swift concurrency with up to
    /// `--max-batch-size` messages at once.
    public static func asyncBatch(_ handler: some AsyncBatchMessageHandler) -> RegisteredHandler {
        RegisteredHandler(kind: .asyncBatch(handler))
    }

    /// Whether it is synchronous (per message or per batch): only those run in worker processes.
    public var isSynchronous: Bool {
        switch kind {
        case .sync, .batch: true
        case .async, .asyncBatch: false
        }
    }

    /// Whether it handles batches.
    public var handlesBatches: Bool {
        switch kind {
        case .batch, .asyncBatch: true
        case .sync, .async: false
        }
    }

    /// The handler as the engine takes it (``SluiceRoute/handler``), running in this process.
    public var sluiceHandler: SluiceHandler {
        switch kind {
        case .sync(let handler): .sync(handler)
        case .async(let handler): .async(handler)
        case .batch(let handler): .batch(handler)
        case .asyncBatch(let handler): .asyncBatch(handler)
        }
    }
}

extension RegisteredHandler {
    /// A consumer running the handler in this process: on worker threads (synchronous kinds) or
    /// under Swift concurrency (asynchronous kinds).
    func makeConsumer(configuration: SluiceConfiguration, logger: Logger) throws -> SluiceConsumer {
        switch kind {
        case .sync(let handler): try SluiceConsumer(configuration: configuration, handler: handler, logger: logger)
        case .async(let handler): try SluiceConsumer(configuration: configuration, asyncHandler: handler, logger: logger)
        case .batch(let handler): try SluiceConsumer(configuration: configuration, batchHandler: handler, logger: logger)
        case .asyncBatch(let handler):
            try SluiceConsumer(configuration: configuration, asyncBatchHandler: handler, logger: logger)
        }
    }
}

/// What a handler factory gets: its options and the means to reach Kafka.
///
/// In the worker processes of `--isolation process` a factory gets the handler's options and
/// `--output-topic` only: ``brokers`` and ``kafkaProperties`` are empty there, so that Kafka
/// credentials never reach processes that run handler code (see ``isWorkerProcess``).
///
/// Its description shows secret values (sensitive `-X` properties, secret handler options) as `***`.
public struct HandlerSetup: Sendable, CustomStringConvertible, CustomReflectable {
    /// The `--handler-option key=value` settings.
    public var options: HandlerOptions
    /// The brokers the consumer reads from; empty in a worker process.
    public var brokers: [String]
    /// `--output-topic`, for handlers that write.
    public var outputTopic: String?
    /// `-X` properties, for producers the handler creates; empty in a worker process.
    public var kafkaProperties: [String: String]
    /// Whether the factory runs in a worker process of `--isolation process` (where ``brokers``
    /// and ``kafkaProperties`` are empty) rather than in the consumer.
    public var isWorkerProcess: Bool = false
    /// The runner's logger.
    public var logger: Logger

    /// Creates a setup (for tests of factories).
    public init(
        options: HandlerOptions = HandlerOptions(), brokers: [String] = [], outputTopic: String? = nil,
        kafkaProperties: [String: String] = [:], logger: Logger = Logger(label: "sluice")
    ) {
        self.options = options
        self.brokers = brokers
        self.outputTopic = outputTopic
        self.kafkaProperties = kafkaProperties
        self.logger = logger
    }

    /// The setup with sensitive `-X` properties and secret handler options shown as `***`.
    public var description: String {
        let properties = KafkaConfiguration.redacted(kafkaProperties).sorted { $0.key < $1.key }
            .map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
        return "HandlerSetup(options: \(options), brokers: \(brokers), outputTopic: \(outputTopic ?? "nil"), "
            + "kafkaProperties: [\(properties)], isWorkerProcess: \(isWorkerProcess))"
    }

    /// The same, for `dump(_:)` and debuggers.
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "options": options, "brokers": brokers, "outputTopic": outputTopic as Any,
                "kafkaProperties": KafkaConfiguration.redacted(kafkaProperties), "isWorkerProcess": isWorkerProcess,
            ])
    }

    /// `--output-topic`, or an error that names the handler needing it.
    public func requireOutputTopic(for handler: String) throws -> String {
        guard let outputTopic, !outputTopic.isEmpty else {
            throw HandlerOptions.Error(description: "handler '\(handler)' needs --output-topic")
        }
        return outputTopic
    }

    /// A producer on the same brokers with the same `-X` properties (those that apply to producers).
    public func makeProducer() throws -> KafkaProducer {
        var config = KafkaProducerConfiguration(bootstrapServers: brokers)
        config.linger = .milliseconds(2)
        for (key, value) in kafkaProperties where !Self.consumerOnlyPrefixes.contains(where: key.hasPrefix) {
            config.common.properties[key] = value
        }
        return try KafkaProducer(configuration: config, logger: logger)
    }

    private static let consumerOnlyPrefixes = [
        "group.", "fetch.", "queued.", "enable.auto.", "auto.", "session.timeout", "max.poll", "partition.assignment",
        "heartbeat.", "isolation.level", "check.crcs", "enable.partition.eof",
    ]
}

/// Handler factories by name: what `--handler NAME` chooses from.
///
/// An application registers its handlers and hands the registry to ``SluiceApp``:
///
/// ```swift
/// var handlers = HandlerRegistry.builtIn
/// handlers.register("score", summary: "scores an order") { setup in
///     .sync(ScoreHandler(threshold: try setup.options.int("threshold", default: 10)))
/// }
/// await SluiceApp(handlers: handlers).main()
/// ```
public struct HandlerRegistry: Sendable {
    /// Makes a handler from its setup; throws for bad options.
    public typealias Factory = @Sendable (HandlerSetup) throws -> RegisteredHandler

    struct Entry: Sendable {
        var summary: String
        var factory: Factory
    }

    private(set) var entries: [String: Entry] = [:]

    /// An empty registry.
    public init() {}

    /// Registers (or replaces) a handler factory under `name`.
    public mutating func register(_ name: String, summary: String, factory: @escaping Factory) {
        entries[name] = Entry(summary: summary, factory: factory)
    }

    /// The registered names, sorted.
    public var names: [String] { entries.keys.sorted() }

    /// `name — summary` lines for `--help` and errors.
    public var listing: String {
        names.map { "  \($0) — \(entries[$0]!.summary)" }.joined(separator: "\n")
    }

    /// Makes the handler registered as `name`.
    /// - Throws: ``HandlerOptions/Error`` listing the known handlers when `name` is unknown, or
    ///   the factory's error for bad options.
    public func make(_ name: String, setup: HandlerSetup) throws -> RegisteredHandler {
        try requireRegistered(name)
        return try entries[name]!.factory(setup)
    }

    /// Checks that `name` is registered.
    /// - Throws: ``HandlerOptions/Error`` listing the known handlers when it is not.
    public func requireRegistered(_ name: String) throws {
        guard entries[name] == nil else { return }
        throw HandlerOptions.Error(
            description: "unknown handler '\(name)'; known handlers: \(names.joined(separator: ", "))")
    }
}
