//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Sluice
import Synchronization
import Testing

extension EngineIntegrationTests {
    /// Retries with backoff, the dead-letter topic and its guard, against the embedded broker.
    @Suite(.timeLimit(.minutes(5)), .serialized)
    struct RetryAndDeadLetterTests {
        /// A consumer whose handler records every attempt into `log`, then calls `work`.
        private static func start(
            _ config: SluiceConfiguration, log: AttemptLog,
            work: @escaping @Sendable (KafkaMessage, HandlerContext) throws -> Void
        ) throws -> (SluiceConsumer, Task<Void, any Error>) {
            let consumer = try SluiceConsumer(
                configuration: config,
                handler: ClosureMessageHandler { message, context in
                    log.attempt(message, context.attempt)
                    try work(message, context)
                    log.success(message)
                },
                logger: EngineFixture.quietLogger)
            return (consumer, EngineFixture.start(consumer))
        }

        @Test func messagesFailingTheirFirstTwoAttemptsSucceedOnTheThirdAndNothingIsDeadLettered() async throws {
            let topic = "retry-transient"
            let group = "retry-transient"
            let partitions = 4
            let total = 2_000
            let broker = try EngineFixture.broker(topic: topic, partitions: partitions)
            try EngineFixture.produce(to: topic, on: broker, count: total)
            var config = try EngineFixture.deadLetterConfiguration(broker: broker, group: group, topic: topic, maxAttempts: 3)
            config.workers = 2
            let flaky = Set((0..<total).filter { $0 % 50 == 3 })
            let log = AttemptLog()
            let (consumer, run) = try Self.start(config, log: log) { message, context in
                let id = HandledLog.id(of: message)
                if flaky.contains(id), context.attempt <= 2 { throw Boom(id: id) }
            }
            let outcome = try await EngineFixture.finish(
                consumer, run, broker: broker, group: group, topic: topic, partitions: partitions
            ) { log.succeeded.count >= total }
            let (allDone, committed, end) = (outcome.allDone, outcome.committed, outcome.end)
            let stats = outcome.stats

            #expect(allDone)
            #expect(committed == end)
            let succeeded = log.succeeded
            #expect(succeeded.count == total && succeeded.values.allSatisfy { $0 == 1 }, "each message succeeds once")
            let attempts = log.attempts
            let flakyAttempts = Set(flaky.map { attempts[$0] ?? [] })
            #expect(flakyAttempts == [[1, 2, 3]], "flaky messages run attempts 1, 2, 3: \(flakyAttempts)")
            let steady = attempts.filter { !flaky.contains($0.key) }.values.filter { $0 != [1] }
            #expect(steady.isEmpty, "other messages run once: \(steady.prefix(3))")
            #expect(stats.retried == flaky.count * 2)
            #expect(stats.failed == 0)
            #expect(stats.deadLettered == 0)
            #expect(stats.completed == total)
            let deadLetters = try EngineFixture.readAll(topic: "\(topic).dlq", broker: broker, count: 1, timeout: .seconds(5))
            #expect(deadLetters.isEmpty, "nothing dead-lettered: \(deadLetters.prefix(3))")
        }

        @Test func alwaysFailingMessagesReachTheDeadLetterTopicWithTheirBytesAndHeaders() async throws {
            let topic = "dlq-always"
            let group = "dlq-always"
            let partitions = 4
            let total = 2_000
            let broker = try EngineFixture.broker(topic: topic, partitions: partitions)
            try EngineFixture.produce(to: topic, on: broker, count: total)
            var config = try EngineFixture.deadLetterConfiguration(broker: broker, group: group, topic: topic, maxAttempts: 2)
            config.workers = 2
            let poison = Set((0..<total).filter { $0 % 100 == 42 })
            let log = AttemptLog()
            let startedAt = Date()
            let (consumer, run) = try Self.start(config, log: log) { message, _ in
                let id = HandledLog.id(of: message)
                if poison.contains(id) { throw Boom(id: id) }
            }
            let outcome = try await EngineFixture.finish(
                consumer, run, broker: broker, group: group, topic: topic, partitions: partitions
            ) { log.succeeded.count >= total - poison.count }
            let (allDone, committed, end) = (outcome.allDone, outcome.committed, outcome.end)
            let stats = outcome.stats

            #expect(allDone)
            #expect(committed == end, "commits reach the end, dead-lettered messages included")
            #expect(stats.deadLettered == poison.count)
            #expect(stats.failed == poison.count)
            #expect(stats.completed == total)
            let deadLetters = try EngineFixture.readAll(topic: "\(topic).dlq", broker: broker, count: poison.count)
            let ids = deadLetters.map(HandledLog.id(of:))
            #expect(ids.count == poison.count, "each poison message dead-lettered once: \(ids.count)")
            #expect(Set(ids) == poison)
            for letter in deadLetters {
                let id = HandledLog.id(of: letter)
                let source = try #require(log.location(of: id))
                #expect(letter.key == Array("k\(id % 100)".utf8))
                #expect(letter.value == Array("\(id)".utf8))
                let headers = letter.headers
                #expect(headers.string(named: "id") == "\(id)", "the original headers are kept")
                #expect(headers.string(named: "sluice-error") == "boom on id \(id)")
                let errorType = headers.string(named: "sluice-error-type") ?? ""
                #expect(errorType.hasSuffix("Boom"), "error type \(errorType)")
                #expect(headers.string(named: "sluice-source-topic") == topic)
                #expect(headers.string(named: "sluice-source-partition") == "\(source.partition)")
                #expect(headers.string(named: "sluice-source-offset") == "\(source.offset)")
                #expect(headers.string(named: "sluice-attempts") == "2")
                let failedAt = try? Date(headers.string(named: "sluice-failed-at") ?? "", strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
                let stamp = try #require(failedAt, "sluice-failed-at is ISO 8601")
                #expect(stamp >= startedAt.addingTimeInterval(-1) && stamp <= Date().addingTimeInterval(1))
            }
        }

        @Test func aWaitingRetryHoldsNoWorkerAndOnlyItsOwnKey() async throws {
            let topic = "retry-flow"
            let group = "retry-flow"
            let total = 400
            let broker = try EngineFixture.broker(topic: topic, partitions: 1)
            // Keys k0…k9: id 0 has key k0, as do 10, 20, …
            try EngineFixture.produce(to: topic, on: broker, count: total, keys: 10)
            var config = EngineFixture.configuration(broker: broker, group: group, topic: topic)
            config.workers = 1
            config.ordering = .key
            config.retry = RetryPolicy(maxAttempts: 2, initialBackoff: .milliseconds(1_500), jitter: 0)
            let log = AttemptLog()
            let (consumer, run) = try Self.start(config, log: log) { message, context in
                let id = HandledLog.id(of: message)
                if id == 0, context.attempt == 1 { throw Boom(id: id) }
            }
            let outcome = try await EngineFixture.finish(
                consumer, run, broker: broker, group: group, topic: topic, partitions: 1
            ) { log.succeeded.count >= total }
            let (allDone, committed, end) = (outcome.allDone, outcome.committed, outcome.end)

            #expect(allDone)
            #expect(committed == end)
            let order = log.order
            let position = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($1, $0) })
            let retried = try #require(position[0])
            // With its single worker free during the 1.5 s backoff, every other key ran to the end.
            let otherKeys = (1..<total).filter { $0 % 10 != 0 }
            let laterThanRetry = otherKeys.filter { (position[$0] ?? .max) > retried }
            #expect(laterThanRetry.isEmpty, "other keys waited for the retry: \(laterThanRetry.prefix(5))")
            // Key k0 waits: its later messages run after the retried one, in offset order.
            let sameKey = order.filter { $0 % 10 == 0 }
            #expect(sameKey == Array(stride(from: 0, to: total, by: 10)), "key k0 in order behind its retry: \(sameKey.prefix(5))")
        }

        @Test func theGuardStopsInsteadOfDeadLetteringARunOfFailures() async throws {
            let topic = "dlq-guard"
            let group = "dlq-guard"
            let total = 300
            let broker = try EngineFixture.broker(topic: topic, partitions: 1)
            try EngineFixture.produce(to: topic, on: broker, count: total)
            var config = try EngineFixture.deadLetterConfiguration(broker: broker, group: group, topic: topic, maxAttempts: 1)
            config.workers = 1
            config.ordering = .partition
            config.deadLetterGuard = DeadLetterGuard(maxConsecutive: 10, maxRatio: 1, window: 100)
            let log = AttemptLog()
            let (_, run) = try Self.start(config, log: log) { message, _ in
                let id = HandledLog.id(of: message)
                if id >= 5 { throw Boom(id: id) }  // a broken deployment after 5 good messages
            }
            let outcome = await run.result
            guard case .failure(let error) = outcome else {
                Issue.record("run() returned without an error")
                return
            }
            let sluiceError = try #require(error as? SluiceError)
            #expect(sluiceError.code == .deadLetterLimit)
            #expect(sluiceError.offset == 15, "the 11th failure in a row trips the guard")
            #expect("\(sluiceError)".contains("11 messages in a row would be dead-lettered (limit 10)"), "\(sluiceError)")
            let (committed, _) = try EngineFixture.committedAndEnd(broker: broker, group: group, topic: topic, partitions: 1)
            #expect(committed[0] == 15, "committed up to the message that tripped the guard")
            let deadLetters = try EngineFixture.readAll(topic: "\(topic).dlq", broker: broker, count: 10)
            #expect(deadLetters.map(HandledLog.id(of:)).sorted() == Array(5..<15))
        }

        @Test func injectedDeadLetterProduceErrorsAndOffsetCommitErrorsDelayButLoseNothing() async throws {
            let topic = "dlq-faults"
            let group = "dlq-faults"
            let partitions = 2
            let total = 1_000
            let broker = try EngineFixture.broker(topic: topic, partitions: partitions)
            try EngineFixture.produce(to: topic, on: broker, count: total)
            var config = try EngineFixture.deadLetterConfiguration(broker: broker, group: group, topic: topic, maxAttempts: 1)
            config.workers = 2
            // The dead-letter producer does not retry by itself: its failures reach Sluice.
            var producer = config.effectiveDeadLetterProducer
            producer.common.properties["retries"] = "0"
            config.deadLetterProducer = producer
            // Fail every Produce of the dead-letter producer for a while (the source messages are
            // written already) with a retriable error, and the first OffsetCommits with an error
            // librdkafka does not retry itself: the deliveries and commits fail, and Sluice writes
            // and commits again. (A permanent produce error stops the consumer instead.)
            try broker.injectErrors(Array(repeating: .notLeaderForPartition, count: 6), into: .produce)
            try broker.injectErrors(Array(repeating: .topicAuthorizationFailed, count: 3), into: .offsetCommit)
            let poison = Set((0..<total).filter { $0 % 100 == 7 })
            let log = AttemptLog()
            let (consumer, run) = try Self.start(config, log: log) { message, _ in
                let id = HandledLog.id(of: message)
                if poison.contains(id) { throw Boom(id: id) }
            }
            let outcome = try await EngineFixture.finish(
                consumer, run, broker: broker, group: group, topic: topic, partitions: partitions, commitTimeout: .seconds(60)
            ) { log.succeeded.count >= total - poison.count }
            let (allDone, committed, end) = (outcome.allDone, outcome.committed, outcome.end)
            let stats = outcome.stats

            #expect(allDone)
            #expect(committed == end, "every offset committed once the dead letters were acknowledged")
            #expect(stats.deadLettered == poison.count)
            let deadLetters = try EngineFixture.readAll(topic: "\(topic).dlq", broker: broker, count: poison.count)
            let ids = deadLetters.map(HandledLog.id(of:))
            #expect(Set(ids) == poison, "every poison message reaches the dead-letter topic")
            #expect(ids.count == poison.count, "and only once: \(ids.count)")
            #expect(stats.commitFailures >= 1, "the injected OffsetCommit errors failed commits that were retried")
            print("dead-letter faults: \(stats.commitFailures) failed commits, \(stats.commits) commits")
        }
    }
}
