//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Sluice
import Testing

extension EngineIntegrationTests {
    /// The asynchronous handler path: I/O-bound handlers under Swift concurrency, bounded only by
    /// the window.
    @Suite(.timeLimit(.minutes(5)), .serialized)
    struct AsyncHandlerTests {
        @Test func asyncHandlersRunHundredsAtOnceAndCommitTheLogEnd() async throws {
            let topic = "async"
            let group = "async-handler"
            let partitions = 8
            let total = 20_000
            let broker = try EngineFixture.broker(topic: topic, partitions: partitions)
            try EngineFixture.produce(to: topic, on: broker, count: total)

            var config = EngineFixture.configuration(broker: broker, group: group, topic: topic)
            config.ordering = .unordered
            config.maxInFlightMessages = 500
            let probe = ConcurrencyProbe()
            let log = HandledLog()
            let consumer = try SluiceConsumer(
                configuration: config,
                asyncHandler: ClosureAsyncMessageHandler { message, _ in
                    probe.enter(lane: nil, offset: message.offset)
                    try await Task.sleep(for: .milliseconds(1))
                    probe.exit(lane: nil)
                    log.record(message)
                },
                logger: EngineFixture.quietLogger)
            let run = EngineFixture.start(consumer)
            let allHandled = try await EngineFixture.eventually(timeout: .seconds(90)) { log.total >= total }
            let (committed, end) = try await EngineFixture.awaitCommittedEnd(
                broker: broker, group: group, topic: topic, partitions: partitions)
            consumer.stop()
            try await run.value

            #expect(allHandled)
            #expect(log.distinct == total)
            #expect(log.duplicates == 0)
            #expect(committed == end)
            #expect(end.values.reduce(0, +) == Int64(total))
            #expect(probe.maximum > 100)
            #expect(probe.maximum <= config.maxInFlightMessages)
            let stats = consumer.statistics
            #expect(stats.completed == total)
            #expect(stats.inFlightMessages == 0)
            print("async handler: max concurrency \(probe.maximum)")
        }
    }
}
