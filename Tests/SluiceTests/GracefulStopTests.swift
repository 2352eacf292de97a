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
    /// A graceful stop finishes and commits what it admitted; the next member of the group
    /// starts exactly there.
    @Suite(.timeLimit(.minutes(5)), .serialized)
    struct GracefulStopTests {
        @Test func consumerStartedAfterAGracefulStopHandlesExactlyTheRest() async throws {
            let topic = "restart"
            let group = "stop-restart"
            let partitions = 8
            let total = 20_000
            let broker = try EngineFixture.broker(topic: topic, partitions: partitions)
            try EngineFixture.produce(to: topic, on: broker, count: total)

            // The first consumer's leave starts a rebalance that the second one's join waits for.
            var config = EngineFixture.groupConfiguration(broker: broker, group: group, topic: topic)
            config.workers = 2
            config.maxInFlightMessages = 200
            let work: @Sendable (KafkaMessage) -> Void = { _ in EngineFixture.spin(for: .microseconds(200)) }
            let shared = HandledLog()

            let first = try StartedConsumer.start(config, also: shared, work: work)
            let progressed = try await EngineFixture.eventually { first.log.total >= total / 4 }
            try await first.stop()
            #expect(progressed)
            let firstCount = first.log.total
            #expect(firstCount < total, "stopped mid-run")
            // Everything admitted was drained and committed: the commit of each partition is
            // exactly the first consumer's handled prefix.
            let (afterStop, _) = try EngineFixture.committedAndEnd(
                broker: broker, group: group, topic: topic, partitions: partitions)
            let firstOffsets = first.log.offsets
            for partition in 0..<Int32(partitions) {
                let commit = afterStop[partition] ?? 0
                #expect(firstOffsets[partition, default: []] == Set(0..<commit), "partition \(partition)")
            }
            #expect(first.consumer.statistics.inFlightMessages == 0)

            let second = try StartedConsumer.start(config, also: shared, work: work)
            let allHandled = try await EngineFixture.eventually(timeout: .seconds(90)) { shared.total >= total }
            let (committed, end) = try await EngineFixture.awaitCommittedEnd(
                broker: broker, group: group, topic: topic, partitions: partitions)
            try await second.stop()

            #expect(allHandled)
            #expect(shared.distinct == total)
            #expect(shared.duplicates == 0)
            #expect(first.log.total + second.log.total == total)
            #expect(Set(first.log.counts.keys).isDisjoint(with: second.log.counts.keys))
            #expect(committed == end)
            #expect(end.values.reduce(0, +) == Int64(total))
            print("graceful stop: first handled \(firstCount), second \(second.log.total)")
        }
    }
}
