//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Sluice
import Synchronization
import Testing
import _SluiceTime

extension EngineIntegrationTests {
    /// Handlers slower than `max.poll.interval.ms` with the window full: the consumer pauses and
    /// keeps polling, so the group keeps the member.
    @Suite(.timeLimit(.minutes(5)), .serialized)
    struct SlowHandlerTests {
        @Test func handlerSlowerThanMaxPollIntervalKeepsTheMemberAndLosesNothing() async throws {
            let topic = "slow"
            let group = "slow-handler"
            let partitions = 4
            let total = 2_000
            let broker = try EngineFixture.broker(topic: topic, partitions: partitions)
            try EngineFixture.produce(to: topic, on: broker, count: total)

            var config = EngineFixture.configuration(broker: broker, group: group, topic: topic)
            config.workers = 2
            config.maxInFlightMessages = 2
            config.kafka.maxPollInterval = .seconds(3)
            config.kafka.sessionTimeout = .seconds(3)
            // librdkafka's default heartbeat (3 s) would time the session out on its own.
            config.kafka.common.properties["heartbeat.interval.ms"] = "1000"
            config.pauseThreshold = .seconds(1)
            config.drainTimeout = .seconds(2)
            // The first four calls (two waves filling the window of two) each outlast
            // max.poll.interval.ms; the rest are fast.
            let slowCalls = 4
            let slowFor = Duration.milliseconds(3_500)
            let calls = Atomic<Int>(0)
            let started = try StartedConsumer.start(config) { _ in
                if calls.add(1, ordering: .relaxed).oldValue < slowCalls {
                    Thread.sleep(forTimeInterval: Double(slowFor.milliseconds) / 1_000)
                }
            }
            let log = started.log

            let allHandled = try await EngineFixture.eventually(timeout: .seconds(90)) { log.total >= total }
            let (committed, end) = try await EngineFixture.awaitCommittedEnd(
                broker: broker, group: group, topic: topic, partitions: partitions)
            let during = started.consumer.statistics
            try await started.stop()

            #expect(allHandled)
            let missing = log.missing(of: total)
            #expect(missing.isEmpty, "\(missing.count) never handled, first \(missing.prefix(5))")
            #expect(log.duplicates == 0, "a revocation or lost assignment made messages run twice")
            #expect(committed == end)
            #expect(end.values.reduce(0, +) == Int64(total))
            // One assignment and no revocation or loss until the stop.
            #expect(during.rebalances == 1)
            #expect(during.pauses >= 1)
            #expect(during.completed == total)
            print("slow handler: pauses \(during.pauses), rebalances before stop \(during.rebalances)")
        }
    }
}
