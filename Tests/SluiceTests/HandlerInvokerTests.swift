//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Logging
@testable import Sluice
import SluiceFutures
import Synchronization
import Testing

/// A chunk of messages runs on one worker with one context rebound to each call: every call must
/// still see its own attempt and its own message in the context's logger.
@Suite struct HandlerInvokerTests {
    @Test func eachCallOfAChunkSeesItsOwnAttemptAndMessage() throws {
        let seen = Mutex<[(attempt: Int, topic: String, partition: String, offset: String)]>([])
        let handler = ClosureMessageHandler { _, context in
            let metadata = context.logger
            seen.withLock {
                $0.append((
                    context.attempt, "\(metadata[metadataKey: "kafka.topic"] ?? "-")",
                    "\(metadata[metadataKey: "kafka.partition"] ?? "-")", "\(metadata[metadataKey: "kafka.offset"] ?? "-")"))
            }
        }
        let invoker = HandlerInvoker.sync(handler, InlineExecutor(), activity: nil)
        let topic = "orders-with-a-name-longer-than-fifteen-bytes"
        var works = [(Int32(3), Int64(10), 1), (3, 11, 2), (4, 7, 1)].map { partition, offset, attempt in
            var work = InFlightWork(
                message: KafkaMessage(topic: topic, partition: partition, offset: offset, value: [1]), weight: 1, lane: nil,
                route: 0, epoch: 1, polledAt: 0)
            work.attempt = attempt
            return work
        }
        works.append(works[0])  // the first message again, at its next attempt
        works[3].attempt = 3
        let finished = Mutex<Int>(0)
        invoker.run(
            works, context: { HandlerContext(attempt: $0.attempt, logger: Logger(label: "test"), message: $0.message) },
            timeout: nil,
            observers: HandlerObservers(tracing: MessageTracing(groupID: "g"), metrics: EngineMetrics(topics: [topic], routes: ["consumer"])),
            started: { _ in }, measure: { _ in }
        ) { works, results, _ in
            finished.withLock { $0 += works.count }
            #expect(results.allSatisfy { if case .success = $0 { true } else { false } })
        }
        #expect(finished.withLock { $0 } == 4)
        let calls = seen.withLock { $0 }
        #expect(calls.map(\.attempt) == [1, 2, 1, 3])
        #expect(calls.map(\.topic) == Array(repeating: topic, count: 4))
        #expect(calls.map(\.partition) == ["3", "3", "4", "3"])
        #expect(calls.map(\.offset) == ["10", "11", "7", "10"])
    }
}
