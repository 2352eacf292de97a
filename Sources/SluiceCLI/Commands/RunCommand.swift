//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import ArgumentParser
internal import Foundation
internal import Logging
internal import Sluice
internal import SluiceProcessPool

/// `sluice run`: consume topics with a registered handler until stopped.
struct RunCommand: AsyncParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "run",
            abstract: "Consume topics with a handler until stopped (SIGINT/SIGTERM) or --max-messages.",
            discussion: "Handlers:\n" + SluiceApp.current.handlers.listing)
    }

    @OptionGroup var options: ConsumerOptions

    func run() async throws {
        let logger = options.output.makeLogger()
        do {
            // Checked before an embedded broker starts, so a typo costs nothing.
            try SluiceApp.current.handlers.requireRegistered(options.handler)
        } catch let error as HandlerOptions.Error {
            throw CommandFailure.usage(error.description)
        }
        var embedded: EmbeddedBroker?
        let brokers: [String]
        if let list = options.brokers {
            brokers = list.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        } else {
            let broker = try EmbeddedBroker(brokers: 1, logger: logger)
            let deadLetterTopics = options.topics.compactMap { options.failures.failurePolicy.deadLetterTopic(for: $0) }
            for topic in Set(options.topics + [options.outputTopic].compactMap { $0 } + deadLetterTopics) {
                try broker.createTopic(topic, partitions: options.embeddedPartitions)
            }
            embedded = broker
            brokers = [broker.bootstrapServers]
            logger.notice("""
                no --brokers given: started an embedded broker at \(broker.bootstrapServers) \
                with topics \(options.topics.joined(separator: ", ")) (\(options.embeddedPartitions) partitions each); \
                write to it with: sluice produce --brokers \(broker.bootstrapServers) --topic \(options.topics[0])
                """)
        }
        options.observability.bootstrapMetrics()
        let consumer = try Self.makeConsumer(options: options, brokers: brokers, logger: logger)
        let supervisor = ConsumerSupervisor(
            consumer: consumer, maxMessages: options.maxMessages, statusInterval: options.output.statusInterval.duration,
            server: options.observability.server(for: consumer, logger: logger), logger: logger)
        let started = ContinuousClock.now
        do {
            let (stats, elapsed) = try await supervisor.run()
            print(StatusFormatter.summary(stats, elapsed: elapsed))
            if let workers = consumer.workerProcesses {
                print(StatusFormatter.workers(workers))
            }
        } catch let error as SluiceError {
            print(StatusFormatter.summary(consumer.statistics, elapsed: started.duration(to: .now)))
            throw CommandFailure.runtime(error.description)
        }
        withExtendedLifetime(embedded) {}
    }

    /// Builds the handler and the consumer; bad handler names, options or properties are usage errors.
    static func makeConsumer(options: ConsumerOptions, brokers: [String], logger: Logger) throws -> SluiceConsumer {
        let registry = SluiceApp.current.handlers
        do {
            let setup = HandlerSetup(
                options: try HandlerOptions(parsing: options.handlerOptions), brokers: brokers,
                outputTopic: options.outputTopic, kafkaProperties: try options.kafka.parsed(), logger: logger)
            let configuration = try options.configuration(brokers: brokers)
            try configuration.validate()
            let handler = try registry.make(options.handler, setup: setup)
            switch (handler.kind, options.isolation.isolation) {
            case (.sync(let handler), .thread):
                return try SluiceConsumer(configuration: configuration, handler: handler, logger: logger)
            case (.sync, .process):
                // The workers are this executable in worker mode: they build the same handler from its
                // name and options, and get nothing of Kafka's.
                let setup = WorkerSetup(
                    handler: options.handler, options: try HandlerOptions(parsing: options.handlerOptions).values,
                    outputTopic: options.outputTopic, logLevel: options.output.logLevel)
                let isolation = try options.isolation.processIsolation(
                    setup: setup, group: options.group, environment: ProcessInfo.processInfo.environment)
                return try SluiceConsumer(configuration: configuration, isolation: isolation, logger: logger)
            case (.async(let handler), .thread):
                return try SluiceConsumer(configuration: configuration, asyncHandler: handler, logger: logger)
            case (.async, .process):
                throw CommandFailure.usage(
                    "handler '\(options.handler)' is asynchronous: --isolation process runs synchronous handlers only")
            }
        } catch let error as HandlerOptions.Error {
            throw CommandFailure.usage(error.description)
        } catch let error as SluiceError {
            throw CommandFailure.usage(error.description)
        } catch let error as KafkaError {
            throw CommandFailure.usage("invalid Kafka configuration: \(error)")
        } catch let error as CommandFailure {
            throw error
        } catch {
            // Any other error of an application's factory: its options cannot make a handler.
            throw CommandFailure.usage("handler '\(options.handler)': \(error)")
        }
    }
}
