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

        /// With every broker down, a graceful stop ends within the drain timeout plus the close
        /// budget (the final commit and the close have deadlines), and a second, immediate stop
        /// ends it within the immediate budget: well within 5 s.
        @Test(arguments: [false, true])
        func aStopWithTheBrokersDownEndsWithinItsBudget(secondStop: Bool) async throws {
            let topic = "unresponsive"
            let broker = try EngineFixture.broker(topic: topic, partitions: 2)
            try EngineFixture.produce(to: topic, on: broker, count: 200)
            var config = EngineFixture.configuration(broker: broker, group: "stop-down-\(secondStop)", topic: topic)
            config.drainTimeout = .seconds(3)
            config.closeTimeout = .seconds(8)
            let release = Atomic<Bool>(false)
            // One message's call runs until released: the drain has something to wait for.
            let started = try StartedConsumer.start(config) { message in
                guard HandledLog.id(of: message) == 150 else { return }
                while !release.load(ordering: .relaxed) { Thread.sleep(forTimeInterval: 0.01) }
            }
            defer { release.store(true, ordering: .relaxed) }
            // Message 150's call runs (a chunk of cheap calls may wait behind it on its thread).
            #expect(try await EngineFixture.eventually(timeout: .seconds(30)) { started.log.counts[150] != nil })
            try broker.setBrokerDown()
            let clock = ContinuousClock()
            let begin = clock.now
            started.consumer.stop()
            if secondStop {
                try await Task.sleep(for: .milliseconds(500))
                started.consumer.stop(immediately: true)
            }
            try await started.run.value
            let took = begin.duration(to: clock.now)
            if secondStop {
                #expect(took < .seconds(5), "a second stop ends it at once: \(took)")
            } else {
                #expect(took >= .seconds(3), "the drain waited for the running call: \(took)")
                #expect(took < .seconds(3 + 8 + 3), "drain timeout plus close budget (and a margin): \(took)")
            }
            try broker.setBrokerUp()
        }

        /// When every worker thread has been inside one call for longer than the liveness TTL, the
        /// consumer is not live (the poll loop alone still turns).
        @Test func workersAllStuckInOneCallMakeTheConsumerNotLive() async throws {
            let topic = "stuck"
            let broker = try EngineFixture.broker(topic: topic, partitions: 2)
            try EngineFixture.produce(to: topic, on: broker, count: 20)
            var config = EngineFixture.configuration(broker: broker, group: "stuck-workers", topic: topic)
            config.workers = 2
            config.ordering = .unordered
            let release = Atomic<Bool>(false)
            let started = try StartedConsumer.start(config) { _ in
                while !release.load(ordering: .relaxed) { Thread.sleep(forTimeInterval: 0.01) }
            }
            defer { release.store(true, ordering: .relaxed) }
            let ttl = Duration.milliseconds(500)
            #expect(try await EngineFixture.eventually(timeout: .seconds(30)) { started.log.total >= 2 })
            #expect(try await EngineFixture.eventually(timeout: .seconds(10)) { !started.consumer.health(livenessTTL: ttl).isLive })
            let stuck = started.consumer.health(livenessTTL: ttl)
            #expect(stuck.stuckWorkers == 2, "\(stuck)")
            #expect(stuck.sinceLastTurn.map { $0 < ttl } == true, "the poll loop itself still turns: \(stuck)")
            #expect(stuck.description.contains("all 2 workers inside one call"), "\(stuck)")
            release.store(true, ordering: .relaxed)
            #expect(try await EngineFixture.eventually(timeout: .seconds(10)) { started.consumer.health(livenessTTL: ttl).isLive })
            try await started.stop()
            #expect(started.log.total == 20)
        }
    }
}
