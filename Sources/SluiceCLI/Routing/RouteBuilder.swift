//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import Logging
internal import Sluice

/// The `--route`s and `--route-option`s of `sluice run`, read and checked, and turned into the
/// engine's ``SluiceRoute``s: each route's handler made from the registry with its own
/// ``HandlerSetup`` (the `--handler-option`s with its `--route-option`s over them, its
/// `output-topic=` or `--output-topic`), each setting it does not give left to the consumer's.
///
/// With `--isolation process`, every route whose handler is synchronous (per message or per
/// batch) runs in the worker processes, served under its own job (``job(forRoute:)``); routes with
/// asynchronous handlers run in the consumer, as without isolation.
struct RouteBuilder {
    /// The routes, in the order given (a topic goes to the first that matches it).
    var specs: [RouteSpec]
    /// The `--route-option`s.
    var routeOptions: [RouteOption]
    /// The `--handler-option`s, which every route's handler gets.
    var handlerOptions: HandlerOptions
    /// `--output-topic`.
    var outputTopic: String?
    /// The consumer's failure settings, which a route's own settings override.
    var failures: FailureOptions

    /// What the routes come to: the engine's routes, and what the worker processes serve.
    struct Assembly {
        /// The engine's routes, in the order given.
        var routes: [SluiceRoute]
        /// The routes that run in worker processes (with `--isolation process`).
        var workerRoutes: [WorkerSetup.Route]
    }

    /// Reads and checks the routes and route options.
    /// - Throws: ``RouteError`` naming the route (or route option) and its bad part.
    init(
        routes: [String], routeOptions: [String], handlerOptions: HandlerOptions, outputTopic: String?,
        failures: FailureOptions
    ) throws(RouteError) {
        var specs: [RouteSpec] = []
        for text in routes {
            specs.append(try RouteSpec(parsing: text))
        }
        var owners: [String: String] = [:]
        for spec in specs {
            if let other = owners[spec.name] {
                throw RouteError(
                    description: "--route '\(spec.text)': the route '\(other)' is named '\(spec.name)' too; give one of them name=…")
            }
            owners[spec.name] = spec.text
            for pattern in spec.topics.map({ TopicPattern($0) }) where !pattern.isName {
                let policy = try Self.failurePolicy(of: spec, failures: failures) ?? failures.failurePolicy
                if let template = policy.deadLetterTopicTemplate, let sample = policy.deadLetterTopic(for: pattern.text),
                    pattern.matches(sample)
                {
                    throw RouteError(
                        description: "\(spec.quoted): its dead-letter topic \(template) would match \(pattern) and be consumed by the route itself; give dead-letter-topic=… outside the pattern, e.g. dead-letter-topic=dlq.{topic}")
                }
            }
            _ = try Self.failurePolicy(of: spec, failures: failures)
        }
        var parsedOptions: [RouteOption] = []
        for text in routeOptions {
            let option = try RouteOption(parsing: text)
            guard owners[option.route] != nil else {
                throw RouteError(
                    description: "--route-option '\(option.shown)': no route is named '\(option.route)'; the routes are \(specs.map { "'\($0.name)'" }.joined(separator: ", ")) (a route's name is its name=, or its first topic)")
            }
            parsedOptions.append(option)
        }
        self.specs = specs
        self.routeOptions = parsedOptions
        self.handlerOptions = handlerOptions
        self.outputTopic = outputTopic
        self.failures = failures
    }

    /// The job a route's handler is served under in the worker processes.
    static func job(forRoute name: String) -> String {
        "sluice.route.\(name)"
    }

    /// Checks that every route's handler is registered, before anything starts.
    /// - Throws: ``RouteError`` naming the route and listing the known handlers.
    func requireRegistered(in registry: HandlerRegistry) throws(RouteError) {
        for spec in specs {
            do {
                try registry.requireRegistered(spec.handler)
            } catch {
                throw RouteError(description: "\(spec.quoted): \(error)")
            }
        }
    }

    /// The handler options of `spec`'s handler: the `--handler-option`s, its `--route-option`s over them.
    func options(of spec: RouteSpec) -> HandlerOptions {
        var values = handlerOptions.values
        for option in routeOptions where option.route == spec.name {
            values[option.key] = option.value
        }
        return HandlerOptions(values)
    }

    /// The output topic of `spec`'s handler: its `output-topic=`, or `--output-topic`.
    func outputTopic(of spec: RouteSpec) -> String? {
        spec.outputTopic ?? outputTopic
    }

    /// The route's own failure policy, or `nil` when it gives neither `on-failure=` nor
    /// `dead-letter-topic=` (the consumer's then applies). A route's `on-failure=dead-letter`
    /// without a topic of its own writes to `--dead-letter-topic` (default `{topic}.dlq`).
    /// - Throws: ``RouteError`` for `dead-letter-topic=` without the dead-letter policy.
    static func failurePolicy(of spec: RouteSpec, failures: FailureOptions) throws(RouteError) -> FailurePolicy? {
        guard spec.onFailure != nil || spec.deadLetterTopic != nil else { return nil }
        let policy = spec.onFailure ?? failures.failurePolicy
        guard policy.deadLetterTopicTemplate != nil else {
            if let topic = spec.deadLetterTopic {
                throw RouteError(
                    description: "\(spec.quoted): dead-letter-topic=\(topic) needs on-failure=dead-letter (the route's is \(policy))")
            }
            return policy
        }
        return .deadLetter(
            topic: spec.deadLetterTopic ?? failures.failurePolicy.deadLetterTopicTemplate ?? FailurePolicy.defaultDeadLetterTopic)
    }

    /// The route's own retries, or `nil` when it gives none of `max-attempts=`, `retry-backoff=`,
    /// `retry-backoff-max=`, `retry-backoff-multiplier=` (the consumer's then apply); those it
    /// does not give are the consumer's.
    func retry(of spec: RouteSpec) -> RetryPolicy? {
        guard spec.maxAttempts != nil || spec.retryBackoff != nil || spec.retryBackoffMax != nil
            || spec.retryBackoffMultiplier != nil
        else { return nil }
        return RetryPolicy(
            maxAttempts: spec.maxAttempts ?? failures.maxAttempts,
            initialBackoff: spec.retryBackoff ?? failures.retryBackoff.duration,
            multiplier: spec.retryBackoffMultiplier ?? failures.retryBackoffMultiplier,
            maxBackoff: spec.retryBackoffMax ?? failures.retryBackoffMax.duration)
    }

    /// The topics an embedded broker creates for these routes: the topics named outright (not
    /// patterns), their dead-letter topics, and the output topics, each once.
    var embeddedTopics: [String] {
        var topics: [String] = []
        for spec in specs {
            topics += spec.topics.filter { TopicPattern($0).isName }
            if let output = outputTopic(of: spec) { topics.append(output) }
        }
        let named = topics
        for topic in named {
            // A topic goes to the first route that matches it: that route's policy says where its dead letters go.
            guard let owner = specs.first(where: { $0.topics.map { TopicPattern($0) }.contains { $0.matches(topic) } }) else { continue }
            let policy = ((try? Self.failurePolicy(of: owner, failures: failures)) ?? nil) ?? failures.failurePolicy
            if let deadLetters = policy.deadLetterTopic(for: topic) { topics.append(deadLetters) }
        }
        var seen = Set<String>()
        return topics.filter { seen.insert($0).inserted }
    }

    /// Makes each route's handler and the engine's routes.
    ///
    /// - Parameters:
    ///   - isolated: `--isolation process`: synchronous handlers run in the worker processes.
    /// - Throws: ``RouteError`` naming the route: an unknown handler, bad handler options, or a
    ///   setting its handler cannot use.
    func assemble(
        registry: HandlerRegistry, brokers: [String], kafkaProperties: [String: String], logger: Logger, isolated: Bool
    ) throws(RouteError) -> Assembly {
        var assembly = Assembly(routes: [], workerRoutes: [])
        for spec in specs {
            func fail(_ message: String) -> RouteError { RouteError(description: "\(spec.quoted): \(message)") }
            let options = options(of: spec)
            let setup = HandlerSetup(
                options: options, brokers: brokers, outputTopic: outputTopic(of: spec), kafkaProperties: kafkaProperties,
                logger: logger)
            let made: RegisteredHandler
            do {
                made = try registry.make(spec.handler, setup: setup)
            } catch let error as HandlerOptions.Error {
                throw fail(error.description)
            } catch {
                // An application's factory error: its options cannot make a handler.
                throw fail("handler '\(spec.handler)': \(error)")
            }
            if !made.handlesBatches, let setting = spec.batchSetting {
                throw fail("\(setting): handler '\(spec.handler)' handles one message at a time, not batches")
            }
            if let workers = spec.workers {
                guard made.isSynchronous else {
                    throw fail("workers=\(workers): handler '\(spec.handler)' is asynchronous and runs under Swift concurrency, not on worker threads")
                }
                guard !isolated else {
                    throw fail("workers=\(workers) needs --isolation thread: with --isolation process the route's handler runs in the --workers worker processes")
                }
            }
            let handler: SluiceHandler
            if isolated, made.isSynchronous {
                let job = Self.job(forRoute: spec.name)
                handler = .isolated(job: job, batches: made.handlesBatches)
                assembly.workerRoutes.append(WorkerSetup.Route(
                    name: spec.name, job: job, handler: spec.handler, options: options.values, outputTopic: outputTopic(of: spec)))
            } else {
                handler = made.sluiceHandler
            }
            assembly.routes.append(SluiceRoute(
                name: spec.name, topics: spec.topics.map { TopicPattern($0) }, handler: handler, ordering: spec.ordering,
                failurePolicy: try Self.failurePolicy(of: spec, failures: failures), retry: retry(of: spec),
                maxInFlightMessages: spec.maxInFlight, workers: spec.workers, maxBatchSize: spec.maxBatchSize,
                maxBatchBytes: spec.maxBatchBytes, maxBatchDelay: spec.maxBatchDelay))
        }
        return assembly
    }
}

extension RouteSpec {
    /// The first batch setting given (`max-batch-size=50`), if any.
    fileprivate var batchSetting: String? {
        if let maxBatchSize { return "max-batch-size=\(maxBatchSize)" }
        if let maxBatchBytes { return "max-batch-bytes=\(ByteSize(bytes: maxBatchBytes))" }
        if let maxBatchDelay { return "max-batch-delay=\(DurationArgument(maxBatchDelay))" }
        return nil
    }
}
