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

    private static func work(_ offset: Int64, runLane: OrderingLane?) -> InFlightWork {
        var work = InFlightWork(
            message: KafkaMessage(topic: "t", partition: 0, offset: offset, value: [1]), weight: 1, lane: nil, route: 0, epoch: 1,
            polledAt: 0)
        work.runLane = runLane
        return work
    }

    /// In a worker process, a chunk's lane runs stop at their first failure: the rest of that run
    /// is skipped (not handled), other runs and messages outside runs go on.
    @Test func aWorkerProcessStopsEachLaneRunOfAChunkAtItsFirstFailure() throws {
        let handled = Mutex<[Int64]>([])
        let failing: Set<Int64> = [1, 5, 6]
        let handler = ClosureMessageHandler { message, _ in
            handled.withLock { $0.append(message.offset) }
            if failing.contains(message.offset) { throw TestFailure() }
        }
        // Runs 0-3 and 4-5, then 6 and 7 each on their own.
        let messages = (0..<8).map { (message: KafkaMessage(topic: "t", partition: 0, offset: Int64($0), value: [1]), attempt: 1) }
        let answer = try ProcessIsolation.handleChunk(
            WireMessage.encode(chunk: messages, runLengths: [4, 2]), with: handler, logger: Logger(label: "test"))
        let outcomes = try WireMessage.decodeOutcomes(answer, expected: 8)
        #expect(!outcomes.wholeBatch)
        let kinds = outcomes.outcomes.map { outcome -> String in
            switch outcome {
            case .success: "ok"
            case .skipped: "skipped"
            case .failure: "failed"
            }
        }
        #expect(kinds == ["ok", "failed", "skipped", "skipped", "ok", "failed", "failed", "ok"])
        #expect(handled.withLock { $0 } == [0, 1, 4, 5, 6, 7], "the skipped members never reached the handler")
        #expect(HandlerInvoker.result(of: .skipped).error is LaneRunSkipped)
    }

    /// A chunk's lane runs are read off its works, and a chunk that failed as a whole (its worker
    /// crashed) blames each run's first member and hands the rest of each run back.
    @Test func aCrashedChunkFailsEachRunsFirstMemberAndHandsTheRestBack() {
        let a = OrderingLane.key(LanePartition(number: 0), digest: 1)
        let b = OrderingLane.key(LanePartition(number: 0), digest: 2)
        let works = [Self.work(0, runLane: a), Self.work(1, runLane: a), Self.work(2, runLane: a),
                     Self.work(3, runLane: b), Self.work(4, runLane: b)]
        #expect(HandlerInvoker.runLengths(works) == [3, 2])
        #expect(HandlerInvoker.runLengths(works.map { var w = $0; w.runLane = nil; return w }) == [])
        let results = HandlerInvoker.failedChunkResults(works, error: TestFailure())
        let blamed = results.map { !($0.error is LaneRunSkipped) }
        #expect(blamed == [true, false, false, true, false])
        #expect(results[0].error is TestFailure && results[3].error is TestFailure)
        // Outside runs, every message of the chunk is blamed.
        let loose = [Self.work(7, runLane: nil), Self.work(8, runLane: nil)]
        #expect(HandlerInvoker.failedChunkResults(loose, error: TestFailure()).allSatisfy { $0.error is TestFailure })
    }
}

