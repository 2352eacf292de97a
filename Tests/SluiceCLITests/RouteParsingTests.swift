//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Logging
import Sluice
@testable import SluiceCLI
import Testing

/// `--route TOPICS=HANDLER[,setting=value…]` and `--route-option ROUTE:key=value`, read and
/// turned into the engine's routes, without a broker.
struct RouteParsingTests {
    /// The error of `--route text`, as text; nil when it parses.
    private func error(parsing text: String) -> String? {
        do {
            _ = try RouteSpec(parsing: text)
            return nil
        } catch {
            return error.description
        }
    }

    /// The usage message of `sluice run` options (ArgumentParser's, without its "Error: "), or
    /// nil when they parse.
    private func usage(_ arguments: [String]) -> String? {
        do {
            _ = try ConsumerOptions.parsed(from: arguments)
            return nil
        } catch let failure as CommandFailure {
            return failure.message
        } catch {
            return "\(error)"
        }
    }

    @Test func aTopicAndAHandler() throws {
        let route = try RouteSpec(parsing: "orders=score-orders")
        #expect(route.topics == ["orders"])
        #expect(route.handler == "score-orders")
        #expect(route.name == "orders")
        #expect(route.ordering == nil && route.onFailure == nil && route.maxBatchSize == nil)
    }

    @Test func everySetting() throws {
        let route = try RouteSpec(
            parsing: "audit.*+billing=spin-batch, ordering=unordered,on-failure=dead-letter,dead-letter-topic=dlq.{topic},"
                + "max-attempts=5,retry-backoff=20ms,retry-backoff-max=2s,retry-backoff-multiplier=3,max-in-flight=200,"
                + "workers=1,max-batch-size=50,max-batch-bytes=256KiB,max-batch-delay=5ms,output-topic=out,name=audit")
        #expect(route.topics == ["audit.*", "billing"])
        #expect(route.handler == "spin-batch")
        #expect(route.name == "audit")
        #expect(route.ordering == .unordered)
        #expect(route.onFailure == .deadLetter())
        #expect(route.deadLetterTopic == "dlq.{topic}")
        #expect(route.maxAttempts == 5)
        #expect(route.retryBackoff == .milliseconds(20))
        #expect(route.retryBackoffMax == .seconds(2))
        #expect(route.retryBackoffMultiplier == 3)
        #expect(route.maxInFlight == 200)
        #expect(route.workers == 1)
        #expect(route.maxBatchSize == 50)
        #expect(route.maxBatchBytes == 256 << 10)
        #expect(route.maxBatchDelay == .milliseconds(5))
        #expect(route.outputTopic == "out")
    }

    @Test(arguments: [
        ("orders", "--route 'orders': give TOPICS=HANDLER[,setting=value…], e.g. --route 'orders=score-orders'"),
        ("=sha256", "--route '=sha256': no topic before '='"),
        ("orders+=sha256", "--route 'orders+=sha256': an empty topic in 'orders+' (topics are joined by '+')"),
        ("orders,refunds=sha256",
         "--route 'orders,refunds=sha256': 'orders,refunds' is not a topic: join several with '+' (orders+refunds=…), and give settings after the handler"),
        ("ord/ers=sha256",
         "--route 'ord/ers=sha256': topic pattern 'ord/ers' has the character '/': a topic name has letters, digits, '.', '_' and '-', and a pattern '*'"),
        ("orders=", "--route 'orders=': no handler after '='"),
        ("orders=ordering=key",
         "--route 'orders=ordering=key': the handler comes first after '=', then the settings: 'ordering=key' is a setting"),
        ("orders=sha256,,ordering=key", "--route 'orders=sha256,,ordering=key': an empty setting (two commas in a row, or one at the end)"),
        ("orders=sha256,unordered", "--route 'orders=sha256,unordered': 'unordered' is not of the form setting=value"),
        ("orders=sha256,ordering=sideways", "--route 'orders=sha256,ordering=sideways': ordering=sideways: 'sideways' is not unordered, key or partition"),
        ("orders=sha256,on-failure=retry", "--route 'orders=sha256,on-failure=retry': on-failure=retry: 'retry' is not stop, skip or dead-letter"),
        ("orders=sha256,workers=0", "--route 'orders=sha256,workers=0': workers=0: must be at least 1"),
        ("orders=sha256,max-in-flight=lots", "--route 'orders=sha256,max-in-flight=lots': max-in-flight=lots: 'lots' is not an integer"),
        ("orders=sha256,max-batch-bytes=big",
         "--route 'orders=sha256,max-batch-bytes=big': max-batch-bytes=big: 'big' is not a size (1048576, 512KiB, 1MiB)"),
        ("orders=sha256,max-batch-delay=soon",
         "--route 'orders=sha256,max-batch-delay=soon': max-batch-delay=soon: 'soon' is not a duration (250ms, 2s, 1m)"),
        ("orders=sha256,ordering=key,ordering=partition", "--route 'orders=sha256,ordering=key,ordering=partition': ordering is given twice"),
        ("orders=sha256,ordering=", "--route 'orders=sha256,ordering=': ordering has no value"),
        ("orders=sha256,output-topic=out.*", "--route 'orders=sha256,output-topic=out.*': output-topic=out.*: an output topic is a name, not a pattern"),
        ("orders=sha256,name=a:b", "--route 'orders=sha256,name=a:b': name=a:b: a route's name has letters, digits, '.', '_', '-' and '*'"),
    ])
    func aBadRouteNamesItselfAndTheBadPart(text: String, message: String) {
        #expect(error(parsing: text) == message)
    }

    @Test func anUnknownSettingListsTheSettingsAndPointsToRouteOption() throws {
        let message = try #require(error(parsing: "orders=sha256,rounds=3"))
        #expect(message.hasPrefix("--route 'orders=sha256,rounds=3': unknown setting 'rounds'; a route takes name, ordering, on-failure,"))
        #expect(message.hasSuffix("(handler options go in --route-option ROUTE:key=value)"))
    }

    @Test func routeOptionsNameTheirRouteAndMaskSecrets() throws {
        let option = try RouteOption(parsing: "audit.*:api-key=x:y=z")
        #expect(option.route == "audit.*" && option.key == "api-key" && option.value == "x:y=z")
        #expect(option.shown == "audit.*:api-key=***")
        #expect(throws: RouteError(description: "--route-option 'rounds=3': give ROUTE:key=value, where ROUTE is a route's name or first topic, e.g. --route-option 'orders:rounds=3'")) {
            try RouteOption(parsing: "rounds=3")
        }
        #expect(throws: RouteError(description: "--route-option 'orders:rounds': 'rounds' is not of the form key=value")) {
            try RouteOption(parsing: "orders:rounds")
        }
        #expect(RouteOption.handlerOptionKey(of: "orders:api-key") == "api-key")
    }

    @Test func routeOptionsGoToTheirRouteOverTheSharedHandlerOptions() throws {
        let options = try ConsumerOptions.parsed(from: [
            "--route", "orders=spin", "--route", "audit.*=spin-batch,name=audit",
            "--handler-option", "micros=7", "--route-option", "audit:micros=9", "--route-option", "audit:call-micros=50",
        ])
        let builder = try options.routeBuilder()
        #expect(builder.options(of: builder.specs[0]).values == ["micros": "7"])
        #expect(builder.options(of: builder.specs[1]).values == ["micros": "9", "call-micros": "50"])
    }

    @Test func aRouteOptionForNoRouteIsAnError() {
        #expect(usage(["--route", "orders=spin", "--route-option", "audit.*:micros=9"])
            == "--route-option 'audit.*:micros=9': no route is named 'audit.*'; the routes are 'orders' (a route's name is its name=, or its first topic)")
    }

    @Test func failurePoliciesAndRetriesAreTheRoutesOverTheConsumers() throws {
        let options = try ConsumerOptions.parsed(from: [
            "--route", "orders=spin", "--route", "audit.*=spin,on-failure=dead-letter,dead-letter-topic=dlq.{topic}",
            "--route", "clicks=spin,on-failure=skip,max-attempts=1", "--route", "refunds=spin,on-failure=dead-letter",
            "--on-failure", "dead-letter", "--dead-letter-topic", "errors.{topic}", "--max-attempts", "4", "--retry-backoff", "50ms",
        ])
        let builder = try options.routeBuilder()
        func policy(_ index: Int) throws -> FailurePolicy? {
            try RouteBuilder.failurePolicy(of: builder.specs[index], failures: options.failures)
        }
        #expect(try policy(0) == nil, "the consumer's")
        #expect(try policy(1) == .deadLetter(topic: "dlq.{topic}"))
        #expect(try policy(2) == .skip)
        #expect(try policy(3) == .deadLetter(topic: "errors.{topic}"), "the route's policy, the consumer's topic")
        #expect(builder.retry(of: builder.specs[0]) == nil)
        let retry = try #require(builder.retry(of: builder.specs[2]))
        #expect(retry.maxAttempts == 1)
        #expect(retry.initialBackoff == .milliseconds(50), "what the route does not give is the consumer's")
    }

    @Test func aDeadLetterTopicWithoutTheDeadLetterPolicyIsAnError() {
        #expect(usage(["--route", "orders=spin,dead-letter-topic=orders.errors"])
            == "--route 'orders=spin,dead-letter-topic=orders.errors': dead-letter-topic=orders.errors needs on-failure=dead-letter (the route's is stop)")
    }

    @Test func aPatternWhoseDeadLettersItWouldConsumeIsAnError() {
        let message = usage(["--route", "audit.*=spin,on-failure=dead-letter"])
        #expect(message == "--route 'audit.*=spin,on-failure=dead-letter': its dead-letter topic {topic}.dlq would match audit.* and be consumed by the route itself; give dead-letter-topic=… outside the pattern, e.g. dead-letter-topic=dlq.{topic}")
        #expect(usage(["--route", "audit.*=spin,on-failure=dead-letter,dead-letter-topic=dlq.{topic}"]) == nil)
    }

    @Test func twoRoutesOfOneNameAreAnError() {
        #expect(usage(["--route", "orders=spin", "--route", "audit=spin,name=orders"])
            == "--route 'audit=spin,name=orders': the route 'orders=spin' is named 'orders' too; give one of them name=…")
    }

    @Test func routesReplaceTopicAndHandler() {
        let both = "--route replaces --topic and --handler: give --route for each topic's handler, or --topic with --handler, not both"
        #expect(usage(["--route", "orders=spin", "--topic", "orders"]) == both)
        #expect(usage(["--route", "orders=spin", "--handler", "spin"]) == both)
        #expect(usage(["--topic", "orders", "--handler", "spin", "--route-option", "orders:micros=1"])
            == "--route-option needs --route; a single --handler takes --handler-option")
        #expect(usage(["--topic", "orders"]) == "Missing expected argument '--handler <handler>' (or give --route)")
    }

    @Test func theEmbeddedBrokerCreatesNamedTopicsTheirDeadLetterTopicsAndOutputTopics() throws {
        let options = try ConsumerOptions.parsed(from: [
            "--route", "orders+refunds=forward,output-topic=ledger,on-failure=dead-letter",
            "--route", "audit.*=spin,on-failure=dead-letter,dead-letter-topic=dlq.{topic}", "--route", "clicks=spin",
        ])
        #expect(try options.routeBuilder().embeddedTopics == ["orders", "refunds", "ledger", "clicks", "orders.dlq", "refunds.dlq"])
    }

    @Test func routesBecomeTheEnginesRoutesEachWithItsOwnHandler() throws {
        let options = try ConsumerOptions.parsed(from: [
            "--route", "orders=spin,ordering=partition,max-in-flight=100,workers=1",
            "--route", "audit.*=spin-batch,name=audit,max-batch-size=20,max-batch-delay=0,on-failure=skip",
            "--route-option", "audit:call-micros=1",
        ])
        let assembly = try options.routeBuilder().assemble(
            registry: .builtIn, brokers: [], kafkaProperties: [:], logger: .init(label: "test"), isolated: false)
        #expect(assembly.workerRoutes.isEmpty)
        let (orders, audit) = (assembly.routes[0], assembly.routes[1])
        #expect(orders.name == "orders" && orders.topics == ["orders"])
        #expect(orders.ordering == .partition && orders.maxInFlightMessages == 100 && orders.workers == 1)
        #expect(!orders.handler.handlesBatches)
        #expect(orders.failurePolicy == nil && orders.retry == nil)
        #expect(audit.name == "audit" && audit.topics == ["audit.*"])
        #expect(audit.handler.handlesBatches)
        #expect(audit.maxBatchSize == 20 && audit.maxBatchDelay == .zero && audit.failurePolicy == .skip)
    }

    @Test func withProcessIsolationSynchronousRoutesRunInTheWorkersUnderTheirOwnJob() throws {
        let options = try ConsumerOptions.parsed(from: [
            "--route", "orders=spin", "--route", "audit.*=spin-batch,name=audit", "--route", "copies=forward,output-topic=out",
            "--handler-option", "micros=3", "--route-option", "audit:trap-on=7", "--isolation", "process",
        ])
        let assembly = try options.routeBuilder().assemble(
            registry: .builtIn, brokers: ["127.0.0.1:1"], kafkaProperties: ["client.id": "c1ient-of-the-consumer"],
            logger: .init(label: "test"),
            isolated: true)
        #expect(assembly.workerRoutes == [
            WorkerSetup.Route(name: "orders", job: "sluice.route.orders", handler: "spin", options: ["micros": "3"], outputTopic: nil),
            WorkerSetup.Route(
                name: "audit", job: "sluice.route.audit", handler: "spin-batch", options: ["micros": "3", "trap-on": "7"], outputTopic: nil),
        ])
        #expect(assembly.routes.map(\.handler.handlesBatches) == [false, true, false])
        // Nothing of Kafka's in what the workers get.
        let setup = WorkerSetup(handler: "spin+spin-batch", options: [:], outputTopic: nil, logLevel: "info", routes: assembly.workerRoutes)
        let encoded = try setup.encoded()
        #expect(!encoded.contains("127.0.0.1:1") && !encoded.contains("c1ient-of-the-consumer"))
    }

    @Test(arguments: [
        (["--route", "orders=noop,max-batch-size=10"], false,
         "--route 'orders=noop,max-batch-size=10': max-batch-size=10: handler 'noop' handles one message at a time, not batches"),
        (["--route", "orders=forward,output-topic=o,workers=2"], false,
         "--route 'orders=forward,output-topic=o,workers=2': workers=2: handler 'forward' is asynchronous and runs under Swift concurrency, not on worker threads"),
        (["--route", "orders=spin,workers=2"], true,
         "--route 'orders=spin,workers=2': workers=2 needs --isolation thread: with --isolation process the route's handler runs in the --workers worker processes"),
        (["--route", "orders=spin", "--route-option", "orders:micros=fast"], false,
         "--route 'orders=spin': handler option micros=fast: 'fast' is not an integer"),
        (["--route", "orders=forward"], false, "--route 'orders=forward': handler 'forward' needs --output-topic"),
        (["--route", "orders=nope"], false, "--route 'orders=nope': unknown handler 'nope'; known handlers: flaky, forward, forward-batch, noop, spin, spin-batch"),
    ])
    func aRouteWhoseHandlerCannotBeMadeOrUseASettingNamesTheRoute(arguments: [String], isolated: Bool, message: String) throws {
        let builder = try ConsumerOptions.parsed(from: arguments).routeBuilder()
        #expect(throws: RouteError(description: message)) {
            _ = try builder.assemble(registry: .builtIn, brokers: [], kafkaProperties: [:], logger: .init(label: "test"), isolated: isolated)
        }
    }
}
