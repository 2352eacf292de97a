//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import _SluiceTime
internal import ArgumentParser
internal import Foundation
internal import Logging
internal import Sluice

/// `sluice demo`: the whole thing in one command, on an embedded broker.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Start an embedded broker, write JSON order events, score them with a CPU-bound handler, and summarise.")

    @Option(help: "Number of order events. (env: SLUICE_COUNT)")
    var count: Int = 200_000

    @Option(help: "Worker threads. (env: SLUICE_WORKERS)")
    var workers: Int = SluiceConfiguration.defaultWorkers

    @Option(help: "Partitions of the orders topic. (env: SLUICE_PARTITIONS)")
    var partitions: Int = 16

    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard count >= 1 else { throw ValidationError("--count must be at least 1, got \(count)") }
        guard workers >= 1 else { throw ValidationError("--workers must be at least 1, got \(workers)") }
        // The embedded broker keeps about 5 MB per partition: ~20k order events.
        guard partitions >= 1, count / partitions <= 20_000 else {
            throw ValidationError("--partitions \(partitions) is too few for \(count) events: the embedded broker keeps about 20k events per partition")
        }
    }

    func run() async throws {
        let logger = output.makeLogger()
        // Checked before the broker starts and the events are written.
        guard SluiceApp.current.handlers.names.contains("score-orders") else {
            throw CommandFailure.usage(
                "sluice demo runs the score-orders handler, which this application does not register "
                    + "(the sluice executable does: HandlerRegistry.registerDemoHandlers() of SluiceDemoHandlers)")
        }
        let topic = "orders"
        let broker = try EmbeddedBroker(brokers: 1, logger: logger)
        try broker.createTopic(topic, partitions: partitions)
        print("1/3 embedded broker at \(broker.bootstrapServers), topic \(topic) with \(partitions) partitions")

        print("2/3 writing \(count) JSON order events…")
        let report = try await Self.write(count: count, topic: topic, broker: broker, logger: logger)
        guard report.failures.isEmpty else { throw CommandFailure.runtime("writing the events failed: \(report.failures[0])") }
        print("    written in \(String(format: "%.1f", report.elapsed.inSeconds)) s")

        print("3/3 scoring them: handler score-orders, \(workers) workers, key ordering, window 1000")
        var config = SluiceConfiguration(brokers: [broker.bootstrapServers], groupID: "sluice-demo", topics: [topic])
        config.workers = workers
        config.ordering = .key
        config.kafka.fetchWaitMax = .milliseconds(10)
        config.messageLimit = count
        let consumer = try Self.makeConsumer(configuration: config, logger: logger)
        let (stats, elapsed) = try await ConsumerSupervisor(
            consumer: consumer, statusInterval: output.statusInterval.duration, logger: logger
        ).run()
        var endOffsets: [TopicPartition: Int64] = [:]
        for (partition, written) in report.perPartition {
            endOffsets[TopicPartition(topic: topic, partition: partition)] = Int64(written)
        }
        print(StatusFormatter.summary(stats, elapsed: elapsed, endOffsets: endOffsets))
        broker.stop()
    }

    /// The consumer with the app's `score-orders` handler (the `sluice` executable registers it
    /// from SluiceDemoHandlers, so that applications need not build swift-crypto).
    private static func makeConsumer(configuration: SluiceConfiguration, logger: Logger) throws -> SluiceConsumer {
        let handler = try SluiceApp.current.handlers.make("score-orders", setup: HandlerSetup(logger: logger))
        return try handler.makeConsumer(configuration: configuration, logger: logger)
    }

    /// Writes the events; the producer is gone (disconnected) when this returns.
    private static func write(count: Int, topic: String, broker: EmbeddedBroker, logger: Logger) async throws -> LoadGenerator.Report {
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(bootstrapServers: [broker.bootstrapServers]), logger: logger)
        let report = try await LoadGenerator(topic: topic, count: count, keys: 5_000, json: true).run(producer: producer)
        try producer.close(timeout: .seconds(30))
        return report
    }
}
