//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Logging
import Sluice
import SluiceTestKit
import Synchronization
import Testing

extension EngineIntegrationTests {
    /// Commit metadata against the embedded broker: what another client wrote is ignored with a
    /// warning, and what Sluice wrote is skipped by the group's next consumer.
    @Suite struct BoundedReplayEndToEnd {
        static let topic = "replay-e2e"

        /// Joins `group` with a plain librdkafka consumer, as another tool would, and commits
        /// `offset` of partition 0 with `metadata`.
        static func commitAsAnotherClient(_ broker: EmbeddedBroker, group: String, offset: Int64, metadata: String) async throws {
            var config = KafkaConsumerConfiguration(bootstrapServers: [broker.bootstrapServers], groupID: group)
            config.fetchWaitMax = .milliseconds(10)
            config.sessionTimeout = .seconds(4)
            config.common.properties["heartbeat.interval.ms"] = "250"
            config.common.properties["enable.auto.commit"] = "false"  // only the commit below
            let other = try KafkaConsumer(configuration: config, logger: EngineFixture.quietLogger)
            try other.subscribe(topics: [topic])
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: .seconds(30))
            var first: KafkaMessage?
            while first == nil, clock.now < deadline { first = try other.poll(timeout: .milliseconds(100)) }
            try #require(first != nil, "the other client was never assigned")
            try other.commit([TopicPartitionOffset(topic: topic, partition: 0, offset: offset, metadata: metadata)], mode: .sync)
            try other.close(timeout: .seconds(10))
        }

        @Test func metadataOfAnotherClientIsIgnoredWithAWarningAndEverythingFromTheCommittedOffsetIsHandled() async throws {
            let broker = try EngineFixture.broker(topic: Self.topic, partitions: 1)
            let group = "g-\(UUID().uuidString.prefix(8))"
            try EngineFixture.produce(to: Self.topic, on: broker, count: 100)
            try await Self.commitAsAnotherClient(broker, group: group, offset: 40, metadata: "{\"owner\":\"spark-job-7\"}")

            let warnings = CapturedLogs()
            let log = HandledLog()
            let consumer = try SluiceConsumer(
                configuration: EngineFixture.groupConfiguration(broker: broker, group: group, topic: Self.topic),
                handler: ClosureMessageHandler { message, _ in log.record(message) },
                logger: warnings.logger(level: .warning))
            let run = EngineFixture.start(consumer)
            let last = try await EngineFixture.awaitCommittedEnd(broker: broker, group: group, topic: Self.topic, partitions: 1)
            consumer.stop()
            try await run.value
            #expect(last.committed == [0: 100])
            #expect(log.total == 60, "40…99, each once")
            #expect(log.offsets[0]?.min() == 40)
            #expect(consumer.statistics.finishedBeforeRestart == 0)
            #expect(
                warnings.lines.contains { $0.contains("\(Self.topic)[0]: ignoring the commit metadata of offset 40 (not written by Sluice") },
                "\(warnings.lines)")
        }

        /// librdkafka's pause and resume around messages kept aside at the span bound: nothing is
        /// lost or handled twice, and the tracker never holds more than the span.
        @Test func aPartitionPausedAtItsSpanBoundLosesAndRepeatsNothing() async throws {
            let broker = try EngineFixture.broker(topic: Self.topic, partitions: 1)
            let group = "g-\(UUID().uuidString.prefix(8))"
            try EngineFixture.produce(to: Self.topic, on: broker, count: 3_000)
            var config = EngineFixture.configuration(broker: broker, group: group, topic: Self.topic)
            config.ordering = .unordered
            config.maxUncommittedSpan = 500
            // Offset 0 fails twice, two seconds apart: the partition reaches its span meanwhile.
            config.retry = RetryPolicy(maxAttempts: 3, initialBackoff: .seconds(2), multiplier: 1, maxBackoff: .seconds(2), jitter: 0)
            let attempts = Mutex(0)
            let started = try StartedConsumer.start(config) { message in
                guard message.offset == 0 else { return }
                if attempts.withLock({ count in count += 1; return count <= 2 }) { throw NonRetryableTestError() }
            }
            var mostTracked = 0
            var sawPause = false
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: .seconds(60))
            while clock.now < deadline {
                let stats = started.consumer.statistics
                mostTracked = max(mostTracked, stats.partitions.map { $0.trackedOffsets }.max() ?? 0)
                sawPause = sawPause || stats.partitions.contains { $0.isPausedBySpan }
                if stats.completed >= 3_000 { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            let last = try await EngineFixture.awaitCommittedEnd(broker: broker, group: group, topic: Self.topic, partitions: 1)
            try await started.stop()
            #expect(last.committed == [0: 3_000])
            #expect(sawPause, "the partition paused at its span")
            #expect(started.consumer.statistics.spanPauses >= 1)
            #expect(mostTracked <= 500, "\(mostTracked) offsets tracked")
            #expect(started.log.missing(of: 3_000).isEmpty)
            #expect(started.log.total == 3_002, "each message once, offset 0 three times: \(started.log.total)")
        }

        @Test func whatOneConsumerFinishedBehindAStuckMessageItsSuccessorSkips() async throws {
            let broker = try EngineFixture.broker(topic: Self.topic, partitions: 1)
            let group = "g-\(UUID().uuidString.prefix(8))"
            try EngineFixture.produce(to: Self.topic, on: broker, count: 500)
            // Members one after the other: a short session keeps each membership change short.
            var config = EngineFixture.groupConfiguration(broker: broker, group: group, topic: Self.topic)
            config.ordering = .unordered
            config.retry = RetryPolicy(maxAttempts: 100, initialBackoff: .seconds(3_600), multiplier: 1, maxBackoff: .seconds(3_600), jitter: 0)
            let stuck = try StartedConsumer.start(config) { message in
                if message.offset == 0 { throw NonRetryableTestError() }
            }
            let finished = try await EngineFixture.eventually { stuck.consumer.statistics.completed >= 499 }
            #expect(finished)
            try await stuck.stop()
            let committed = try EngineFixture.committedAndEnd(broker: broker, group: group, topic: Self.topic, partitions: 1)
            #expect(committed.committed == [0: 0], "nothing past offset 0")

            let successor = try StartedConsumer.start(EngineFixture.groupConfiguration(broker: broker, group: group, topic: Self.topic))
            let last = try await EngineFixture.awaitCommittedEnd(broker: broker, group: group, topic: Self.topic, partitions: 1)
            try await successor.stop()
            #expect(last.committed == [0: 500])
            #expect(successor.log.offsets[0] == [0], "only the stuck message runs again")
            #expect(successor.consumer.statistics.finishedBeforeRestart == 499)
        }
    }
}

/// A failure that retries keep hitting.
struct NonRetryableTestError: Error {}
