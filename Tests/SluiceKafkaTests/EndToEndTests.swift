//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SluiceKafka
import Testing

extension KafkaComponentTests {
    /// Messages go through the embedded broker and come back intact, each exactly once.
    @Suite(.timeLimit(.minutes(5)), .serialized)
    struct EndToEndTests {
        @Test func groupConsumesEveryProducedMessageExactlyOnceWithKeysValuesAndHeaders() async throws {
            try await withBroker(partitions: 8) { broker in
                let count = 10_000
                let messages = (0..<count).map { testMessage(id: $0) }
                let producer = try makeProducer(broker)
                let reports = try await produce(messages, with: producer)
                try producer.close(timeout: .seconds(10))

                let consumer = try makeConsumer(broker, group: "end-to-end")
                let (received, extra) = try await onThread {
                    let received = try consume(from: consumer, until: { $0.count >= count })
                    return (received, try drain(consumer))
                }
                try await close(consumer)

                #expect(received.count == count)
                #expect(extra.isEmpty, "duplicates after every message was consumed: \(extra.prefix(5))")
                let ids = received.compactMap(\.testID)
                #expect(ids.count == received.count, "every message carries its id header")
                #expect(Set(ids) == Set(0..<count))
                #expect(Set(ids).count == ids.count, "no id twice")

                // Contents: key, value (empty vs tombstone) and headers (order, null value, repeated name).
                var mismatches: [String] = []
                for message in received {
                    guard let id = message.testID else { continue }
                    if Record(message) != Record(messages[id]) {
                        mismatches.append("id \(id): got \(Record(message)), sent \(Record(messages[id]))")
                    }
                    // Where the producer was told it landed is where the consumer found it.
                    let report = reports[id]
                    if message.topic != testTopic || message.partition != report.partition
                        || message.offset != report.offset
                    {
                        mismatches.append("id \(id): read at \(message), delivered at \(report)")
                    }
                }
                #expect(mismatches.isEmpty, "\(mismatches.count) mismatches, e.g. \(mismatches.prefix(3))")
                let tombstones = received.filter { $0.isTombstone && $0.value.isEmpty }.count
                let emptyValues = received.filter { !$0.isTombstone && $0.value.isEmpty }.count
                #expect(tombstones == count / 1000, "ids ending in 998 are tombstones")
                #expect(emptyValues == count / 1000, "ids ending in 999 have empty values")

                // Offsets: per partition 0..<n, contiguous, read in order; n matches the delivery reports.
                let expectedCounts = countsPerPartition(reports)
                #expect(expectedCounts.count == 8, "keys spread over all partitions: \(expectedCounts)")
                let offsetsByPartition = Dictionary(grouping: received, by: \.partition).mapValues { $0.map(\.offset) }
                #expect(Set(offsetsByPartition.keys) == Set(0..<8))
                for (partition, offsets) in offsetsByPartition {
                    let n = expectedCounts[partition] ?? 0
                    #expect(offsets == Array(0..<Int64(n)), "partition \(partition) read in order, 0..<\(n)")
                }
            }
        }
    }
}
