//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import ArgumentParser
internal import Logging
internal import Sluice

/// The options of `sluice run` (and the consumer part of `sluice demo`).
struct ConsumerOptions: ParsableArguments {
    @Option(help: "Kafka brokers, host:port[,host:port…]. Without it, an embedded broker is started. (env: SLUICE_BROKERS)")
    var brokers: String?

    @Option(help: "Consumer group id. (env: SLUICE_GROUP)")
    var group: String = "sluice"

    @Option(name: .customLong("topic"), help: "Topic to consume; repeat for several. (env: SLUICE_TOPIC, comma-separated)")
    var topics: [String] = []

    @Option(help: "Handler to run (see the list below). (env: SLUICE_HANDLER)")
    var handler: String?

    @Option(
        name: .customLong("route"),
        help: ArgumentHelp(
            "TOPICS=HANDLER[,setting=value…]: topics (a name, a pattern with *, several joined by +) served by their own handler, with settings of their own; repeatable, instead of --topic and --handler (see Routes below). (env: SLUICE_ROUTE, ';'-separated)",
            valueName: "route"))
    var routes: [String] = []

    @Option(
        name: .customLong("route-option"),
        help: ArgumentHelp(
            "ROUTE:key=value given to one route's handler, over the --handler-options every route's handler gets; ROUTE is the route's name= or first topic; repeatable. (env: SLUICE_ROUTE_OPTION, ';'-separated)",
            valueName: "route:key=value"))
    var routeOptions: [String] = []

    @Option(help: "Worker threads for synchronous handlers. (env: SLUICE_WORKERS)")
    var workers: Int = SluiceConfiguration.defaultWorkers

    @Option(name: .customLong("max-in-flight"), help: "Most messages admitted and not yet done. (env: SLUICE_MAX_IN_FLIGHT)")
    var maxInFlight: Int = 1_000

    @Option(name: .customLong("max-in-flight-bytes"), help: "Most key+value bytes in flight, e.g. 64MiB. (env: SLUICE_MAX_IN_FLIGHT_BYTES)")
    var maxInFlightBytes: ByteSize = ByteSize(bytes: 64 << 20)

    @Option(help: "unordered | key | partition. (env: SLUICE_ORDERING)")
    var ordering: OrderingMode = .key

    @Option(name: .customLong("handler-option"), help: "key=value given to the handler; repeatable. Values of keys like *password*, *secret*, *token*, *key are shown as ***. (env: SLUICE_HANDLER_OPTION, ';'-separated, \\; inside a value; or one per variable: SLUICE_HANDLER_OPTION_API_KEY for api-key)")
    var handlerOptions: [String] = []

    @Option(name: .customLong("max-batch-size"), help: "Most messages in one call of a batch handler. (env: SLUICE_MAX_BATCH_SIZE)")
    var maxBatchSize: Int = 100

    @Option(name: .customLong("max-batch-bytes"), help: "Most key+value bytes in one call of a batch handler, e.g. 1MiB; a larger message makes a batch of its own. (env: SLUICE_MAX_BATCH_BYTES)")
    var maxBatchBytes: ByteSize = ByteSize(bytes: 1 << 20)

    @Option(name: .customLong("max-batch-delay"), help: "Longest a batch waits to fill, from its first message, e.g. 10ms; 0 hands over what is there. (env: SLUICE_MAX_BATCH_DELAY)")
    var maxBatchDelay: DurationArgument = DurationArgument(.milliseconds(10))

    @OptionGroup var kafka: KafkaPropertyOptions

    @Option(name: .customLong("max-messages"), help: "Handle and commit exactly this many messages, then exit 0; messages past them stay uncommitted for the next run. (env: SLUICE_MAX_MESSAGES)")
    var maxMessages: Int?

    @Option(name: .customLong("output-topic"), help: "Topic written by handlers that produce (forward). (env: SLUICE_OUTPUT_TOPIC)")
    var outputTopic: String?

    @OptionGroup(title: "Failure handling") var failures: FailureOptions

    @OptionGroup(title: "Isolation") var isolation: IsolationOptions

    @OptionGroup(title: "Metrics and health") var observability: ObservabilityOptions

    @Option(help: "eager | cooperative-sticky partition assignment. (env: SLUICE_ASSIGNMENT)")
    var assignment: String = "eager"

    @Option(name: .customLong("commit-interval"), help: "How often completed offsets are committed. (env: SLUICE_COMMIT_INTERVAL)")
    var commitInterval: DurationArgument = DurationArgument(.seconds(1))

    @Option(name: .customLong("drain-timeout"), help: "Longest wait for in-flight handlers on revocation and stop. (env: SLUICE_DRAIN_TIMEOUT)")
    var drainTimeout: DurationArgument = DurationArgument(.seconds(30))

    @Option(name: .customLong("pause-threshold"), help: "Window full this long pauses the partitions. (env: SLUICE_PAUSE_THRESHOLD)")
    var pauseThreshold: DurationArgument = DurationArgument(.seconds(3))

    @Option(
        name: .customLong("max-uncommitted-span"),
        help: "Most offsets one partition may hold behind its commit point (a slow message); at it, that partition alone pauses. (env: SLUICE_MAX_UNCOMMITTED_SPAN)")
    var maxUncommittedSpan: Int = 10_000

    @Option(
        name: .customLong("commit-metadata"),
        help: "on | off: commits list the finished offsets above the commit point, so a restart skips them. (env: SLUICE_COMMIT_METADATA)")
    var commitMetadata: Switch = .on

    @Option(
        name: .customLong("stuck-warning"),
        help: "Warn when a partition's oldest unfinished message holds later finished ones this long. (env: SLUICE_STUCK_WARNING)")
    var stuckWarning: DurationArgument = DurationArgument(.seconds(60))

    @Option(name: .customLong("embedded-partitions"), help: "Partitions of each topic on the embedded broker (without --brokers). (env: SLUICE_EMBEDDED_PARTITIONS)")
    var embeddedPartitions: Int = 8

    @OptionGroup var output: OutputOptions

    mutating func validate() throws {
        if routes.isEmpty {
            guard !topics.isEmpty else { throw ValidationError("Missing expected argument '--topic <topic>' (or give --route)") }
            guard handler != nil else { throw ValidationError("Missing expected argument '--handler <handler>' (or give --route)") }
            guard routeOptions.isEmpty else {
                throw ValidationError("--route-option needs --route; a single --handler takes --handler-option")
            }
        } else {
            guard topics.isEmpty, handler == nil else {
                throw ValidationError(
                    "--route replaces --topic and --handler: give --route for each topic's handler, or --topic with --handler, not both")
            }
            do {
                _ = try routeBuilder()
            } catch {
                throw ValidationError(error.description)
            }
        }
        guard maxBatchSize >= 1 else { throw ValidationError("--max-batch-size must be at least 1, got \(maxBatchSize)") }
        guard maxBatchBytes.bytes >= 1 else { throw ValidationError("--max-batch-bytes must be at least 1 byte, got \(maxBatchBytes)") }
        guard workers >= 1 else { throw ValidationError("--workers must be at least 1, got \(workers)") }
        guard maxInFlight >= 1 else { throw ValidationError("--max-in-flight must be at least 1, got \(maxInFlight)") }
        guard maxInFlightBytes.bytes >= 1 else { throw ValidationError("--max-in-flight-bytes must be at least 1 byte") }
        if let maxMessages, maxMessages < 1 { throw ValidationError("--max-messages must be at least 1, got \(maxMessages)") }
        guard ["eager", "cooperative-sticky"].contains(assignment) else {
            throw ValidationError("--assignment must be eager or cooperative-sticky, got '\(assignment)'")
        }
        guard embeddedPartitions >= 1 else { throw ValidationError("--embedded-partitions must be at least 1") }
        guard maxUncommittedSpan >= 1 else { throw ValidationError("--max-uncommitted-span must be at least 1, got \(maxUncommittedSpan)") }
        guard stuckWarning.duration > .zero else { throw ValidationError("--stuck-warning must be positive") }
    }

    /// The options of `arguments` (for tests, which do not import ArgumentParser).
    /// - Throws: ``CommandFailure`` with ArgumentParser's message (which names the option and the
    ///   value) for a bad argument.
    static func parsed(from arguments: [String]) throws -> ConsumerOptions {
        do {
            return try parse(arguments)
        } catch {
            throw CommandFailure.usage(message(for: error))
        }
    }

    /// The `--route`s and `--route-option`s, read and checked (nothing is made yet).
    /// - Throws: ``RouteError`` naming the bad route or route option, or ``HandlerOptions/Error``
    ///   for a malformed `--handler-option`.
    func routeBuilder() throws(RouteError) -> RouteBuilder {
        let shared: HandlerOptions
        do {
            shared = try HandlerOptions(parsing: handlerOptions)
        } catch {
            throw RouteError(description: "\(error)")
        }
        return try RouteBuilder(
            routes: routes, routeOptions: routeOptions, handlerOptions: shared, outputTopic: outputTopic, failures: failures)
    }

    /// The engine configuration these options describe (without the routes' handlers, which
    /// ``RunCommand/makeConsumer(options:brokers:logger:)`` makes).
    func configuration(brokers: [String]) throws -> SluiceConfiguration {
        var config = SluiceConfiguration(brokers: brokers, groupID: group, topics: topics)
        config.workers = workers
        config.maxBatchSize = maxBatchSize
        config.maxBatchBytes = maxBatchBytes.bytes
        config.maxBatchDelay = maxBatchDelay.duration
        config.maxInFlightMessages = maxInFlight
        config.maxInFlightBytes = maxInFlightBytes.bytes
        config.ordering = ordering
        failures.apply(to: &config)
        config.commitInterval = commitInterval.duration
        config.drainTimeout = drainTimeout.duration
        config.pauseThreshold = pauseThreshold.duration
        config.maxUncommittedSpan = maxUncommittedSpan
        config.commitMetadata = commitMetadata == .on
        config.stuckMessageWarning = stuckWarning.duration
        config.messageLimit = maxMessages
        config.kafka.assignment = assignment == "cooperative-sticky" ? .cooperativeSticky : .eager
        config.kafka.common.properties = try kafka.parsed()
        // Handler options that carry secrets are masked in dead-letter headers too.
        config.secrets = SluiceApp.redactor
        return config
    }
}

/// An `on | off` option value.
enum Switch: String, ExpressibleByArgument, CaseIterable, Sendable {
    case on
    case off
}

/// Logging and progress options shared by long-running commands.
struct OutputOptions: ParsableArguments {
    @Option(name: .customLong("log-level"), help: "trace | debug | info | notice | warning | error | critical. (env: SLUICE_LOG_LEVEL)")
    var logLevel: String = "info"

    @Option(name: .customLong("status-interval"), help: "Seconds between status lines; 0 turns them off. (env: SLUICE_STATUS_INTERVAL)")
    var statusInterval: DurationArgument = DurationArgument(.seconds(1))

    mutating func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical; got '\(logLevel)'")
        }
    }

    /// A logger at the chosen level, writing to standard error, that masks the command line's
    /// secrets (``SluiceApp/redactor``).
    func makeLogger(label: String = "sluice") -> Logger {
        Self.makeLogger(label: label, level: logLevel, redactor: SluiceApp.redactor)
    }

    /// A logger at `level` (`info` if it is not a level), writing to standard error, that masks what
    /// `redactor` holds in every message and metadata value.
    static func makeLogger(label: String, level: String, redactor: SecretRedactor) -> Logger {
        var logger = Logger(label: label) { label -> any LogHandler in
            // On a terminal, log lines go above the status line (which they would otherwise overwrite).
            let standardError = StreamLogHandler.standardError(label: label)
            let stream: any LogHandler = TerminalStatusLine.standardError.isTerminal
                ? StatusLineLogHandler(wrapping: standardError) : standardError
            guard !redactor.isEmpty else { return stream }
            return RedactingLogHandler(wrapping: stream, redactor: redactor)
        }
        logger.logLevel = Logger.Level(rawValue: level) ?? .info
        return logger
    }
}
