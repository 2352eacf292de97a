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
            discussion: "Handlers:\n" + SluiceApp.current.handlers.listing + "\n\n" + routesHelp)
    }

    /// The part of `--help` about `--route`.
    static let routesHelp = """
        Routes: one consumer serving several topics, each with its own handler and \
        settings. --route TOPICS=HANDLER[,setting=value…], repeatable, replaces --topic and \
        --handler. TOPICS is a topic, a pattern with * (audit.*), or several joined by + \
        (orders+refunds). Settings, each the consumer's option of the same name when not given: \
        \(RouteSpec.settingNames.joined(separator: ", ")) (max-in-flight is the route's share of \
        the window; workers its own threads). A topic goes to the first route that matches it. \
        Handler options of one route: --route-option ROUTE:key=value (ROUTE: its name= or first \
        topic). For example:
          --route 'orders=score-orders,ordering=key'
          --route 'audit.*=spin-batch,name=audit,max-batch-size=50'
          --route-option 'audit:call-micros=200'
        With --isolation process, every route whose handler is synchronous runs in the worker \
        processes; routes with asynchronous handlers run in this process.
        """

    @OptionGroup var options: ConsumerOptions

    func run() async throws {
        let logger = options.output.makeLogger()
        // Checked before an embedded broker starts, so a typo costs nothing.
        let routes = options.routes.isEmpty ? nil : try Self.routeBuilder(options)
        do {
            if let routes {
                try routes.requireRegistered(in: SluiceApp.current.handlers)
            } else if let handler = options.handler {
                try SluiceApp.current.handlers.requireRegistered(handler)
            }
        } catch let error as HandlerOptions.Error {
            throw CommandFailure.usage(error.description)
        } catch let error as RouteError {
            throw CommandFailure.usage(error.description)
        }
        var embedded: EmbeddedBroker?
        let brokers: [String]
        if let list = options.brokers {
            brokers = list.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        } else {
            let broker = try EmbeddedBroker(brokers: 1, logger: logger)
            let topics: [String]
            if let routes {
                topics = routes.embeddedTopics
            } else {
                let deadLetterTopics = options.topics.compactMap { options.failures.failurePolicy.deadLetterTopic(for: $0) }
                topics = Array(Set(options.topics + [options.outputTopic].compactMap { $0 } + deadLetterTopics))
            }
            for topic in topics {
                try broker.createTopic(topic, partitions: options.embeddedPartitions)
            }
            embedded = broker
            brokers = [broker.bootstrapServers]
            let patterns = routes?.specs.flatMap(\.topics).filter { !TopicPattern($0).isName } ?? []
            // A source topic to write to: the first named one.
            let first = routes?.specs.flatMap(\.topics).first { TopicPattern($0).isName } ?? options.topics.first ?? "TOPIC"
            logger.notice("""
                no --brokers given: started an embedded broker at \(broker.bootstrapServers) \
                with topics \(topics.joined(separator: ", ")) (\(options.embeddedPartitions) partitions each)\
                \(patterns.isEmpty ? "" : "; the patterns \(patterns.joined(separator: ", ")) match topics created on it later"); \
                write to it with: sluice produce --brokers \(broker.bootstrapServers) --topic \(first)
                """)
        }
        options.observability.bootstrapMetrics()
        let consumer = try Self.makeConsumer(options: options, brokers: brokers, logger: logger)
        let supervisor = ConsumerSupervisor(
            consumer: consumer, statusInterval: options.output.statusInterval.duration,
            server: options.observability.server(for: consumer, logger: logger), logger: logger)
        let started = ContinuousClock.now
        do {
            let (stats, elapsed) = try await supervisor.run()
            print(StatusFormatter.summary(stats, elapsed: elapsed))
            if let workers = consumer.workerProcesses {
                print(StatusFormatter.workers(workers))
            }
            if routes != nil {
                print(StatusFormatter.topics(stats))
            }
        } catch let error as SluiceError {
            print(StatusFormatter.summary(consumer.statistics, elapsed: started.duration(to: .now)))
            throw CommandFailure.runtime(error.description)
        }
        withExtendedLifetime(embedded) {}
    }

    /// The `--route`s, read and checked; a bad one is a usage error.
    static func routeBuilder(_ options: ConsumerOptions) throws -> RouteBuilder {
        do {
            return try options.routeBuilder()
        } catch {
            throw CommandFailure.usage(error.description)
        }
    }

    /// Builds the handler (or each route's) and the consumer; bad handler names, options or
    /// properties are usage errors.
    static func makeConsumer(options: ConsumerOptions, brokers: [String], logger: Logger) throws -> SluiceConsumer {
        if !options.routes.isEmpty {
            return try makeRoutedConsumer(options: options, routes: try routeBuilder(options), brokers: brokers, logger: logger)
        }
        let registry = SluiceApp.current.handlers
        let name = options.handler ?? ""
        do {
            let setup = HandlerSetup(
                options: try HandlerOptions(parsing: options.handlerOptions), brokers: brokers,
                outputTopic: options.outputTopic, kafkaProperties: try options.kafka.parsed(), logger: logger)
            let configuration = try options.configuration(brokers: brokers)
            try configuration.validate()
            let handler = try registry.make(name, setup: setup)
            guard options.isolation.isolation == .process else {
                return try handler.makeConsumer(configuration: configuration, logger: logger)
            }
            guard handler.isSynchronous else {
                throw CommandFailure.usage("handler '\(name)' is asynchronous: --isolation process runs synchronous handlers only")
            }
            // The workers are this executable in worker mode: they build the same handler from its
            // name and options, and get nothing of Kafka's.
            let workerSetup = WorkerSetup(
                handler: name, options: setup.options.values, outputTopic: options.outputTopic,
                logLevel: options.output.logLevel)
            var isolation = try options.isolation.processIsolation(
                setup: workerSetup, group: options.group, environment: ProcessInfo.processInfo.environment)
            isolation.handlesBatches = handler.handlesBatches
            return try SluiceConsumer(configuration: configuration, isolation: isolation, logger: logger)
        } catch {
            throw usageError(error, handler: name)
        }
    }

    /// A consumer serving `--route`s: each route's handler made with its own setup; with
    /// `--isolation process` the synchronous ones run in worker processes, each under its route's job.
    private static func makeRoutedConsumer(
        options: ConsumerOptions, routes: RouteBuilder, brokers: [String], logger: Logger
    ) throws -> SluiceConsumer {
        let isolated = options.isolation.isolation == .process
        do {
            var configuration = try options.configuration(brokers: brokers)
            let assembly = try routes.assemble(
                registry: SluiceApp.current.handlers, brokers: brokers, kafkaProperties: try options.kafka.parsed(),
                logger: logger, isolated: isolated)
            configuration.routes = assembly.routes
            try configuration.validate()
            guard isolated else { return try SluiceConsumer(configuration: configuration, logger: logger) }
            guard !assembly.workerRoutes.isEmpty else {
                throw CommandFailure.usage(
                    "--isolation process: no route has a synchronous handler to run in worker processes (asynchronous handlers run in this process)")
            }
            for route in assembly.routes where !assembly.workerRoutes.contains(where: { $0.name == route.name }) {
                logger.notice("route '\(route.name)' has an asynchronous handler: it runs in this process, not in the worker processes")
            }
            let setup = WorkerSetup(
                handler: assembly.workerRoutes.map(\.handler).joined(separator: "+"), options: [:], outputTopic: nil,
                logLevel: options.output.logLevel, routes: assembly.workerRoutes)
            let isolation = try options.isolation.processIsolation(
                setup: setup, group: options.group, environment: ProcessInfo.processInfo.environment)
            return try SluiceConsumer(configuration: configuration, isolation: isolation, logger: logger)
        } catch {
            throw usageError(error, handler: nil)
        }
    }

    /// What a failure to build the consumer comes to: a usage error naming the problem.
    private static func usageError(_ error: any Error, handler: String?) -> any Error {
        switch error {
        case let error as HandlerOptions.Error: CommandFailure.usage(error.description)
        case let error as RouteError: CommandFailure.usage(error.description)
        case let error as SluiceError: CommandFailure.usage(error.description)
        case let error as KafkaError: CommandFailure.usage("invalid Kafka configuration: \(error)")
        case let error as CommandFailure: error
        case let error as ValidationError: CommandFailure.usage(error.message)
        // Any other error of an application's factory: its options cannot make a handler.
        default: CommandFailure.usage(handler.map { "handler '\($0)': \(error)" } ?? "\(error)")
        }
    }
}
