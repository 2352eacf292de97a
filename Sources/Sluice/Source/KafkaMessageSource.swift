//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import Logging

/// The production ``MessageSource``: a librdkafka consumer in the configured group.
final class KafkaMessageSource: MessageSource {
    private let consumer: KafkaConsumer

    /// Creates the consumer (it connects lazily); its hooks report to `events`.
    /// - Throws: ``SluiceError`` for a bad Kafka configuration.
    init(configuration: SluiceConfiguration, events: MessageSourceEvents, logger: Logger) throws {
        do {
            consumer = try KafkaConsumer(
                configuration: configuration.effectiveKafka,
                logger: logger,
                rebalanceHook: events.rebalanced,
                commitHook: { events.committed($0.id, $0.error) },
                errorHook: events.error)
        } catch {
            throw SluiceError(code: .configuration, message: "invalid Kafka configuration", underlying: error)
        }
    }

    /// The factory ``SluiceConsumer`` uses.
    static func factory(logger: Logger) -> MessageSourceFactory {
        { configuration, events in try KafkaMessageSource(configuration: configuration, events: events, logger: logger) }
    }

    func topics(timeout: Duration) throws -> [String: Int] {
        try consumer.topics(timeout: timeout)
    }

    func subscribe(topics: [String]) throws {
        try consumer.subscribe(topics: topics)
    }

    func poll(timeout: Duration) throws -> KafkaMessage? {
        try consumer.poll(timeout: timeout)
    }

    func pause(_ partitions: [TopicPartition]) throws {
        try consumer.pause(partitions)
    }

    func resume(_ partitions: [TopicPartition]) throws {
        try consumer.resume(partitions)
    }

    func commitAsync(_ offsets: [TopicPartitionOffset], id: UInt64) throws {
        try consumer.commitAsync(offsets, id: id)
    }

    func commitSync(_ offsets: [TopicPartitionOffset], remaining: () -> Duration) throws {
        try consumer.commit(offsets, remaining: remaining)
    }

    func committed(_ partitions: [TopicPartition], timeout: Duration) throws -> [TopicPartitionOffset] {
        try consumer.committed(partitions, timeout: timeout)
    }

    func cachedHighWatermark(of partition: TopicPartition) -> Int64? {
        consumer.cachedWatermarks(of: partition)?.high
    }

    var fetcherWakeUps: Int { consumer.fetcherWakeUps }

    func close(remaining: () -> Duration) throws {
        try consumer.close(remaining: remaining)
    }
}
