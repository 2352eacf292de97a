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
    /// Brokers going away and coming back mid-run: nothing is lost.
    @Suite(.timeLimit(.minutes(5)), .serialized)
    struct BrokerOutageTests {
        @Test func allBrokersDownAndUpMidRunLosesNothing() async throws {
            let topic = "outage"
            let group = "broker-outage"
            let partitions = 6
            let total = 20_000
            let broker = try EngineFixture.broker(topic: topic, partitions: partitions, brokers: 3)
            try EngineFixture.produce(to: topic, on: broker, count: total)

            var config = EngineFixture.configuration(broker: broker, group: group, topic: topic)
            config.workers = 2
            config.maxInFlightMessages = 200
            // A small prefetch, so that the outage stops fetching mid-run rather than after
            // everything is already in memory.
            config.kafka.queuedMinMessages = 200
            let started = try StartedConsumer.start(config) { _ in EngineFixture.spin(for: .microseconds(300)) }
            let log = started.log
            do {
                #expect(try await EngineFixture.eventually { log.total >= total / 4 })
                try broker.setBrokerDown(nil)
                // The outage lasts 2 s: a fault's duration, not a synchronisation.
                try await Task.sleep(for: .seconds(2))
                let duringOutage = log.total
                try broker.setBrokerUp(nil)

                let allHandled = try await EngineFixture.eventually(timeout: .seconds(120)) { log.distinct >= total }
                let (committed, end) = try await EngineFixture.awaitCommittedEnd(
                    broker: broker, group: group, topic: topic, partitions: partitions, timeout: .seconds(60))
                try await started.stop()

                #expect(allHandled)
                let missing = log.missing(of: total)
                #expect(missing.count == 0, "never handled, first: \(missing.prefix(5))")
                #expect(committed == end)
                #expect(end.values.reduce(0, +) == Int64(total))
                #expect(duringOutage < total, "the outage happened mid-run")
                print("broker outage: \(duringOutage) handled by the end of the outage, duplicates \(log.duplicates)")
            } catch {
                await [started].stopAll()
                throw error
            }
        }
    }
}
