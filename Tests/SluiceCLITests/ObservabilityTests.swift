//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Logging
@testable import Sluice
@testable import SluiceCLI
import SluiceProcessPool
import Synchronization
import Testing
import Tracing
import W3CTraceContext

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The metrics and health endpoint and trace propagation, in this process against an embedded
/// broker (the process tests cover the same through `sluice run`).
@Suite(.timeLimit(.minutes(5)), .serialized)
struct ObservabilityTests {
    /// A consumer and its endpoint, running.
    struct Running {
        let consumer: SluiceConsumer
        let run: Task<Void, any Error>
        let server: Task<Void, any Error>
        let port: Int

        func get(_ path: String) async throws -> (status: Int, body: String) {
            let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)\(path)")!)
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
        }

        func stop() async throws {
            consumer.stop()
            try await run.value
            server.cancel()
            _ = await server.result
        }
    }

    static var logger: Logger {
        var logger = Logger(label: "sluice.test")
        logger.logLevel = .warning
        return logger
    }

    static func start(_ consumer: SluiceConsumer, livenessTTL: Duration = .seconds(30)) async throws -> Running {
        let bound = Mutex<Int?>(nil)
        let server = ObservabilityServer(consumer: consumer, port: 0, livenessTTL: livenessTTL, logger: logger) { port in
            bound.withLock { $0 = port }
        }
        let serverTask = Task { try await server.run() }
        let run = Task { try await consumer.run() }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(10))
        while bound.withLock({ $0 }) == nil, clock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        let port = try #require(bound.withLock { $0 }, "the endpoint did not start")
        return Running(consumer: consumer, run: run, server: serverTask, port: port)
    }

    static func configuration(_ broker: EmbeddedBroker, topic: String, group: String) -> SluiceConfiguration {
        var config = SluiceConfiguration(brokers: [broker.bootstrapServers], groupID: group, topics: [topic])
        config.kafka.fetchWaitMax = .milliseconds(10)
        config.commitInterval = .milliseconds(200)
        config.kafka.sessionTimeout = .seconds(4)
        config.kafka.common.properties["heartbeat.interval.ms"] = "250"
        return config
    }

    /// `properties` go to the producer (e.g. `batch.num.messages`: the embedded broker answers a
    /// fetch with one producer batch per partition, whatever the fetch's size limit).
    static func produce(
        _ broker: EmbeddedBroker, topic: String, count: Int, properties: [String: String] = [:],
        headers: (Int) -> [KafkaHeader] = { _ in [] }
    ) throws {
        let configuration = KafkaProducerConfiguration(bootstrapServers: [broker.bootstrapServers], properties: properties)
        let producer = try KafkaProducer(configuration: configuration, logger: logger)
        for id in 0..<count {
            try producer.produce(
                KafkaProducerMessage(
                    topic: topic, key: Array("k\(id % 50)".utf8), value: Array("\(id)".utf8),
                    headers: [KafkaHeader(name: "sluice-id", string: "\(id)")] + headers(id)),
                blockWhenQueueFull: true) { _ in }
        }
        try producer.close(timeout: .seconds(30))
    }

    /// Produces `count` messages, each with a `traceparent` header of a trace of its own;
    /// returns those trace contexts by message id.
    static func produceTraced(_ broker: EmbeddedBroker, topic: String, count: Int) throws -> [Int: TraceContext] {
        let parents = Dictionary(uniqueKeysWithValues: (0..<count).map { id in
            (id, TraceContext(traceID: .random(), spanID: .random(), flags: .sampled, state: TraceState()))
        })
        try produce(broker, topic: topic, count: count) { id in
            [KafkaHeader(name: "traceparent", string: parents[id]!.traceParentHeaderValue)]
        }
        return parents
    }

    /// Reads `topic` from the beginning until `count` messages arrived (30 s at most).
    static func read(_ broker: EmbeddedBroker, topic: String, count: Int) throws -> [KafkaMessage] {
        try readTopic(bootstrapServers: broker.bootstrapServers, topic: topic, count: count, settle: .zero)
    }

    /// `name{labels} value` lines of a scrape whose name and labels contain `filter`.
    static func samples(_ scrape: String, _ name: String, containing filter: String = "") -> [Double] {
        scrape.split(separator: "\n").filter { line in
            line.hasPrefix(name + "{") || line.hasPrefix(name + " ")
        }.filter { filter.isEmpty || $0.contains(filter) }.compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }
    }

    @Test func metricsCountWhatWasHandledDuringAndAfterARunAndLagReachesZero() async throws {
        PrometheusExport.bootstrap()
        let topic = "metrics-\(UUID().uuidString.prefix(8))"
        let total = 6_000
        let broker = try EmbeddedBroker(logger: Self.logger)
        try broker.createTopic(topic, partitions: 4)
        try broker.createTopic("\(topic).dlq", partitions: 1)
        try Self.produce(broker, topic: topic, count: total)
        var config = Self.configuration(broker, topic: topic, group: "metrics")
        config.workers = 2
        config.failurePolicy = .deadLetter()
        config.retry = RetryPolicy(maxAttempts: 2, initialBackoff: .milliseconds(10), jitter: 0)
        // Slow enough (about 1 s in all) for scrapes to catch the run midway.
        let poison = total / 300
        let consumer = try SluiceConsumer(
            configuration: config,
            handler: ClosureMessageHandler { message, context in
                SpinHandler.spin(micros: 300)
                try FlakyHandler(failEvery: 300, transient: 0).handle(message, context: context)
            },
            logger: Self.logger)
        let running = try await Self.start(consumer)
        let filter = "topic=\"\(topic)\""
        var midway = 0
        var finished = false
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(60))
        var last = ""
        while clock.now < deadline {
            let (status, scrape) = try await running.get("/metrics")
            #expect(status == 200)
            last = scrape
            let handled = Self.samples(scrape, "sluice_messages_handled_total", containing: filter).first ?? 0
            let lags = Self.samples(scrape, "sluice_consumer_lag", containing: filter)
            if handled > 0, handled < Double(total - poison) { midway += 1 }
            if handled == Double(total - poison), lags.count == 4, lags.allSatisfy({ $0 == 0 }) {
                finished = true
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(finished, "handled and lag 0 on 4 partitions:\n\(last.split(separator: "\n").filter { $0.contains(topic) }.joined(separator: "\n"))")
        #expect(midway > 0, "at least one scrape during the run")
        let stats = consumer.statistics
        try await Task.sleep(for: .milliseconds(600))  // one more publication
        let (_, during) = try await running.get("/metrics")
        running.consumer.stop()
        _ = try await running.run.value
        // The server outlives the consumer here: a scrape after the run sees the final counts.
        let (_, after) = try await running.get("/metrics")
        running.server.cancel()
        _ = await running.server.result

        for scrape in [during, after] {
            #expect(Self.samples(scrape, "sluice_messages_consumed_total", containing: filter) == [Double(total)])
            #expect(Self.samples(scrape, "sluice_messages_handled_total", containing: filter) == [Double(total - poison)])
            #expect(Self.samples(scrape, "sluice_messages_dead_lettered_total", containing: filter) == [Double(poison)])
            #expect(Self.samples(scrape, "sluice_messages_failed_total", containing: filter) == [Double(poison)])
            #expect(Self.samples(scrape, "sluice_messages_retried_total", containing: filter) == [Double(poison)])
            #expect(Self.samples(scrape, "sluice_handler_duration_seconds_count", containing: filter) == [Double(total + poison)])
        }
        #expect(stats.topics[topic]?.handled == total - poison)
        #expect(Self.samples(during, "sluice_in_flight_messages") == [0])
        #expect(Self.samples(during, "sluice_assigned_partitions") == [4])
        #expect((Self.samples(during, "sluice_commits_total", containing: "success").first ?? 0) >= 1)
        #expect((Self.samples(during, "sluice_rebalance_events_total", containing: "assigned").first ?? 0) >= 1)
        #expect(Self.samples(after, "sluice_assigned_partitions") == [0], "the assignment is gone after the run")
        #expect(during.contains("# TYPE sluice_handler_duration_seconds histogram"))
    }

    /// With a prefetch queue far smaller than the backlog, the consumer wakes librdkafka's
    /// fetcher once per refill, and the count reaches `/metrics`.
    @Test func fetcherWakeUpsReachTheMetrics() async throws {
        PrometheusExport.bootstrap()
        let topic = "wakeups-\(UUID().uuidString.prefix(8))"
        let total = 30_000
        let broker = try EmbeddedBroker(logger: Self.logger)
        try broker.createTopic(topic, partitions: 4)
        // Small batches make small fetches, and many refills: the embedded broker answers a fetch
        // with one producer batch per partition and ignores `max.partition.fetch.bytes`, so with
        // the producer's own batching a few fetches could carry the whole topic.
        try Self.produce(broker, topic: topic, count: total, properties: ["batch.num.messages": "200"])
        var config = Self.configuration(broker, topic: topic, group: "wakeups")
        config.kafka.wakesStalledFetcher = true
        config.kafka.queuedMinMessages = 1_000  // kept: not the default
        let consumer = try SluiceConsumer(configuration: config, handler: ClosureMessageHandler { _, _ in }, logger: Self.logger)
        let running = try await Self.start(consumer)
        let filter = "topic=\"\(topic)\""
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(60))
        var handled = 0.0
        while clock.now < deadline, handled < Double(total) {
            try await Task.sleep(for: .milliseconds(100))
            handled = Self.samples(try await running.get("/metrics").1, "sluice_messages_handled_total", containing: filter).first ?? 0
        }
        try await Task.sleep(for: .milliseconds(600))  // one more publication
        let (_, scrape) = try await running.get("/metrics")
        running.consumer.stop()
        _ = try await running.run.value
        running.server.cancel()
        _ = await running.server.result
        #expect(handled == Double(total))
        // Process-wide, like every counter here: no other test of this process fills its queue.
        let wakeUps = Self.samples(scrape, "sluice_fetcher_wakeups_total").first ?? 0
        #expect(wakeUps >= 5, "\(wakeUps) wake-ups for \(total) messages through a queue of 1,000")
    }

    @Test func liveFailsWhileTheLoopIsStalledAndReadyFollowsTheAssignment() async throws {
        let topic = "health-\(UUID().uuidString.prefix(8))"
        let broker = try EmbeddedBroker(logger: Self.logger)
        try broker.createTopic(topic, partitions: 2)
        let config = Self.configuration(broker, topic: topic, group: "health")
        let first = try SluiceConsumer(configuration: config, handler: ClosureMessageHandler { _, _ in }, logger: Self.logger)
        let running = try await Self.start(first, livenessTTL: .seconds(1))

        let (earlyStatus, early) = try await running.get("/health/ready")
        #expect(earlyStatus == 503, "not ready while joining the group: \(early)")
        #expect(early.contains("\"status\":\"unavailable\""))
        let clock = ContinuousClock()
        var deadline = clock.now.advanced(by: .seconds(20))
        var readyStatus = 0
        while clock.now < deadline {
            readyStatus = try await running.get("/health/ready").status
            if readyStatus == 200 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(readyStatus == 200, "ready once assigned")
        let (liveStatus, live) = try await running.get("/health/live")
        #expect(liveStatus == 200)
        #expect(live.contains("\"phase\":\"consuming\""), "\(live)")
        #expect(live.contains("\"assignedPartitions\":2"), "\(live)")

        // A stuck loop: past the 1 s TTL the probe fails, and recovers once the loop turns again.
        first.stallPollLoop(for: .milliseconds(2_500))
        var sawStalled = false
        deadline = clock.now.advanced(by: .seconds(2))
        while clock.now < deadline, !sawStalled {
            sawStalled = try await running.get("/health/live").status == 503
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(sawStalled, "live fails while the loop is stalled")
        var liveAgain = false
        deadline = clock.now.advanced(by: .seconds(5))
        while clock.now < deadline, !liveAgain {
            liveAgain = try await running.get("/health/live").status == 200
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(liveAgain, "live again once the loop turns")

        // A second member joins: the first gives its partitions back (not ready), then gets its share.
        let second = try SluiceConsumer(configuration: config, handler: ClosureMessageHandler { _, _ in }, logger: Self.logger)
        let secondRun = Task { try await second.run() }
        var sawRebalance = false
        var readyAgain = false
        deadline = clock.now.advanced(by: .seconds(30))
        while clock.now < deadline {
            let status = try await running.get("/health/ready").status
            if status == 503 { sawRebalance = true }
            if sawRebalance, status == 200, second.health().isReady {
                readyAgain = true
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(sawRebalance, "not ready during the rebalance")
        #expect(readyAgain, "ready again with its share")
        #expect(first.health().assignedPartitions == 1)
        second.stop()
        _ = try? await secondRun.value
        running.consumer.stop()
        _ = try await running.run.value
        let (stoppedStatus, stopped) = try await running.get("/health/live")
        #expect(stoppedStatus == 503, "a stopped consumer is not live: \(stopped)")
        #expect(stopped.contains("\"phase\":\"stopped\""))
        running.server.cancel()
        _ = await running.server.result
    }

    @Test func traceparentOfAnInputMessageReachesTheOutputAndDeadLetterMessagesWithTheSameTraceID() async throws {
        W3CTestTracer.bootstrap
        let topic = "traced-\(UUID().uuidString.prefix(8))"
        let total = 200
        let broker = try EmbeddedBroker(logger: Self.logger)
        for name in [topic, "\(topic).out", "\(topic).dlq"] { try broker.createTopic(name, partitions: 2) }
        let inputs = try Self.produceTraced(broker, topic: topic, count: total)
        var config = Self.configuration(broker, topic: topic, group: "traced")
        config.failurePolicy = .deadLetter()
        config.retry = .none
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: [broker.bootstrapServers]), logger: Self.logger)
        let forward = ForwardHandler(producer: producer, topic: "\(topic).out")
        let consumer = try SluiceConsumer(
            configuration: config,
            asyncHandler: ClosureAsyncMessageHandler { message, context in
                let id = Int(message.headers.string(named: "sluice-id") ?? "") ?? -1
                if id % 10 == 3 { throw FlakyHandler.Failure(description: "poison \(id)") }
                try await forward.handle(message, context: context)
            },
            logger: Self.logger)
        let run = Task { try await consumer.run() }
        let outputs = try Self.read(broker, topic: "\(topic).out", count: total - total / 10)
        let letters = try Self.read(broker, topic: "\(topic).dlq", count: total / 10)
        consumer.stop()
        try await run.value
        try producer.close(timeout: .seconds(5))

        #expect(outputs.count == total - total / 10)
        #expect(letters.count == total / 10)
        for message in outputs + letters {
            let id = try #require(Int(message.headers.string(named: "sluice-id") ?? ""))
            let header = try #require(message.headers.string(named: "traceparent"), "no traceparent on \(id)")
            let written = try TraceContext(traceParentHeaderValue: header)
            let input = try #require(inputs[id])
            #expect(written.traceID == input.traceID, "message \(id) continues its trace")
            #expect(written.spanID != input.spanID, "from a span of its own, a child of the input's")
            #expect(message.headers.filter { $0.name == "traceparent" }.count == 1, "one traceparent, replaced")
        }
    }

    @Test func aBatchRunsInOneSpanLinkedToEveryMessagesTrace() async throws {
        W3CTestTracer.bootstrap
        let topic = "traced-batch-\(UUID().uuidString.prefix(8))"
        let total = 120
        let broker = try EmbeddedBroker(logger: Self.logger)
        try broker.createTopic(topic, partitions: 1)
        let inputs = try Self.produceTraced(broker, topic: topic, count: total)
        var config = Self.configuration(broker, topic: topic, group: "traced-batch")
        config.ordering = .unordered
        config.maxBatchSize = 40
        config.maxBatchDelay = .milliseconds(50)
        let handled = Mutex(0)
        let consumer = try SluiceConsumer(
            configuration: config,
            batchHandler: ClosureBatchMessageHandler { messages, _ in
                handled.withLock { $0 += messages.count }
                return .done
            },
            logger: Self.logger)
        let run = Task { try await consumer.run() }
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while handled.withLock({ $0 }) < total, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        consumer.stop()
        try await run.value

        let spans = W3CTestTracer.ended.withLock { $0 }.filter { $0.operationName == "\(topic) process" }
        let batches = consumer.statistics.batches
        #expect(spans.count == batches, "one span per batch call: \(spans.count) spans, \(batches) batches")
        #expect(spans.count < total, "not one per message")
        let linked = spans.flatMap(\.linkedTraceIDs)
        #expect(linked.count == total)
        #expect(Set(linked) == Set(inputs.values.map(\.traceID)), "every message's trace is linked from its batch's span")
        for span in spans {
            #expect(span.attributes["messaging.batch.message_count"]?.toSpanAttribute() == .int64(Int64(span.linkedTraceIDs.count)))
        }
    }

    /// Worker processes get a lane's backlog in frames of lane runs; a run stops at its first
    /// failure and the rest of it goes back to its lane un-run. Each call that ran has one span
    /// (and one handler duration); the members a failure skipped have none: they had no call
    /// then, and get their span when they run.
    @Test func workerProcessFramesTraceOnlyTheCallsThatRan() async throws {
        W3CTestTracer.bootstrap
        let topic = "traced-frames-\(UUID().uuidString.prefix(8))"
        let total = 400
        let broker = try EmbeddedBroker(logger: Self.logger)
        try broker.createTopic(topic, partitions: 1)
        _ = try Self.produceTraced(broker, topic: topic, count: total)
        var config = Self.configuration(broker, topic: topic, group: "traced-frames")
        config.ordering = .partition
        config.workers = 2
        config.retry = .none
        config.failurePolicy = .skip
        config.messageLimit = total
        let setup = WorkerSetup(handler: "flaky", options: ["fail-every": "25"], outputTopic: nil, logLevel: "warning")
        var isolation = try IsolationOptions.parsed(from: ["--isolation", "process"])
            .processIsolation(setup: setup, group: "traced-frames", environment: [:])
        isolation.pool.executable = SluiceProcess.executable.path
        let consumer = try SluiceConsumer(configuration: config, isolation: isolation, logger: Self.logger)
        try await consumer.run()  // until the message limit

        let statistics = consumer.statistics
        #expect(statistics.completed == total)
        #expect(statistics.skipped == total / 25, "ids 24, 49, … fail once each")
        let spans = W3CTestTracer.ended.withLock { $0 }.filter { $0.operationName == "\(topic) process" }
        #expect(spans.count == total, "one span per call that ran: \(spans.count) for \(total) calls")
        let offsets = spans.compactMap { $0.attributes["messaging.kafka.offset"]?.toSpanAttribute() }
        #expect(Set(offsets.map { "\($0)" }).count == total, "each message's call once")
    }
}
