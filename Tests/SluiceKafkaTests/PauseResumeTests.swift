//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SluiceKafka
import Testing

extension KafkaComponentTests {
    /// Pausing a partition stops its delivery without touching the others; resuming continues
    /// exactly where the application stopped.
    @Suite(.timeLimit(.minutes(5)), .serialized)
    struct PauseResumeTests {
        private static let paused = TopicPartition(topic: testTopic, partition: 0)
        private static let flowing = TopicPartition(topic: testTopic, partition: 1)

        private static func batch(_ ids: Range<Int>, to partition: TopicPartition) -> [KafkaProducerMessage] {
            ids.map { testMessage(id: $0, partition: partition.partition) }
        }

        @Test func pausedPartitionDeliversNothingWhileOthersFlowAndResumesWithoutLossOrDuplicates() async throws {
            try await withBroker(partitions: 2) { broker in
                let producer = try makeProducer(broker)
                // 200 messages in each partition; partition 0 carries ids 0..., partition 1 ids 10_000...
                _ = try await produce(
                    Self.batch(0..<200, to: Self.paused) + Self.batch(10_000..<10_200, to: Self.flowing), with: producer)

                let consumer = try makeConsumer(broker, group: "pause-resume")
                // Stop right after the 50th message of partition 0: librdkafka has prefetched more of it.
                let beforePause = try await onThread {
                    try consume(from: consumer, until: { received in
                        received.last?.partition == Self.paused.partition
                            && received.lazy.filter { $0.partition == Self.paused.partition }.count == 50
                    })
                }
                let pausedOffsetsBefore = beforePause.filter { $0.partition == Self.paused.partition }.map(\.offset)
                #expect(pausedOffsetsBefore == Array(0..<50))
                try consumer.pause([Self.paused])
                #expect(try consumer.assignment().contains(Self.paused), "a paused partition stays assigned")

                // More for both partitions while partition 0 is paused.
                _ = try await produce(
                    Self.batch(200..<300, to: Self.paused) + Self.batch(10_200..<10_300, to: Self.flowing), with: producer)
                let flowingBeforePause = beforePause.filter { $0.partition == Self.flowing.partition }.count
                let whilePaused = try await onThread {
                    let received = try consume(from: consumer, until: { received in
                        received.filter { $0.partition == Self.flowing.partition }.count >= 300 - flowingBeforePause
                    })
                    // Partition 0's new messages were written before partition 1's: had it been
                    // fetching, they would have arrived by now. Give it a little longer anyway.
                    return received + (try drain(consumer, quietPeriod: .milliseconds(300)))
                }
                let deliveredWhilePaused = whilePaused.filter { $0.partition == Self.paused.partition }
                #expect(deliveredWhilePaused.isEmpty, "the paused partition delivered \(deliveredWhilePaused)")
                let flowingOffsets = (beforePause + whilePaused).filter { $0.partition == Self.flowing.partition }.map(\.offset)
                #expect(flowingOffsets == Array(0..<300), "the other partition kept flowing, in order, once each")

                // Resume: partition 0 continues at offset 50 (the prefetched 50..<200 were discarded
                // on pause and are fetched again), through the messages written while paused.
                try consumer.resume([Self.paused])
                let afterResume = try await onThread {
                    let received = try consume(from: consumer, until: { $0.count >= 250 })
                    return received + (try drain(consumer))
                }
                let otherAfterResume = afterResume.filter { $0.partition != Self.paused.partition }
                #expect(otherAfterResume.isEmpty)
                #expect(afterResume.map(\.offset) == Array(50..<300), "no loss, no duplicate, in order")
                #expect(afterResume.compactMap(\.testID) == Array(50..<300))

                try producer.close(timeout: .seconds(10))
                try await close(consumer)
            }
        }
    }
}
