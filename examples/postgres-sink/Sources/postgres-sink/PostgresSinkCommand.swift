// The `postgres-sink` process: flags in, a PostgresClient and the sink (table, then consumer) in
// one ServiceGroup that SIGTERM/SIGINT shut down gracefully, and a summary on the way out.

import ArgumentParser
import Foundation
import Logging
import PostgresNIO
import PostgresSink
import ServiceLifecycle
import Sluice
import UnixSignals

@main
struct PostgresSinkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "postgres-sink",
        abstract: "Write JSON events from Kafka into a PostgreSQL table, one idempotent insert per batch.",
        discussion: """
            Each message's value must be a JSON object with an "id" (string or integer). Rows are keyed \
            by (topic, partition, offset): messages handed over again after a crash add no row. The \
            password comes from the PGPASSWORD environment variable. SIGTERM or SIGINT stops gracefully \
            (finish the batches in flight, commit, leave the group) and prints a summary.
            """)

    @Option(help: "Kafka brokers, host:port[,host:port…].")
    var brokers: String

    @Option(help: "Consumer group.")
    var group = "postgres-sink"

    @Option(name: .customLong("topic"), help: "Topic to consume; repeatable.")
    var topics: [String]

    @Option(name: [.customShort("X"), .customLong("kafka-property")], help: "librdkafka property KEY=VALUE; repeatable.")
    var kafkaProperties: [String] = []

    @Option(name: .customLong("postgres-host"), help: "PostgreSQL host.")
    var postgresHost = "127.0.0.1"

    @Option(name: .customLong("postgres-port"), help: "PostgreSQL port.")
    var postgresPort = 5432

    @Option(name: .customLong("postgres-user"), help: "PostgreSQL user (password: PGPASSWORD).")
    var postgresUser = "postgres"

    @Option(name: .customLong("postgres-database"), help: "PostgreSQL database.")
    var postgresDatabase = "postgres"

    @Option(name: .customLong("postgres-tls"), help: "TLS to PostgreSQL: disable, prefer or require.")
    var postgresTLS = TLSMode.prefer

    @Option(name: .customLong("postgres-connections"), help: "Most connections to PostgreSQL, so most inserts at once.")
    var postgresConnections = 4

    @Option(help: "Table to write into, created when missing (lowercase letters, digits, underscores).")
    var table = "sink_events"

    @Option(name: .customLong("batch-size"), help: "Most messages per insert.")
    var batchSize = 100

    @Option(name: .customLong("batch-delay-ms"), help: "Longest wait, in milliseconds, for a batch to fill.")
    var batchDelayMilliseconds = 10

    @Option(name: .customLong("commit-interval-ms"), help: "Milliseconds between offset commits.")
    var commitIntervalMilliseconds = 1_000

    @Option(name: .customLong("on-failure"), help: "What to do with a message that is not a JSON event: stop, skip or dead-letter (to TOPIC.dlq).")
    var onFailure = "stop"

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    func validate() throws {
        guard !topics.isEmpty else { throw ValidationError("give at least one --topic") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        guard batchDelayMilliseconds >= 0 else { throw ValidationError("--batch-delay-ms must not be negative, got \(batchDelayMilliseconds)") }
        guard commitIntervalMilliseconds >= 1 else { throw ValidationError("--commit-interval-ms must be at least 1, got \(commitIntervalMilliseconds)") }
        guard postgresConnections >= 1 else { throw ValidationError("--postgres-connections must be at least 1, got \(postgresConnections)") }
        guard FailurePolicy(onFailure) != nil else { throw ValidationError("--on-failure must be stop, skip or dead-letter, got '\(onFailure)'") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level '\(logLevel)' is not a log level") }
        _ = try parsedKafkaProperties()
    }

    func run() async throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: "postgres-sink")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info

        var postgres = PostgresClient.Configuration(
            host: postgresHost, port: postgresPort, username: postgresUser,
            password: ProcessInfo.processInfo.environment["PGPASSWORD"], database: postgresDatabase,
            tls: postgresTLS.configuration)
        postgres.options.maximumConnections = postgresConnections
        // Shows in pg_stat_activity; the crash test waits there for a killed sink's connections to go.
        postgres.options.additionalStartupParameters = [("application_name", "postgres-sink")]
        let client = PostgresClient(configuration: postgres, backgroundLogger: logger)

        let sinkTable = try SinkTable(client: client, name: table)
        let handler = PostgresSinkHandler(table: sinkTable)
        let consumer = try SluiceConsumer(configuration: try consumerConfiguration(), asyncBatchHandler: handler, logger: logger)
        let sink = SinkService(table: sinkTable, consumer: consumer, logger: logger)

        // Services shut down in reverse order: the sink drains its batches while the client runs.
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [.init(service: client), .init(service: sink)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        let started = ContinuousClock.now
        var failure: (any Error)?
        do {
            try await group.run()
        } catch {
            failure = error
        }
        print(SinkSummary(counters: handler.counters.snapshot, statistics: consumer.statistics,
                          elapsed: started.duration(to: .now)).lines.joined(separator: "\n"))
        if let failure {
            throw failure
        }
    }

    /// The Sluice configuration the flags stand for.
    func consumerConfiguration() throws -> SluiceConfiguration {
        var config = SluiceConfiguration(
            brokers: brokers.split(separator: ",").map(String.init), groupID: group, topics: topics)
        config.maxBatchSize = batchSize
        config.maxBatchDelay = .milliseconds(batchDelayMilliseconds)
        // Rows are independent (keyed by offset): any order will do, so batches fill from every
        // partition and key at once.
        config.ordering = .unordered
        config.commitInterval = .milliseconds(commitIntervalMilliseconds)
        config.failurePolicy = FailurePolicy(onFailure) ?? .stop
        config.kafka.common.properties.merge(try parsedKafkaProperties()) { $1 }
        return config
    }

    /// `-X KEY=VALUE` pairs as a dictionary.
    func parsedKafkaProperties() throws -> [String: String] {
        var properties: [String: String] = [:]
        for pair in kafkaProperties {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw ValidationError("-X '\(pair)' must be KEY=VALUE")
            }
            properties[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
        }
        return properties
    }
}

/// `--postgres-tls`: as libpq's `sslmode` disable, prefer and require (no certificate check with
/// prefer; require checks the server's certificate against the system's roots).
enum TLSMode: String, ExpressibleByArgument, CaseIterable {
    case disable, prefer, require

    var configuration: PostgresClient.Configuration.TLS {
        switch self {
        case .disable:
            return .disable
        case .prefer:
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.certificateVerification = .none
            return .prefer(tls)
        case .require:
            return .require(TLSConfiguration.makeClientConfiguration())
        }
    }
}
