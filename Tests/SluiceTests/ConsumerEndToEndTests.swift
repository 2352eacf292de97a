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

@Suite(.timeLimit(.minutes(5)), .serialized)
struct ConsumerEndToEndTests {
    @Test func handlesEveryMessageOnceAndCommitsTheLogEnd() async throws {
        let topic = "orders"
        let broker = try EngineFixture.broker(topic: topic, partitions: 16)
        let total = 100_000
        let produced = try EngineFixture.produce(to: topic, on: broker, count: total)
        #expect(produced.values.reduce(0, +) == total)

        let log = HandledLog()
        var config = EngineFixture.configuration(broker: broker, group: "e2e", topic: topic)
        config.workers = 2
        let consumer = try SluiceConsumer(
            configuration: config, handler: ClosureMessageHandler { message, _ in log.record(message) },
            logger: EngineFixture.quietLogger)
        let run = Task { try await consumer.run() }
        let allHandled = try await EngineFixture.eventually(timeout: .seconds(120)) { log.total >= total }
        #expect(allHandled)
        // Commits follow completion within a commit interval.
        let committedAll = try await EngineFixture.eventually(timeout: .seconds(30)) {
            consumer.statistics.partitions.reduce(0) { $0 + Int($1.committed ?? 0) } == total
        }
        #expect(committedAll)
        consumer.stop()
        try await run.value

        #expect(log.total == total)
        #expect(log.distinct == total)
        #expect(log.duplicates == 0)
        let (committed, end) = try EngineFixture.committedAndEnd(
            broker: broker, group: "e2e", topic: topic, partitions: 16)
        #expect(committed == end)
        #expect(end.values.reduce(0, +) == Int64(total))
        let stats = consumer.statistics
        #expect(stats.consumed == total)
        #expect(stats.completed == total)
        #expect(stats.failed == 0)
        #expect(stats.inFlightMessages == 0)
    }
}
