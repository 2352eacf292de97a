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
    /// A window that stays full past the pause threshold pauses the partitions; they resume once
    /// it drains, and nothing is lost or repeated across the pause (librdkafka purges prefetched
    /// messages on pause and fetches them again on resume).
    @Suite(.timeLimit(.minutes(5)), .serialized)
    struct FullWindowPauseTests {
        @Test func fullWindowPausesAndResumesWithEveryMessageHandledOnce() async throws {
            let topic = "pause"
            let group = "pause-resume"
            let partitions = 8
            let total = 6_000
            let broker = try EngineFixture.broker(topic: topic, partitions: partitions)
            try EngineFixture.produce(to: topic, on: broker, count: total)

            var config = EngineFixture.configuration(broker: broker, group: group, topic: topic)
            config.workers = 2
            config.maxInFlightMessages = 2
            config.pauseThreshold = .milliseconds(500)
            // Two waves of slow calls, each filling the window for longer than the threshold; the
            // rest is fast, so resumed partitions deliver thousands of messages after each pause.
            let calls = Atomic<Int>(0)
            let started = try StartedConsumer.start(config) { _ in
                let call = calls.add(1, ordering: .relaxed).oldValue
                if call < 2 || (3_000..<3_002).contains(call) {
                    Thread.sleep(forTimeInterval: 0.8)
                }
            }
            let log = started.log

            let allHandled = try await EngineFixture.eventually(timeout: .seconds(90)) { log.total >= total }
            let (committed, end) = try await EngineFixture.awaitCommittedEnd(
                broker: broker, group: group, topic: topic, partitions: partitions)
            let stats = started.consumer.statistics
            try await started.stop()

            #expect(allHandled)
            let missing = log.missing(of: total)
            #expect(missing.count == 0, "never handled, first: \(missing.prefix(5))")
            #expect(log.duplicates == 0)
            #expect(log.total == total)
            #expect(committed == end)
            #expect(end.values.reduce(0, +) == Int64(total))
            #expect(stats.pauses >= 1)
            #expect(!stats.isPaused)
            #expect(stats.completed == total)
            print("full window: \(stats.pauses) pauses")
        }

        /// A consumer whose partitions are revoked while it is paused, and that drains before
        /// getting some of them back, fetches them again. librdkafka keeps the pause flag of a
        /// partition across unassign and assign; the engine must not leave it set.
        @Test func partitionsRevokedWhilePausedFetchAgainWhenReassigned() async throws {
            let topic = "repause"
            let group = "revoked-while-paused"
            let partitions = 4
            let total = 4_000
            let broker = try EngineFixture.broker(topic: topic, partitions: partitions)
            try EngineFixture.produce(to: topic, on: broker, count: total)

            var config = EngineFixture.groupConfiguration(broker: broker, group: group, topic: topic)
            config.workers = 2
            config.maxInFlightMessages = 2
            config.pauseThreshold = .milliseconds(500)
            let shared = HandledLog()
            // The first consumer's first two calls fill its window for 2 s, so it pauses.
            let calls = Atomic<Int>(0)
            var members: [StartedConsumer] = []
            do {
                let first = try StartedConsumer.start(config, also: shared) { _ in
                    if calls.add(1, ordering: .relaxed).oldValue < 2 { Thread.sleep(forTimeInterval: 2) }
                }
                members.append(first)
                let paused = try await EngineFixture.eventually(timeout: .seconds(30)) {
                    first.consumer.statistics.isPaused
                }
                #expect(paused)
                // A second member joins: the first is revoked while paused, drains, and gets half
                // of the partitions back.
                let second = try StartedConsumer.start(config, also: shared)
                members.append(second)

                let allHandled = try await EngineFixture.eventually(timeout: .seconds(60)) {
                    shared.distinct >= total
                }
                let (committed, end) = try await EngineFixture.awaitCommittedEnd(
                    broker: broker, group: group, topic: topic, partitions: partitions)
                let firstStats = first.consumer.statistics
                for member in members { try await member.stop() }

                #expect(allHandled)
                let missing = shared.missing(of: total)
                #expect(missing.count == 0, "never handled, first: \(missing.prefix(5))")
                #expect(committed == end)
                #expect(firstStats.pauses >= 1)
                // The first member handled messages after getting partitions back.
                #expect(first.log.total > 2)
                print("revoked while paused: first handled \(first.log.total), second \(second.log.total), duplicates \(shared.duplicates)")
            } catch {
                await members.stopAll()
                throw error
            }
        }
    }
}
