//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SluiceKafka
import Testing

extension KafkaComponentTests {
    /// Consuming does not leak: every librdkafka message is destroyed once its bytes are copied.
    @Suite(.timeLimit(.minutes(5)), .serialized)
    struct MemoryTests {
        @Test func consumingHalfAMillionMessagesDoesNotGrowMemory() async throws {
            // The mock keeps about 5 MB / 100k message sets per partition: 16 partitions of small
            // messages stay far below that.
            let partitions = 16
            let warmUp = 100_000
            let total = 500_000
            try await withBroker(partitions: partitions) { broker in
                let producer = try makeProducer(broker) { $0.linger = .milliseconds(20) }
                let reports = try await produce(count: total, with: producer, chunk: 50_000) { index in
                    // 16-byte values: the index, zero-padded.
                    let digits = Array(String(index).utf8)
                    return KafkaProducerMessage(
                        topic: testTopic, partition: Int32(index % partitions), value: Array(repeating: UInt8(ascii: "0"), count: 16 - digits.count) + digits)
                }
                try producer.close(timeout: .seconds(10))
                let expectedCounts = countsPerPartition(reports)
                #expect(expectedCounts.count == partitions)

                let consumer = try makeConsumer(broker, group: "memory") { configuration in
                    // A modest prefetch, so that the queue's own size does not blur the measurement.
                    configuration.queuedMinMessages = 50_000
                    configuration.queuedMaxKilobytes = 8_192
                }
                let result = try await onThread { () -> (before: Int, after: Int, count: Int, outOfOrder: Int, next: [Int32: Int64]) in
                    var before = 0
                    let read = try pollInOrder(consumer, target: total, timeout: .seconds(60)) { count in
                        if count == warmUp { before = try residentBytes() }
                    }
                    return (before, try residentBytes(), read.count, read.outOfOrder, read.next)
                }
                try await close(consumer)

                #expect(result.count == total)
                #expect(result.outOfOrder == 0)
                #expect(result.next == expectedCounts.mapValues { Int64($0) })
                let growth = result.after - result.before
                #expect(growth < 100 * 1_048_576, """
                    RSS grew by \(growth / 1_048_576) MiB while consuming \(total - warmUp) messages \
                    (from \(result.before / 1_048_576) MiB to \(result.after / 1_048_576) MiB)
                    """)
            }
        }
    }
}
