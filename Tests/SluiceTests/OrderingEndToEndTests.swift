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
    /// The ordering modes on a real consumer: what may run at once, and in which order.
    @Suite(.timeLimit(.minutes(5)), .serialized)
    struct OrderingEndToEndTests {
        @Test(arguments: OrderingMode.allCases)
        func orderingModeLimitsWhatRunsAtOnce(_ mode: OrderingMode) async throws {
            let topic = "ordering"
            let group = "ordering-\(mode)"
            let partitions = 4
            let total = 6_000
            let keys = 8
            let broker = try EngineFixture.broker(topic: topic, partitions: partitions)
            try EngineFixture.produce(to: topic, on: broker, count: total, keys: keys)

            var config = EngineFixture.configuration(broker: broker, group: group, topic: topic)
            config.ordering = mode
            config.workers = 2
            config.maxInFlightMessages = 200
            let probe = ConcurrencyProbe()
            // The lane this mode serializes on, as the probe names it.
            let lane: @Sendable (KafkaMessage) -> String? = { message in
                switch mode {
                case .key: "\(message.partition)/\(message.keyString ?? "")"
                case .partition: "\(message.partition)"
                default: nil
                }
            }
            let started = try StartedConsumer.start(config) { message in
                let name = lane(message)
                probe.enter(lane: name, offset: message.offset)
                EngineFixture.spin(for: .microseconds(100))
                probe.exit(lane: name)
            }
            let log = started.log
            let allHandled = try await EngineFixture.eventually(timeout: .seconds(90)) { log.total >= total }
            let (committed, end) = try await EngineFixture.awaitCommittedEnd(
                broker: broker, group: group, topic: topic, partitions: partitions)
            try await started.stop()

            #expect(allHandled)
            #expect(log.distinct == total)
            #expect(log.duplicates == 0)
            #expect(committed == end)
            switch mode {
            case .key:
                #expect(probe.overlaps.isEmpty, "same key ran concurrently: \(probe.overlaps.prefix(3))")
                #expect(probe.outOfOrder.isEmpty, "key out of offset order: \(probe.outOfOrder.prefix(3))")
                #expect(probe.laneCount == keys)
                #expect(probe.maximum > 1, "different keys ran in parallel")
            case .partition:
                #expect(probe.overlaps.isEmpty, "one partition ran two at once: \(probe.overlaps.prefix(3))")
                #expect(probe.outOfOrder.isEmpty, "partition out of offset order: \(probe.outOfOrder.prefix(3))")
                #expect(probe.maximum <= config.workers)
                #expect(probe.maximum > 1, "different partitions ran in parallel")
            default:
                #expect(probe.maximum > 1)
                #expect(probe.maximum <= config.workers)
            }
            print("ordering \(mode): max concurrency \(probe.maximum)")
        }
    }
}
