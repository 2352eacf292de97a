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

/// A handler error naming the message's id.
struct Boom: Error, CustomStringConvertible {
    let id: Int
    var description: String { "boom on id \(id)" }
}

/// What a handler saw, attempt by attempt: each call with its attempt number, and successes.
final class AttemptLog: Sendable {
    private struct State {
        var attempts: [Int: [Int]] = [:]
        var succeeded: [Int: Int] = [:]
        var order: [Int] = []
        var where_: [Int: (partition: Int32, offset: Int64)] = [:]
    }

    private let state = Mutex(State())

    /// Records a call of attempt `attempt` on `message`.
    func attempt(_ message: KafkaMessage, _ attempt: Int) {
        let id = HandledLog.id(of: message)
        state.withLock {
            $0.attempts[id, default: []].append(attempt)
            $0.where_[id] = (message.partition, message.offset)
        }
    }

    /// Records a call that returned without an error.
    func success(_ message: KafkaMessage) {
        let id = HandledLog.id(of: message)
        state.withLock {
            $0.succeeded[id, default: 0] += 1
            $0.order.append(id)
        }
    }

    var attempts: [Int: [Int]] { state.withLock { $0.attempts } }
    var succeeded: [Int: Int] { state.withLock { $0.succeeded } }
    /// Ids in the order their successful calls returned.
    var order: [Int] { state.withLock { $0.order } }
    func location(of id: Int) -> (partition: Int32, offset: Int64)? { state.withLock { $0.where_[id] } }
}

extension EngineFixture {
    /// Reads `topic` from the beginning with a fresh group until `count` messages arrived or
    /// `timeout` passed, then a further `settle` for any extra (a duplicate would show).
    static func readAll(
        topic: String, broker: EmbeddedBroker, count: Int, timeout: Duration = .seconds(30), settle: Duration = .milliseconds(500)
    ) throws -> [KafkaMessage] {
        var config = KafkaConsumerConfiguration(bootstrapServers: [broker.bootstrapServers], groupID: "reader-\(UUID())")
        config.fetchWaitMax = .milliseconds(10)
        let reader = try KafkaConsumer(configuration: config, logger: quietLogger)
        defer { try? reader.close(timeout: .seconds(5)) }
        try reader.subscribe(topics: [topic])
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        var messages: [KafkaMessage] = []
        var settleUntil: ContinuousClock.Instant?
        while clock.now < (settleUntil ?? deadline) {
            if let message = try reader.poll(timeout: .milliseconds(100)) { messages.append(message) }
            if settleUntil == nil, messages.count >= count { settleUntil = clock.now.advanced(by: settle) }
        }
        return messages
    }

    /// How a run ended: whether `done` came true, the committed and end offsets once the commits
    /// caught up, and the statistics just before the stop.
    struct RunOutcome {
        var allDone: Bool
        var committed: [Int32: Int64]
        var end: [Int32: Int64]
        var stats: SluiceStatistics
    }

    /// Waits until `done` holds, then until the commits reach the end offsets, then stops the
    /// consumer and waits for `run()` to return (rethrowing its error).
    static func finish(
        _ consumer: SluiceConsumer, _ run: Task<Void, any Error>, broker: EmbeddedBroker, group: String, topic: String,
        partitions: Int, commitTimeout: Duration = .seconds(30), until done: () -> Bool
    ) async throws -> RunOutcome {
        let allDone = try await eventually(done)
        let (committed, end) = try await awaitCommittedEnd(
            broker: broker, group: group, topic: topic, partitions: partitions, timeout: commitTimeout)
        let stats = consumer.statistics
        consumer.stop()
        try await run.value
        return RunOutcome(allDone: allDone, committed: committed, end: end, stats: stats)
    }

    /// A configuration whose retries wait `backoff` (no jitter) and whose failures go to
    /// `<topic>.dlq`, which is created with `partitions` partitions.
    static func deadLetterConfiguration(
        broker: EmbeddedBroker, group: String, topic: String, maxAttempts: Int, backoff: Duration = .milliseconds(20),
        deadLetterPartitions: Int = 2
    ) throws -> SluiceConfiguration {
        try broker.createTopic("\(topic).dlq", partitions: deadLetterPartitions)
        var config = configuration(broker: broker, group: group, topic: topic)
        config.retry = RetryPolicy(maxAttempts: maxAttempts, initialBackoff: backoff, multiplier: 2, maxBackoff: backoff * 4, jitter: 0)
        config.failurePolicy = .deadLetter()
        return config
    }
}
