//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Logging
import Sluice
import SluiceTestKit
import Synchronization
import Testing

/// One consumer serving several topics with their own handlers, orderings and failure policies,
/// through the whole engine on the in-memory cluster.
@Suite(.timeLimit(.minutes(1))) struct RouteTestKitTests {
    typealias Recorder = TestKitTests.Recorder
    typealias BatchRecorder = BatchTestKitTests.BatchRecorder

    @Test func eachTopicReachesOnlyItsRoutesHandlerAndAFailingRouteDoesNotStopTheOther() async throws {
        let kafka = InMemoryKafka()
        kafka.createTopic("orders", partitions: 2)
        kafka.createTopic("audit.eu", partitions: 1)
        kafka.createTopic("audit.us", partitions: 1)
        kafka.createTopic("dlq.audit.eu")
        kafka.createTopic("dlq.audit.us")
        kafka.createTopic("unrelated")
        for id in 0..<200 { kafka.produce(topic: "orders", key: "k\(id % 5)", value: "\(id)") }
        for id in 0..<150 { kafka.produce(topic: id % 2 == 0 ? "audit.eu" : "audit.us", value: "a\(id)") }
        kafka.produce(topic: "unrelated", value: "not ours")
        var config = kafka.configuration(topics: [])
        config.failurePolicy = .stop
        config.retry = RetryPolicy(maxAttempts: 2, initialBackoff: .milliseconds(10), jitter: 0)
        let orders = Recorder()
        let audit = BatchRecorder(clock: kafka.clock) { message, _ in
            String(decoding: message.value, as: UTF8.self).hasSuffix("7") ? TestFailure() : nil
        }
        config.routes = [
            SluiceRoute(name: "orders", topics: ["orders"], handler: .sync(orders), ordering: .key),
            SluiceRoute(
                name: "audit", topics: ["audit.*"], handler: .batch(audit), ordering: .unordered, failurePolicy: .deadLetter(topic: "dlq.{topic}"),
                maxBatchSize: 25),
        ]
        let run = try await TestConsumer(configuration: config, kafka: kafka).run()
        #expect(run.metCondition)
        #expect(run.failure == nil, "the audit route's failures are dead-lettered, not a stop")
        #expect(orders.handled.count == 200)
        #expect(orders.handled.keys.allSatisfy { $0.hasPrefix("orders[") }, "only orders reach the orders handler")
        let auditSeen = Set(audit.calls.flatMap(\.ids))
        #expect(auditSeen.count == 150)
        #expect(auditSeen.allSatisfy { $0.hasPrefix("audit.") }, "only audit topics reach the batch handler")
        #expect(audit.sizes.max() == 25)
        let dead = (kafka.messages(in: "dlq.audit.eu") + kafka.messages(in: "dlq.audit.us")).map { String(decoding: $0.value, as: UTF8.self) }
        #expect(Set(dead) == Set((0..<150).map { "a\($0)" }.filter { $0.hasSuffix("7") }))
        #expect(dead.count == 15)
        #expect(kafka.messages(in: "dlq.audit.us").allSatisfy { $0.headers.contains { $0.name == "sluice-source-topic" && $0.value == Array("audit.us".utf8) } })
        #expect(run.committed[TopicPartition(topic: "unrelated", partition: 0)] == nil, "no route, no subscription")
        for topic in ["orders", "audit.eu", "audit.us"] {
            for (tp, end) in kafka.endOffsets(of: topic) { #expect(run.committed[tp] == end, "\(tp)") }
        }
    }

    @Test func aFailingRouteUnderTheStopPolicyStopsTheConsumerNamingItsMessage() async throws {
        let kafka = InMemoryKafka()
        kafka.createTopic("orders")
        kafka.createTopic("payments")
        for id in 0..<20 {
            kafka.produce(topic: "orders", value: "\(id)")
            kafka.produce(topic: "payments", value: "\(id)")
        }
        var config = kafka.configuration(topics: [])
        config.retry = .none
        config.routes = [
            SluiceRoute(topics: ["orders"], handler: .sync(Recorder()), failurePolicy: .skip),
            SluiceRoute(topics: ["payments"], handler: .sync(Recorder { message, _ in message.offset == 12 ? TestFailure() : nil }), failurePolicy: .stop),
        ]
        let run = try await TestConsumer(configuration: config, kafka: kafka).run()
        let failure = try #require(run.failure)
        #expect(failure.topic == "payments" && failure.offset == 12)
        #expect((run.committed[TopicPartition(topic: "payments", partition: 0)] ?? 0) <= 12)
    }

    @Test func badRoutesAreRefusedWithAnErrorNamingThem() throws {
        func error(_ configure: (inout SluiceConfiguration) -> Void) -> String {
            var config = SluiceConfiguration(brokers: ["127.0.0.1:9092"], groupID: "g", topics: [])
            configure(&config)
            do {
                try config.validate()
                return "valid"
            } catch {
                return "\(error)"
            }
        }
        let handler = SluiceHandler.sync(Recorder())
        #expect(error { _ in } .contains("no topics given"))
        #expect(error { $0.routes = [SluiceRoute(topics: ["a"], handler: handler), SluiceRoute(topics: ["a"], handler: handler)] }
            .contains("two routes are named 'a'"))
        #expect(error { $0.routes = [SluiceRoute(name: "x", topics: ["a"], handler: handler), SluiceRoute(name: "y", topics: ["b", "a"], handler: handler)] }
            .contains("topic 'a' is in both route 'x' and route 'y'"))
        #expect(error { $0.routes = [SluiceRoute(topics: ["audit/*"], handler: handler)] }.contains("topic pattern 'audit/*' has the character '/'"))
        #expect(error { $0.routes = [SluiceRoute(name: "r", topics: [], handler: handler)] }.contains("route 'r' has no topics"))
        #expect(error {
            $0.maxInFlightMessages = 100
            $0.routes = [SluiceRoute(topics: ["a"], handler: handler, maxInFlightMessages: 101)]
        }.contains("route 'a': max in-flight messages must be 1...100 (the consumer's window), got 101"))
        #expect(error {
            $0.topics = ["c"]
            $0.routes = [SluiceRoute(topics: ["a"], handler: handler)]
        }.contains("topic 'c' is in topics but no route serves it"))
        #expect(error { $0.routes = [SluiceRoute(topics: ["a"], handler: handler, failurePolicy: .deadLetter(topic: "a"))] }
            .contains("route 'a': the dead-letter topic of a is a itself"))
        #expect(error { $0.routes = [SluiceRoute(topics: ["a"], handler: handler, maxBatchSize: 0)] }.contains("route 'a': max batch size must be at least 1, got 0"))
        #expect(error {
            $0.topics = ["a"]
            $0.maxBatchDelay = .milliseconds(-1)
        }.contains("max batch delay must not be negative"))
        #expect(error { $0.routes = [SluiceRoute(name: "audit", topics: ["audit.*"], handler: handler, failurePolicy: .deadLetter())] }
            .contains("route 'audit': pattern 'audit.*' matches its own dead-letter topics (audit.x → audit.x.dlq)"))
        #expect(error {
            $0.failurePolicy = .deadLetter()
            $0.routes = [SluiceRoute(name: "audit", topics: ["audit.*.events"], handler: handler)]
        } == "valid", "audit.x.events.dlq is not audit.*.events")
        #expect(error { $0.routes = [SluiceRoute(topics: ["orders", "audit.*"], handler: handler)] } == "valid")
    }

    @Test func topicPatternsMatchAndSubscribeLikeTheirGlob() {
        let pattern = TopicPattern("audit.*")
        #expect(pattern.matches("audit.eu") && pattern.matches("audit.us.west") && pattern.matches("audit."))
        #expect(!pattern.matches("audit") && !pattern.matches("auditXeu") && !pattern.matches("x.audit.eu"))
        #expect(pattern.subscription == "^audit\\..*$")
        let middle = TopicPattern("a*-b*")
        #expect(middle.matches("a1-b2") && middle.matches("a-b") && !middle.matches("a-c"))
        #expect(TopicPattern("orders").subscription == "orders")
        #expect(TopicPattern("orders").matches("orders") && !TopicPattern("orders").matches("orders2"))
    }
}
