//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Logging
import Sluice
import SluiceTestKit
import Synchronization
import Testing

/// Bounded replay through the whole engine on the in-memory cluster: a restart skips what finished
/// before it, foreign metadata is ignored with a warning, and one stuck message pauses only its
/// own partition.
@Suite(.timeLimit(.minutes(1))) struct BoundedReplayTestKitTests {
    typealias Recorder = TestKitTests.Recorder

    /// Offset 0 of `partition` fails on every attempt, an hour apart; everything else succeeds.
    static func stuckAtZero(_ config: inout SluiceConfiguration, partition: Int32 = 0) -> Recorder {
        config.ordering = .unordered
        config.retry = RetryPolicy(maxAttempts: 100, initialBackoff: .seconds(3_600), multiplier: 1, maxBackoff: .seconds(3_600), jitter: 0)
        return Recorder { message, _ in message.partition == partition && message.offset == 0 ? TestFailure() : nil }
    }

    @Test func aRestartHandlesOnlyWhatWasUnfinishedNotTheSpanBehindIt() async throws {
        let kafka = TestKitTests.kafka(partitions: 1, messages: 2_000)
        let tp = TopicPartition(topic: "orders", partition: 0)
        var config = kafka.configuration(topics: ["orders"])
        let first = Self.stuckAtZero(&config)
        let before = try await TestConsumer(configuration: config, kafka: kafka, handler: first).run(until: .completed(1_999))
        #expect(before.metCondition)
        #expect(before.committed[tp] ?? 0 == 0, "offset 0 never finished")
        let metadata = try #require(kafka.committed(tp)?.metadata)
        #expect(try CommitMetadata.decode(metadata, committedOffset: 0) == FinishedOffsets(commitPoint: 0, offsets: 1..<2_000))

        let second = Recorder()
        let after = try await TestConsumer(configuration: kafka.configuration(topics: ["orders"]), kafka: kafka, handler: second).run()
        #expect(after.metCondition)
        #expect(second.handled.count == 1, "only the unfinished message runs again, not the 1,999 behind it")
        #expect(second.handled["orders[0]@0"] == 1)
        #expect(after.statistics.finishedBeforeRestart == 1_999)
        #expect(after.statistics.topics["orders"]?.finishedBeforeRestart == 1_999)
        #expect(after.committed[tp] == 2_000)
        #expect(kafka.committed(tp)?.metadata == nil, "nothing above the commit point: an ordinary commit")
    }

    @Test(arguments: ["written by another tool", "sluice1:b:5:BwI:0badc0de", "sluice9:r:5:AGQ:00000000"])
    func foreignOrCorruptMetadataIsIgnoredWithAWarningAndEverythingFromTheCommittedOffsetIsHandled(metadata: String) async throws {
        let kafka = TestKitTests.kafka(partitions: 1, messages: 30)
        let tp = TopicPartition(topic: "orders", partition: 0)
        kafka.writeCommitted([TopicPartitionOffset(tp, offset: 5, metadata: metadata)])
        let warnings = CapturedLogs()
        let handler = Recorder()
        let run = try await TestConsumer(
            configuration: kafka.configuration(topics: ["orders"]), kafka: kafka, handler: handler, logger: warnings.logger(level: .warning)
        ).run()
        #expect(run.failure == nil)
        #expect(handler.handled.count == 25)
        #expect(handler.handled["orders[0]@5"] == 1)
        #expect(run.statistics.finishedBeforeRestart == 0)
        #expect(run.committed[tp] == 30)
        let warning = try #require(warnings.lines.first { $0.contains("ignoring the commit metadata") }, "\(warnings.lines)")
        #expect(warning.contains("orders[0]"))
        #expect(warning.contains("offset 5"))
    }

    @Test func oneStuckMessagePausesItsPartitionAloneWithinTheSpanWhileTheOthersFinish() async throws {
        let kafka = InMemoryKafka()
        kafka.createTopic("orders", partitions: 2)
        for id in 0..<3_000 {
            kafka.produce(topic: "orders", partition: 0, value: "\(id)")
            kafka.produce(topic: "orders", partition: 1, value: "\(id)")
        }
        var config = kafka.configuration(topics: ["orders"])
        config.maxUncommittedSpan = 500
        config.stuckMessageWarning = .seconds(30)
        let handler = Self.stuckAtZero(&config)
        let mostTracked = Mutex(0)
        let warnings = CapturedLogs()
        let run = try await TestConsumer(configuration: config, kafka: kafka, handler: handler, logger: warnings.logger(level: .warning)).run(
            until: .when { stats in
                mostTracked.withLock { $0 = max($0, stats.partitions.map(\.trackedOffsets).max() ?? 0) }
                let stuck = stats.partitions.first { $0.topicPartition.partition == 0 }
                return stats.completed >= 3_499 && (stuck?.oldestUnfinishedAge ?? .zero) >= .seconds(40)
            })
        #expect(run.metCondition)
        #expect(mostTracked.withLock { $0 } == 500)
        #expect(run.committed[TopicPartition(topic: "orders", partition: 1)] == 3_000, "the other partition finished everything")
        #expect(handler.handled.keys.filter { $0.hasPrefix("orders[0]") }.count == 499, "within the span behind offset 0")
        #expect(run.statistics.spanPauses == 1)
        #expect(warnings.lines.contains { $0.contains("orders[0] paused: 500 offsets behind its commit point 0") }, "\(warnings.lines)")
        #expect(warnings.lines.contains { $0.contains("orders[0]@0 has held the partition's commit point for") && $0.contains("attempt 2") && $0.contains("499 later offsets are done") }, "\(warnings.lines)")
    }
}
