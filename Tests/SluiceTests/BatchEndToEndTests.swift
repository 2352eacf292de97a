//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Logging
import Sluice
import Synchronization
import Testing

extension EngineIntegrationTests {
    /// Batch handlers and routes against the embedded broker: real librdkafka, real worker
    /// threads, regular-expression subscriptions.
    @Suite struct BatchEndToEnd {
        @Test func aBatchHandlerOnWorkerThreadsHandlesEveryMessageOnceAndCommitsToTheEnd() async throws {
            let topic = "batch-e2e"
            let broker = try EngineFixture.broker(topic: topic, partitions: 4)
            let group = "g-\(UUID().uuidString.prefix(8))"
            try EngineFixture.produce(to: topic, on: broker, count: 5_000, keys: 50)
            var config = EngineFixture.configuration(broker: broker, group: group, topic: topic)
            config.workers = 2
            config.ordering = .key
            config.maxBatchSize = 200
            config.maxBatchDelay = .milliseconds(20)
            let log = HandledLog()
            let sizes = Mutex<[Int]>([])
            let consumer = try SluiceConsumer(
                configuration: config,
                batchHandler: ClosureBatchMessageHandler { messages, _ in
                    for message in messages { log.record(message) }
                    sizes.withLock { $0.append(messages.count) }
                    return .done
                },
                logger: EngineFixture.quietLogger)
            let run = EngineFixture.start(consumer)
            let last = try await EngineFixture.awaitCommittedEnd(broker: broker, group: group, topic: topic, partitions: 4)
            consumer.stop()
            try await run.value
            #expect(last.committed == last.end)
            #expect(log.missing(of: 5_000).isEmpty)
            #expect(log.duplicates == 0)
            let calls = sizes.withLock { $0 }
            #expect(calls.reduce(0, +) == 5_000)
            #expect(calls.max() ?? 0 > 1, "messages went in batches: \(calls.count) calls")
            #expect(consumer.statistics.batches == calls.count)
        }

        @Test func routesSubscribeByPatternAndEachTopicReachesOnlyItsHandler() async throws {
            let broker = try EngineFixture.broker(topic: "route-orders", partitions: 2)
            try broker.createTopic("route-audit.eu", partitions: 1)
            try broker.createTopic("route-audit.us", partitions: 1)
            let group = "g-\(UUID().uuidString.prefix(8))"
            try EngineFixture.produce(to: "route-orders", on: broker, count: 300)
            try EngineFixture.produce(to: "route-audit.eu", on: broker, count: 200, from: 1_000)
            try EngineFixture.produce(to: "route-audit.us", on: broker, count: 100, from: 2_000)
            var config = EngineFixture.configuration(broker: broker, group: group, topic: "route-orders")
            config.topics = []
            let orders = HandledLog()
            let audit = HandledLog()
            config.routes = [
                SluiceRoute(name: "orders", topics: ["route-orders"], handler: .sync(ClosureMessageHandler { message, _ in orders.record(message) })),
                SluiceRoute(
                    name: "audit", topics: ["route-audit.*"],
                    handler: .batch(ClosureBatchMessageHandler { messages, _ in
                        for message in messages { audit.record(message) }
                        return .done
                    }),
                    ordering: .unordered, workers: 1),
            ]
            let consumer = try SluiceConsumer(configuration: config, logger: EngineFixture.quietLogger)
            let run = EngineFixture.start(consumer)
            let handled = try await EngineFixture.eventually(timeout: .seconds(60)) { orders.total >= 300 && audit.total >= 300 }
            #expect(handled, "orders \(orders.total), audit \(audit.total)")
            consumer.stop()
            try await run.value
            #expect(orders.missing(of: 300).isEmpty && orders.duplicates == 0)
            #expect(orders.counts.keys.allSatisfy { $0 < 1_000 }, "only route-orders reaches the orders handler")
            #expect(Set(audit.counts.keys) == Set(1_000..<1_200).union(2_000..<2_100), "both audit topics, by the pattern")
            #expect(audit.duplicates == 0)
            for topic in ["route-orders", "route-audit.eu", "route-audit.us"] {
                let partitions = topic == "route-orders" ? 2 : 1
                let state = try EngineFixture.committedAndEnd(broker: broker, group: group, topic: topic, partitions: partitions)
                #expect(state.committed == state.end, "\(topic)")
            }
        }
    }
}
