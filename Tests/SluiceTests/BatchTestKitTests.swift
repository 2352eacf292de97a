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

/// Batch handlers through the whole engine on the in-memory cluster and its manual clock:
/// batches form by size, bytes and delay within the ordering mode, each message's outcome counts
/// on its own, and nothing is committed past a failed message.
@Suite(.timeLimit(.minutes(1))) struct BatchTestKitTests {
    /// One call of a batch handler.
    struct Call: Sendable {
        var ids: [String]
        var keys: [String?]
        var attempts: [Int]
        var partitions: Set<Int32>
        var offsets: [Int64]
        var at: Duration
    }

    /// Records every batch; `failing` decides per message (an error fails that index), `throwing`
    /// per batch (an error fails it whole).
    final class BatchRecorder: BatchMessageHandler {
        private let state = Mutex<[Call]>([])
        private let clock: ManualClock
        private let start: ManualClock.Instant
        private let failing: @Sendable (KafkaMessage, Int) -> (any Error)?
        private let throwing: @Sendable ([KafkaMessage], [Int]) -> (any Error)?

        init(
            clock: ManualClock, failing: @escaping @Sendable (KafkaMessage, Int) -> (any Error)? = { _, _ in nil },
            throwing: @escaping @Sendable ([KafkaMessage], [Int]) -> (any Error)? = { _, _ in nil }
        ) {
            self.clock = clock
            self.start = clock.now
            self.failing = failing
            self.throwing = throwing
        }

        func handle(_ messages: [KafkaMessage], context: BatchContext) throws -> BatchOutcome {
            state.withLock {
                $0.append(Call(
                    ids: messages.map(\.id), keys: messages.map { $0.key.map { String(decoding: $0, as: UTF8.self) } },
                    attempts: context.attempts, partitions: Set(messages.map(\.partition)), offsets: messages.map(\.offset),
                    at: start.duration(to: clock.now)))
            }
            if let error = throwing(messages, context.attempts) { throw error }
            var outcome = BatchOutcome.done
            for (index, message) in messages.enumerated() {
                if let error = failing(message, context.attempts[index]) { outcome.fail(index, error) }
            }
            return outcome
        }

        var calls: [Call] { state.withLock { $0 } }
        var sizes: [Int] { calls.map(\.ids.count) }
        /// How often each message was in a batch.
        var seen: [String: Int] { calls.flatMap(\.ids).reduce(into: [:]) { $0[$1, default: 0] += 1 } }
    }

    static func kafka(_ topic: String = "orders", partitions: Int = 1, messages: Int, keys: Int = 7, size: Int? = nil) -> InMemoryKafka {
        let kafka = InMemoryKafka()
        kafka.createTopic(topic, partitions: partitions)
        for id in 0..<messages {
            let value = size.map { String(repeating: "x", count: $0) } ?? "\(id)"
            kafka.produce(topic: topic, key: "k\(id % keys)", value: value)
        }
        return kafka
    }

    @Test func aBacklogFormsFullBatchesAndEveryMessageIsHandledOnceAndCommitted() async throws {
        let kafka = Self.kafka(partitions: 2, messages: 1_000)
        var config = kafka.configuration(topics: ["orders"])
        config.ordering = .unordered
        config.maxBatchSize = 100
        config.maxBatchDelay = .seconds(10)
        let handler = BatchRecorder(clock: kafka.clock)
        let run = try await TestConsumer(configuration: config, kafka: kafka, batchHandler: handler).run()
        #expect(run.metCondition)
        #expect(run.failure == nil)
        #expect(handler.sizes == Array(repeating: 100, count: 10), "a backlog fills every batch: \(handler.sizes)")
        #expect(handler.seen.count == 1_000 && handler.seen.values.allSatisfy { $0 == 1 })
        #expect(run.statistics.batches == 10)
        #expect(run.statistics.batchedMessages == 1_000)
        #expect(run.statistics.completed == 1_000)
        #expect(run.committed == kafka.endOffsets(of: "orders"))
        #expect(run.committed.values.reduce(0, +) == 1_000)
    }

    @Test func batchesStopAtTheirBytesAndALargerMessageGoesAlone() async throws {
        let kafka = Self.kafka(messages: 40, size: 100)
        kafka.produce(topic: "orders", key: "big", value: String(repeating: "y", count: 5_000))
        for _ in 0..<5 { kafka.produce(topic: "orders", key: "k", value: String(repeating: "x", count: 100)) }
        var config = kafka.configuration(topics: ["orders"])
        config.ordering = .unordered
        config.maxBatchSize = 100
        config.maxBatchBytes = 1_000  // ten messages of 100 bytes (values; keys add 2 or 3 bytes)
        config.maxBatchDelay = .milliseconds(5)
        let handler = BatchRecorder(clock: kafka.clock)
        let run = try await TestConsumer(configuration: config, kafka: kafka, batchHandler: handler).run()
        #expect(run.metCondition)
        // 100-byte values with 2-byte keys: 9 fit 1,000 bytes (918), a tenth would not (1,020).
        #expect(handler.sizes == [9, 9, 9, 9, 4, 1, 5], "\(handler.sizes)")
        #expect(handler.calls[5].ids == ["orders[0]@40"], "the 5,000-byte message makes a batch of its own")
        #expect(run.committed[TopicPartition(topic: "orders", partition: 0)] == 46)
    }

    @Test func aBatchWaitsAtMostItsDelayForMoreMessages() async throws {
        let kafka = Self.kafka(messages: 5)
        var config = kafka.configuration(topics: ["orders"])
        config.ordering = .unordered
        config.maxBatchSize = 100
        config.maxBatchDelay = .milliseconds(250)
        let handler = BatchRecorder(clock: kafka.clock)
        let run = try await TestConsumer(configuration: config, kafka: kafka, batchHandler: handler).run()
        #expect(run.metCondition)
        #expect(handler.sizes == [5], "the five messages wait for more, then go together")
        let call = try #require(handler.calls.first)
        #expect(call.at >= .milliseconds(250), "not before the delay: \(call.at)")
        #expect(call.at < .milliseconds(400), "not much after it either: \(call.at)")
        #expect(run.committed[TopicPartition(topic: "orders", partition: 0)] == 5)
    }

    @Test func failedMessagesRetryAndDeadLetterAloneWhileTheRestOfTheirBatchIsCommitted() async throws {
        let kafka = Self.kafka(messages: 300)
        kafka.createTopic("orders.dlq")
        var config = kafka.configuration(topics: ["orders"])
        config.ordering = .unordered
        config.maxBatchSize = 50
        config.failurePolicy = .deadLetter()
        config.retry = RetryPolicy(maxAttempts: 3, initialBackoff: .milliseconds(100), jitter: 0)
        let poison: Set<Int64> = [7, 49, 50, 222]
        let handler = BatchRecorder(clock: kafka.clock) { message, _ in poison.contains(message.offset) ? TestFailure() : nil }
        let run = try await TestConsumer(configuration: config, kafka: kafka, batchHandler: handler).run()
        #expect(run.metCondition)
        #expect(run.failure == nil)
        let dead = kafka.messages(in: "orders.dlq")
        #expect(Set(dead.map { String(decoding: $0.value, as: UTF8.self) }) == Set(poison.map { "\($0)" }))
        #expect(dead.count == 4, "each poison message dead-lettered once")
        #expect(run.statistics.deadLettered == 4)
        #expect(run.statistics.retried == 8, "two retries each")
        // Every other message ran exactly once; each poison message three times.
        for offset in 0..<300 {
            #expect(handler.seen["orders[0]@\(offset)"] == (poison.contains(Int64(offset)) ? 3 : 1), "offset \(offset)")
        }
        // The failed messages' attempts 2 and 3 ran in later batches: never twice in one.
        for call in handler.calls { #expect(Set(call.ids).count == call.ids.count) }
        #expect(run.committed[TopicPartition(topic: "orders", partition: 0)] == 300)
    }

    @Test func noCommitPassesAFailedMessageOfABatch() async throws {
        let kafka = Self.kafka(messages: 100)
        var config = kafka.configuration(topics: ["orders"])
        config.ordering = .unordered
        config.maxBatchSize = 20
        config.failurePolicy = .stop
        config.retry = .none
        let handler = BatchRecorder(clock: kafka.clock) { message, _ in message.offset == 30 ? TestFailure() : nil }
        let run = try await TestConsumer(configuration: config, kafka: kafka, batchHandler: handler).run()
        let failure = try #require(run.failure)
        #expect(failure.code == .handlerFailed)
        #expect(failure.offset == 30)
        let committed = run.committed[TopicPartition(topic: "orders", partition: 0)] ?? 0
        #expect(committed == 30, "everything before the failed message, nothing past it")
    }

    @Test func aBatchThatThrowsRetriesEachMessageAloneSoOnlyThePoisonOneIsDeadLettered() async throws {
        let kafka = Self.kafka(messages: 60)
        kafka.createTopic("orders.dlq")
        var config = kafka.configuration(topics: ["orders"])
        config.ordering = .unordered
        config.maxBatchSize = 30
        config.failurePolicy = .deadLetter()
        config.retry = RetryPolicy(maxAttempts: 2, initialBackoff: .milliseconds(10), jitter: 0)
        // A bulk call that fails whenever the batch holds offset 42: the handler cannot say which.
        let handler = BatchRecorder(clock: kafka.clock, throwing: { messages, _ in
            messages.contains { $0.offset == 42 } ? TestFailure() : nil
        })
        let run = try await TestConsumer(configuration: config, kafka: kafka, batchHandler: handler).run()
        #expect(run.metCondition)
        #expect(kafka.messages(in: "orders.dlq").map(\.offset) == [0], "one dead letter")
        #expect(kafka.messages(in: "orders.dlq").map { String(decoding: $0.value, as: UTF8.self) } == ["42"])
        // The failed batch (offsets 30…59) ran once together; each of its messages then alone.
        let retries = handler.calls.filter { $0.attempts.contains(2) }
        #expect(retries.count == 30)
        #expect(retries.allSatisfy { $0.ids.count == 1 })
        #expect(run.statistics.deadLettered == 1)
        #expect(run.committed[TopicPartition(topic: "orders", partition: 0)] == 60)
    }

    @Test(arguments: [FailurePolicy.deadLetter(), .stop])
    func withOneAttemptABatchThatThrowsStillCostsOnlyThePoisonMessage(policy: FailurePolicy) async throws {
        let kafka = Self.kafka(messages: 40)
        kafka.createTopic("orders.dlq")
        var config = kafka.configuration(topics: ["orders"])
        config.ordering = .unordered
        config.maxBatchSize = 20
        config.failurePolicy = policy
        config.retry = .none
        let handler = BatchRecorder(clock: kafka.clock, throwing: { messages, _ in
            messages.contains { $0.offset == 25 } ? TestFailure() : nil
        })
        let run = try await TestConsumer(configuration: config, kafka: kafka, batchHandler: handler).run()
        if policy == .stop {
            let failure = try #require(run.failure)
            #expect(failure.offset == 25, "the poison message stops the consumer, not its neighbours")
            // Its neighbours' alone attempts that came before it (their backoffs have jitter) are done.
            #expect((20...25).contains(run.committed[TopicPartition(topic: "orders", partition: 0)] ?? -1))
        } else {
            // The batch of offsets 20…39 threw once; each of them then ran alone, once.
            for offset in 20..<40 { #expect(handler.seen["orders[0]@\(offset)"] == 2, "offset \(offset)") }
            #expect(handler.calls.filter { $0.attempts == [2] }.count == 20, "each member alone, as its second attempt")
            #expect(run.failure == nil)
            #expect(kafka.messages(in: "orders.dlq").map { String(decoding: $0.value, as: UTF8.self) } == ["25"])
            #expect(run.committed[TopicPartition(topic: "orders", partition: 0)] == 40)
        }
    }

    @Test func aBatchHandlerThatAlwaysThrowsUnderTheStopPolicyStopsTheConsumer() async throws {
        let kafka = Self.kafka(partitions: 4, messages: 1_000)
        var config = kafka.configuration(topics: ["orders"])
        config.ordering = .unordered
        config.maxBatchSize = 500
        config.failurePolicy = .stop
        let failing = ClosureAsyncBatchMessageHandler { _, _ in throw TestFailure() }
        let run = try await TestConsumer(configuration: config, kafka: kafka, asyncBatchHandler: failing).run(timeLimit: .seconds(600))
        let failure = try #require(run.failure, "a handler that always fails stops the consumer under the stop policy")
        #expect(failure.code == .handlerFailed)
        #expect(run.statistics.completed == 0)
        #expect(run.committed.values.allSatisfy { $0 == 0 })
        #expect(run.elapsed < .seconds(60), "stopped after the retries' backoff, not a timeout: \(run.elapsed)")
    }

    @Test func keyModeBatchesKeepEachKeysMessagesInOffsetOrder() async throws {
        let kafka = Self.kafka(partitions: 2, messages: 600, keys: 5)
        var config = kafka.configuration(topics: ["orders"])
        config.ordering = .key
        config.maxBatchSize = 64
        let handler = BatchRecorder(clock: kafka.clock)
        let run = try await TestConsumer(configuration: config, kafka: kafka, batchHandler: handler).run()
        #expect(run.metCondition)
        #expect(handler.seen.count == 600)
        // Calls run one after another here: each key's offsets, across all calls, only go up.
        var last: [String: Int64] = [:]
        for call in handler.calls {
            for (index, offset) in call.offsets.enumerated() {
                let lane = "\(call.ids[index].split(separator: "@")[0])/\(call.keys[index] ?? "-")"
                #expect(offset > last[lane] ?? -1, "\(lane) went back to \(offset)")
                last[lane] = offset
            }
        }
        #expect(handler.sizes.max() ?? 0 > 5, "a batch holds several messages of a key, in order: \(handler.sizes)")
        #expect(run.committed.values.reduce(0, +) == 600)
    }

    @Test func partitionModeBatchesHoldConsecutiveOffsetsOfOnePartition() async throws {
        let kafka = Self.kafka(partitions: 3, messages: 900)
        var config = kafka.configuration(topics: ["orders"])
        config.ordering = .partition
        config.maxBatchSize = 50
        let handler = BatchRecorder(clock: kafka.clock)
        let run = try await TestConsumer(configuration: config, kafka: kafka, batchHandler: handler).run()
        #expect(run.metCondition)
        let ends = Dictionary(uniqueKeysWithValues: kafka.endOffsets(of: "orders").map { ($0.key.partition, $0.value) })
        var next: [Int32: Int64] = [:]
        for call in handler.calls {
            #expect(call.partitions.count == 1, "one partition per batch")
            let partition = try #require(call.partitions.first)
            #expect(call.offsets == Array((next[partition] ?? 0)..<((next[partition] ?? 0) + Int64(call.offsets.count))), "consecutive, in order")
            next[partition] = (call.offsets.last ?? 0) + 1
            // A backlog fills each batch; only a partition's last one may be short.
            #expect(call.offsets.count == 50 || next[partition] == ends[partition], "\(call.offsets.count) at \(call.ids[0])")
        }
        #expect(next == ends)
        #expect(run.committed == kafka.endOffsets(of: "orders"))
    }

    @Test func anAsyncBatchHandlerGetsTheSameBatches() async throws {
        let kafka = Self.kafka(messages: 250)
        var config = kafka.configuration(topics: ["orders"])
        config.ordering = .unordered
        config.maxBatchSize = 100
        let sizes = Mutex<[Int]>([])
        let handler = ClosureAsyncBatchMessageHandler { messages, _ in
            try await Task.sleep(for: .microseconds(10))
            sizes.withLock { $0.append(messages.count) }
            return .done
        }
        let run = try await TestConsumer(configuration: config, kafka: kafka, asyncBatchHandler: handler).run()
        #expect(run.metCondition)
        #expect(sizes.withLock { $0 } == [100, 100, 50])
        #expect(run.committed[TopicPartition(topic: "orders", partition: 0)] == 250)
    }

    @Test func anOutcomeNamingAnIndexOutsideTheBatchFailsTheBatchWithAClearError() async throws {
        let kafka = Self.kafka(messages: 3)
        var config = kafka.configuration(topics: ["orders"])
        config.failurePolicy = .stop
        config.retry = .none
        let sizes = Mutex<[Int]>([])
        let handler = ClosureBatchMessageHandler { messages, _ in
            sizes.withLock { $0.append(messages.count) }
            return .failed([7: TestFailure()])
        }
        let warnings = CapturedLogs()
        let run = try await TestConsumer(configuration: config, kafka: kafka, batchHandler: handler, logger: warnings.logger(level: .debug)).run()
        let failure = try #require(run.failure)
        #expect(
            warnings.lines.contains { $0.contains("the batch handler reported message 7 failed, but the batch has 3 messages (indices 0..<3)") },
            "the batch's answer, named: \(warnings.lines)")
        #expect("\(failure)".contains("the batch handler reported message 7 failed, but the batch has 1 message (indices 0..<1)"), "\(failure)")
        #expect(sizes.withLock { $0 }.first == 3, "the whole batch first, then its messages alone")
        #expect(run.committed[TopicPartition(topic: "orders", partition: 0)] ?? 0 == 0)
    }
}

extension KafkaMessage {
    /// `topic[partition]@offset`.
    var id: String { "\(topic)[\(partition)]@\(offset)" }
}
