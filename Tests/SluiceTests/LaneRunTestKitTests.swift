//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Sluice
import SluiceTestKit
import Synchronization
import Testing

/// Lane runs through the whole engine (test kit, manual clock): a key's or a partition's backlog
/// runs on one worker in order, and a failure in the middle of it holds the rest back, un-run,
/// until its retry is done.
@Suite(.timeLimit(.minutes(1))) struct LaneRunTestKitTests {
    /// Records every call, in order, with its attempt.
    final class CallLog: MessageHandler {
        private let calls = Mutex<[(key: String, offset: Int64, attempt: Int)]>([])
        private let failing: @Sendable (KafkaMessage, Int) -> Bool

        init(failing: @escaping @Sendable (KafkaMessage, Int) -> Bool) {
            self.failing = failing
        }

        func handle(_ message: KafkaMessage, context: HandlerContext) throws {
            let key = message.key.map { String(decoding: $0, as: UTF8.self) } ?? "-"
            calls.withLock { $0.append((key, message.offset, context.attempt)) }
            if failing(message, context.attempt) { throw TestFailure() }
        }

        /// The calls of one key (all when `nil`), in the order they ran: offset and attempt.
        func calls(of key: String?) -> [String] {
            calls.withLock { $0.filter { key == nil || $0.key == key }.map { "\($0.offset)#\($0.attempt)" } }
        }
    }

    @Test(arguments: [OrderingMode.key, .partition])
    func aFailureInALanesBacklogHoldsItsRestUntilTheRetrySucceeds(ordering: OrderingMode) async throws {
        let kafka = InMemoryKafka()
        kafka.createTopic("orders", partitions: 1)
        // Two keys interleaved: a at even offsets, b at odd ones.
        for id in 0..<40 { kafka.produce(topic: "orders", key: id % 2 == 0 ? "a" : "b", value: "\(id)") }
        var config = kafka.configuration(topics: ["orders"])
        config.ordering = ordering
        config.maxInFlightMessages = 40
        config.retry = RetryPolicy(maxAttempts: 3, initialBackoff: .seconds(5), jitter: 0)
        // Offset 10 (key a) fails twice.
        let handler = CallLog { message, attempt in message.offset == 10 && attempt < 3 }
        let run = try await TestConsumer(configuration: config, kafka: kafka, handler: handler).run()
        #expect(run.failure == nil)
        #expect(run.committed[TopicPartition(topic: "orders", partition: 0)] == 40)
        #expect(run.statistics.retried == 2)
        // Key a: 0…8 once, 10 three times, then 12…38 once each, first attempts: nothing of a ran
        // while 10 waited, and no message after it was charged an attempt.
        let a = (0..<5).map { "\($0 * 2)#1" } + ["10#1", "10#2", "10#3"] + (6..<20).map { "\($0 * 2)#1" }
        #expect(handler.calls(of: "a") == a)
        // Key b: every message once, in order (in `key` mode another lane, which did not wait).
        #expect(handler.calls(of: "b") == (0..<20).map { "\($0 * 2 + 1)#1" })
        if ordering == .partition {
            // One lane for the partition: everything after 10 waited for its retries.
            #expect(handler.calls(of: nil) == (0...10).map { "\($0)#1" } + ["10#2", "10#3"] + (11..<40).map { "\($0)#1" })
        }
    }
}
