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

/// The whole engine (poll loop, state machine, failure policy, commits, rebalances, stop) on an
/// in-memory cluster and a manual clock: deterministic, and each test runs in milliseconds.
@Suite(.timeLimit(.minutes(1))) struct TestKitTests {
    /// A handler that records what it saw and fails as told.
    final class Recorder: MessageHandler {
        private let state = Mutex<(handled: [String: Int], attempts: [String: [Int]])>(([:], [:]))
        private let failing: @Sendable (KafkaMessage, Int) -> (any Error)?

        init(failing: @escaping @Sendable (KafkaMessage, Int) -> (any Error)? = { _, _ in nil }) {
            self.failing = failing
        }

        func handle(_ message: KafkaMessage, context: HandlerContext) throws {
            let id = "\(message.topic)[\(message.partition)]@\(message.offset)"
            state.withLock { $0.attempts[id, default: []].append(context.attempt) }
            if let error = failing(message, context.attempt) { throw error }
            state.withLock { $0.handled[id, default: 0] += 1 }
        }

        /// Successful calls per `topic[partition]@offset`.
        var handled: [String: Int] { state.withLock { $0.handled } }
        var attempts: [String: [Int]] { state.withLock { $0.attempts } }
    }

    static func kafka(_ topic: String = "orders", partitions: Int = 2, messages: Int = 40) -> InMemoryKafka {
        let kafka = InMemoryKafka()
        kafka.createTopic(topic, partitions: partitions)
        for id in 0..<messages { kafka.produce(topic: topic, key: "k\(id % 7)", value: "\(id)") }
        return kafka
    }

    static func ids(_ kafka: InMemoryKafka, _ topic: String) -> [String] {
        kafka.messages(in: topic).map { "\($0.topic)[\($0.partition)]@\($0.offset)" }
    }

    @Test(arguments: OrderingMode.allCases)
    func everyMessageIsHandledOnceAndTheLogEndCommitted(ordering: OrderingMode) async throws {
        let kafka = Self.kafka()
        var config = kafka.configuration(topics: ["orders"])
        config.ordering = ordering
        config.maxInFlightMessages = 8
        let handler = Recorder()
        let run = try await TestConsumer(configuration: config, kafka: kafka, handler: handler).run()
        #expect(run.metCondition)
        #expect(run.failure == nil)
        #expect(handler.handled == Dictionary(uniqueKeysWithValues: Self.ids(kafka, "orders").map { ($0, 1) }))
        #expect(run.committed == kafka.endOffsets(of: "orders"))
        #expect(run.statistics.completed == 40)
        #expect(run.statistics.commitFailures == 0, "the final commit is acknowledged")
    }

    @Test func failedAttemptsAreRetriedAfterTheirBackoffInVirtualTime() async throws {
        let kafka = Self.kafka(partitions: 1, messages: 10)
        var config = kafka.configuration(topics: ["orders"])
        config.retry = RetryPolicy(maxAttempts: 3, initialBackoff: .seconds(10), multiplier: 2, maxBackoff: .seconds(60), jitter: 0)
        let handler = Recorder { message, attempt in message.offset == 4 && attempt < 3 ? TestFailure() : nil }
        let run = try await TestConsumer(configuration: config, kafka: kafka, handler: handler).run()
        #expect(run.failure == nil)
        #expect(handler.attempts["orders[0]@4"] == [1, 2, 3])
        #expect(run.statistics.retried == 2)
        #expect(run.elapsed >= .seconds(30), "10 s then 20 s of backoff, without sleeping: \(run.elapsed)")
        #expect(run.committed[TopicPartition(topic: "orders", partition: 0)] == 10)
    }

    @Test func messagesThatKeepFailingGoToTheDeadLetterTopicWithTheirBytesAndHeaders() async throws {
        let kafka = Self.kafka(partitions: 2, messages: 20)
        kafka.createTopic("orders.dlq")
        kafka.produce(topic: "orders", partition: 0, key: [1], value: nil)  // a tombstone that fails too
        var config = kafka.configuration(topics: ["orders"])
        config.failurePolicy = .deadLetter()
        config.retry = RetryPolicy(maxAttempts: 2, initialBackoff: .milliseconds(100), jitter: 0)
        config.deadLetterGuard = .off
        let handler = Recorder { message, _ in
            message.isTombstone || (Int(String(decoding: message.value, as: UTF8.self)) ?? 0) % 5 == 0 ? TestFailure() : nil
        }
        let run = try await TestConsumer(configuration: config, kafka: kafka, handler: handler).run()
        #expect(run.failure == nil)
        let letters = kafka.messages(in: "orders.dlq")
        #expect(letters.count == 5)
        #expect(run.statistics.deadLettered == 5)
        let sources = Set(letters.map { "\($0.headers.string(named: "sluice-source-topic") ?? "")[\($0.headers.string(named: "sluice-source-partition") ?? "")]@\($0.headers.string(named: "sluice-source-offset") ?? "")" })
        let failedIDs = Set(kafka.messages(in: "orders").filter { $0.isTombstone || (Int(String(decoding: $0.value, as: UTF8.self)) ?? 0) % 5 == 0 }.map { "\($0.topic)[\($0.partition)]@\($0.offset)" })
        #expect(sources == failedIDs)
        #expect(letters.allSatisfy { $0.headers.string(named: "sluice-attempts") == "2" })
        // A tombstone stays a tombstone: null, not an empty value.
        let tombstone = try #require(letters.first { $0.key == [1] })
        #expect(tombstone.isTombstone)
        #expect(run.committed == kafka.endOffsets(of: "orders"))
    }

    /// A dead-letter write that can never succeed (the record is larger than the producer's
    /// `message.max.bytes`) stops the consumer with an error naming the problem, and the failed
    /// offset is not committed. The same property given to the consumer reaches the producer.
    @Test func aDeadLetterTooLargeToWriteStopsTheConsumerAtItsOffset() async throws {
        for raisedLimit in [false, true] {
            let kafka = InMemoryKafka()
            kafka.createTopic("big")
            kafka.createTopic("big.dlq")
            for _ in 0..<3 { kafka.produce(topic: "big", value: [UInt8](repeating: 7, count: 999_900)) }
            var config = kafka.configuration(topics: ["big"])
            config.failurePolicy = .deadLetter()
            config.retry = .none
            config.deadLetterGuard = .off
            if raisedLimit { config.kafka.common.properties["message.max.bytes"] = "2000000" }
            let run = try await TestConsumer(configuration: config, kafka: kafka, handler: Recorder { _, _ in TestFailure() }).run()
            let big0 = TopicPartition(topic: "big", partition: 0)
            if raisedLimit {
                #expect(run.failure == nil)
                #expect(kafka.messages(in: "big.dlq").count == 3)
                #expect(run.committed[big0] == 3)
            } else {
                let failure = try #require(run.failure)
                #expect(failure.code == .deadLetterFailed)
                #expect(failure.description.contains("cannot write big[0]@0 to the dead-letter topic big.dlq"), "\(failure)")
                #expect(failure.description.contains("MSG_SIZE_TOO_LARGE"), "\(failure)")
                #expect(kafka.messages(in: "big.dlq").isEmpty)
                #expect(run.committed[big0] ?? 0 == 0, "nothing committed past big[0]@0")
                #expect(run.elapsed < .seconds(60))
            }
        }
    }

    @Test func deadLetterWritesFailingForLongerThanTheTimeoutStopTheConsumer() async throws {
        let kafka = Self.kafka(partitions: 1, messages: 5)
        kafka.createTopic("orders.dlq")
        kafka.failWrites(to: "orders.dlq", with: .inMemory(.requestTimedOut))
        var config = kafka.configuration(topics: ["orders"])
        config.failurePolicy = .deadLetter()
        config.retry = .none
        config.deadLetterTimeout = .seconds(20)
        let handler = Recorder { message, _ in message.offset == 2 ? TestFailure() : nil }
        let run = try await TestConsumer(configuration: config, kafka: kafka, handler: handler).run()
        let failure = try #require(run.failure)
        #expect(failure.code == .deadLetterFailed)
        #expect(failure.description.contains("kept failing"), "\(failure)")
        #expect(run.committed[TopicPartition(topic: "orders", partition: 0)] == 2)
        #expect(run.elapsed >= .seconds(20) && run.elapsed < .seconds(40), "\(run.elapsed)")
    }

    @Test func deadLetterWritesFailingForAWhileLoseNothing() async throws {
        let kafka = Self.kafka(partitions: 1, messages: 5)
        kafka.createTopic("orders.dlq")
        kafka.failWrites(to: "orders.dlq", times: 3, with: .inMemory(.coordinatorNotAvailable))
        var config = kafka.configuration(topics: ["orders"])
        config.failurePolicy = .deadLetter()
        config.retry = .none
        let handler = Recorder { message, _ in message.offset == 2 ? TestFailure() : nil }
        let run = try await TestConsumer(configuration: config, kafka: kafka, handler: handler).run()
        #expect(run.failure == nil)
        #expect(kafka.messages(in: "orders.dlq").map { $0.headers.string(named: "sluice-source-offset") } == ["2"])
        #expect(run.committed[TopicPartition(topic: "orders", partition: 0)] == 5)
    }

    /// A partition revoked while its commit fails and is retried, then assigned back: every
    /// offset is handled, and the committed offsets reach the log end.
    @Test func aRevocationWithFailingCommitsThenReassignmentLosesNothing() async throws {
        let kafka = InMemoryKafka()
        kafka.createTopic("orders", partitions: 2)
        for id in 0..<60 { kafka.produce(topic: "orders", value: "\(id)") }  // round-robin: 30 each
        let p0 = TopicPartition(topic: "orders", partition: 0)
        var config = kafka.configuration(topics: ["orders"])
        config.maxInFlightMessages = 4
        let triggered = Mutex(false)
        let handler = Recorder { message, _ in
            guard message.topicPartition == p0, message.offset == 5 else { return nil }
            let first = triggered.withLock { done -> Bool in
                defer { done = true }
                return !done
            }
            if first {
                kafka.failNextCommits(3)
                kafka.revoke([p0])
                kafka.assign([p0])
            }
            return nil
        }
        let run = try await TestConsumer(configuration: config, kafka: kafka, handler: handler).run()
        #expect(run.failure == nil)
        let handled = handler.handled
        let missing = Self.ids(kafka, "orders").filter { handled[$0] == nil }
        #expect(missing.isEmpty, "never handled: \(missing)")
        #expect(run.committed == kafka.endOffsets(of: "orders"))
        #expect(run.statistics.rebalances == 4, "assigned, revoked, assigned, revoked at close")
        // The revocation committed partition 0 alone, after its three failed tries.
        #expect(kafka.commits.contains { $0.map(\.topicPartition) == [p0] })
        #expect(run.statistics.commitFailures == 0, "retried, not given up")
    }

    /// With the broker unresponsive, a graceful stop still ends within the drain timeout plus the
    /// close budget: the final commit and the close give up at their deadline.
    @Test func aStopWithAnUnresponsiveBrokerEndsWithinItsBudget() async throws {
        let kafka = Self.kafka(partitions: 1, messages: 10)
        var config = kafka.configuration(topics: ["orders"])
        config.drainTimeout = .seconds(30)
        config.closeTimeout = .seconds(10)
        let handler = Recorder { message, _ in
            if message.offset == 9 { kafka.isUnresponsive = true }
            return nil
        }
        let run = try await TestConsumer(configuration: config, kafka: kafka, handler: handler).run(until: .completed(10))
        #expect(run.failure == nil)
        #expect(run.elapsed <= .seconds(11), "\(run.elapsed)")
        #expect(run.statistics.commitFailures >= 1)
    }

    /// A second stop (the second signal) cuts a stop in progress to the immediate budget.
    @Test func anImmediateStopWithAnUnresponsiveBrokerEndsWithinTwoSeconds() async throws {
        let kafka = Self.kafka(partitions: 1, messages: 10)
        var config = kafka.configuration(topics: ["orders"])
        config.closeTimeout = .seconds(30)
        let consumer = Mutex<TestConsumer?>(nil)
        let handler = Recorder { message, _ in
            if message.offset == 5 {
                kafka.isUnresponsive = true
                consumer.withLock { $0 }?.consumer.stop()
                consumer.withLock { $0 }?.consumer.stop(immediately: true)
            }
            return nil
        }
        let test = try TestConsumer(configuration: config, kafka: kafka, handler: handler)
        consumer.withLock { $0 = test }
        let run = await test.run()
        #expect(!run.metCondition)
        #expect(run.elapsed <= .seconds(2), "\(run.elapsed)")
        #expect(run.committed.isEmpty, "the broker never answered")
    }

    @Test func theStopPolicyStopsAtTheFailedOffsetAndCommitsNothingPastIt() async throws {
        let kafka = Self.kafka(partitions: 1, messages: 20)
        var config = kafka.configuration(topics: ["orders"])
        config.retry = RetryPolicy(maxAttempts: 2, initialBackoff: .seconds(1), jitter: 0)
        let handler = Recorder { message, _ in message.offset == 7 ? TestFailure() : nil }
        let run = try await TestConsumer(configuration: config, kafka: kafka, handler: handler).run()
        let failure = try #require(run.failure)
        #expect(failure.code == .handlerFailed)
        #expect((failure.topic, failure.partition, failure.offset) == ("orders", 0, 7))
        #expect(run.committed[TopicPartition(topic: "orders", partition: 0)] == 7)
        #expect(handler.attempts["orders[0]@7"] == [1, 2])
    }

    @Test func anAsyncHandlerRunsThroughTheSameEngine() async throws {
        let kafka = Self.kafka(partitions: 3, messages: 30)
        let seen = Mutex(0)
        let handler = ClosureAsyncMessageHandler { _, _ in
            await Task.yield()
            seen.withLock { $0 += 1 }
        }
        let run = try await TestConsumer(configuration: kafka.configuration(topics: ["orders"]), kafka: kafka, asyncHandler: handler).run()
        #expect(run.failure == nil)
        #expect(seen.withLock { $0 } == 30)
        #expect(run.committed == kafka.endOffsets(of: "orders"))
    }
}
