//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SluiceKafka
import Testing

extension KafkaComponentTests {
    /// Headers come back exactly as written, whether a record has none, a few or many, and whatever
    /// its value: the consumer skips librdkafka's header parse only for records without headers
    /// (`RecordHeaderProbe`).
    @Suite(.timeLimit(.minutes(5)), .serialized)
    struct HeaderRoundTripTests {
        /// Record `index`: 0, 1, 2 or 64 headers, over values that are null, empty, one zero byte,
        /// short, and longer than a one-byte length.
        private static func message(_ index: Int) -> KafkaProducerMessage {
            let headerCount = [0, 1, 2, 64][index % 4]
            let value: [UInt8]? =
                switch (index / 4) % 6 {
                case 0: nil
                case 1: []
                case 2: [0]
                case 3: Array("value-\(index)".utf8)
                case 4: [UInt8](repeating: 0, count: 100)
                default: [UInt8](repeating: UInt8(index % 256), count: 300)
                }
            return KafkaProducerMessage(
                topic: testTopic, key: index % 3 == 0 ? nil : Array("key-\(index)".utf8), value: value,
                headers: (0..<headerCount).map { KafkaHeader(name: "h\($0)", string: $0 == 0 ? "\(index)" : "") })
        }

        @Test func everyMixOfHeadersAndValuesComesBackAsWritten() async throws {
            try await withBroker(partitions: 1) { broker in
                let messages = (0..<480).map(Self.message)
                let producer = try makeProducer(broker)
                _ = try await produce(messages, with: producer)
                try producer.close(timeout: .seconds(10))

                let consumer = try makeConsumer(broker, group: "header-round-trip")
                let received = try await onThread { try consume(from: consumer, until: { $0.count >= messages.count }) }
                try await close(consumer)

                #expect(received.count == messages.count)
                #expect(received.map(\.offset) == Array(0..<Int64(messages.count)), "one partition, read in order")
                let mismatches = zip(received, messages).enumerated().filter { Record($0.element.0) != Record($0.element.1) }
                #expect(
                    mismatches.isEmpty,
                    "\(mismatches.count) mismatches, e.g. \(mismatches.prefix(2).map { "#\($0.offset): got \(Record($0.element.0)), sent \(Record($0.element.1))" })")
                #expect(received.filter { $0.headers.isEmpty }.count == messages.count / 4, "a quarter written without headers")
                #expect(received.map(\.headers.count).max() == 64)
            }
        }
    }
}
