//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import Logging

/// Writes dead letters with a Kafka producer configured from
/// ``SluiceConfiguration/deadLetterProducer`` (or the consumer's connection and producing settings).
final class KafkaDeadLetterSink: DeadLetterSink {
    private let producer: KafkaProducer
    private let logger: Logger

    /// - Throws: ``SluiceError`` for a bad producer configuration.
    init(configuration: SluiceConfiguration, logger: Logger) throws {
        self.logger = logger
        do {
            self.producer = try KafkaProducer(configuration: configuration.effectiveDeadLetterProducer, logger: logger)
        } catch {
            throw SluiceError(code: .configuration, message: "invalid dead-letter producer configuration", underlying: error)
        }
    }

    /// The factory ``SluiceConsumer`` uses.
    static func factory(logger: Logger) -> DeadLetterSinkFactory {
        { configuration in try KafkaDeadLetterSink(configuration: configuration, logger: logger) }
    }

    func write(_ record: KafkaProducerMessage, completion: @escaping @Sendable (Result<Void, any Error>) -> Void) {
        do {
            try producer.produce(record) { result in completion(result.map { _ in () }.mapError { $0 }) }
        } catch {
            completion(.failure(error))
        }
    }

    func close(timeout: Duration) {
        do {
            try producer.close(timeout: timeout)
        } catch {
            logger.warning("dead-letter writes still outstanding at close", metadata: ["error": "\(error)"])
        }
    }
}
