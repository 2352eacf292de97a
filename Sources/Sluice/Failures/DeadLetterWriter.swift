//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import Foundation
internal import Logging
internal import Synchronization

/// Writes failed messages to their dead-letter topic, and keeps writing until the broker
/// acknowledges each one: a failed write is logged and produced again after a backoff, never
/// dropped. Only the engine giving the message up (its partition revoked, the consumer closed)
/// ends the attempts, and then the message's offset stays uncommitted, so it is read again.
final class DeadLetterWriter: Sendable {
    /// The headers a dead-lettered message carries besides its own.
    enum Header {
        static let error = "sluice-error"
        static let errorType = "sluice-error-type"
        static let sourceTopic = "sluice-source-topic"
        static let sourcePartition = "sluice-source-partition"
        static let sourceOffset = "sluice-source-offset"
        static let attempts = "sluice-attempts"
        static let failedAt = "sluice-failed-at"

        static let all: Set<String> = [error, errorType, sourceTopic, sourcePartition, sourceOffset, attempts, failedAt]
    }

    private let producer: KafkaProducer
    private let policy: FailurePolicy
    /// Spaces the writes of one message after failures (capped at its maximum backoff).
    private let backoff: RetryPolicy
    private let logger: Logger
    private let isClosed = Mutex(false)

    init(configuration: SluiceConfiguration, logger: Logger) throws {
        self.policy = configuration.failurePolicy
        self.backoff = RetryPolicy(
            maxAttempts: .max, initialBackoff: max(configuration.retry.initialBackoff, .milliseconds(100)),
            multiplier: 2, maxBackoff: max(configuration.retry.maxBackoff, .seconds(1)), jitter: 0.2)
        self.logger = logger
        do {
            self.producer = try KafkaProducer(configuration: configuration.effectiveDeadLetterProducer, logger: logger)
        } catch {
            throw SluiceError(code: .configuration, message: "invalid dead-letter producer configuration", underlying: error)
        }
    }

    /// The dead-letter topic of messages from `sourceTopic`.
    func topic(for sourceTopic: String) -> String {
        policy.deadLetterTopic(for: sourceTopic) ?? sourceTopic + ".dlq"
    }

    /// The record written for `failed`: its key, value and headers, plus the `sluice-*` headers
    /// (which replace any the message already had, e.g. when it comes from a dead-letter topic).
    static func record(
        for failed: KafkaMessage, topic: String, error: any Error, attempts: Int, failedAt: Date
    ) -> KafkaProducerMessage {
        var headers = failed.headers.filter { !Header.all.contains($0.name) }
        // A worker process's error is named by its original type.
        let errorType = (error as? WorkerHandlerError)?.typeName ?? String(reflecting: type(of: error))
        headers += [
            KafkaHeader(name: Header.error, string: "\(error)"),
            KafkaHeader(name: Header.errorType, string: errorType),
            KafkaHeader(name: Header.sourceTopic, string: failed.topic),
            KafkaHeader(name: Header.sourcePartition, string: "\(failed.partition)"),
            KafkaHeader(name: Header.sourceOffset, string: "\(failed.offset)"),
            KafkaHeader(name: Header.attempts, string: "\(attempts)"),
            KafkaHeader(name: Header.failedAt, string: failedAt.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))),
        ]
        return KafkaProducerMessage(topic: topic, key: failed.key, value: failed.value, headers: headers)
    }

    /// Writes `record` until it is acknowledged (`completion(true)`) or `shouldGiveUp` says the
    /// message is no longer ours (`completion(false)`). `completion` runs exactly once.
    func write(
        _ record: KafkaProducerMessage,
        of source: KafkaMessage,
        shouldGiveUp: @escaping @Sendable () -> Bool,
        completion: @escaping @Sendable (Bool) -> Void
    ) {
        attempt(1, record, source, shouldGiveUp, completion)
    }

    private func attempt(
        _ attempt: Int,
        _ record: KafkaProducerMessage,
        _ source: KafkaMessage,
        _ shouldGiveUp: @escaping @Sendable () -> Bool,
        _ completion: @escaping @Sendable (Bool) -> Void
    ) {
        guard !isClosed.withLock({ $0 }), !shouldGiveUp() else {
            completion(false)
            return
        }
        let retry: @Sendable (any Error) -> Void = { [self] error in
            let delay = backoff.backoff(after: attempt)
            logger.warning(
                "writing to the dead-letter topic failed; trying again in \(delay)",
                metadata: source.loggingMetadata.merging([
                    "sluice.dead-letter.topic": "\(record.topic)", "sluice.dead-letter.attempt": "\(attempt)",
                    "error": "\(error)",
                ]) { $1 })
            Task {
                try? await Task.sleep(for: delay)
                self.attempt(attempt + 1, record, source, shouldGiveUp, completion)
            }
        }
        do {
            try producer.produce(record) { result in
                switch result {
                case .success: completion(true)
                case .failure(let error): retry(error)
                }
            }
        } catch {
            retry(error)
        }
    }

    /// Waits up to `timeout` for outstanding writes, then stops writing: later attempts give up.
    func close(timeout: Duration) {
        do {
            try producer.close(timeout: timeout)
        } catch {
            logger.warning("dead-letter writes still outstanding at close", metadata: ["error": "\(error)"])
        }
        isClosed.withLock { $0 = true }
    }
}
