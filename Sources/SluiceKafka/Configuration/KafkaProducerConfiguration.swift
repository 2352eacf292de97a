//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import _SluiceTime
/// Configuration of a ``KafkaProducer``.
///
/// ```swift
/// var config = KafkaProducerConfiguration(bootstrapServers: [broker.bootstrapServers])
/// config.linger = .milliseconds(20)
/// let producer = try KafkaProducer(configuration: config)
/// ```
public struct KafkaProducerConfiguration: Sendable, Hashable {
    /// Brokers, client id and pass-through properties.
    public var common: KafkaConfiguration
    /// Acknowledgements required from the brokers: `-1`/`all`, `0` or `1`. librdkafka property: `acks`. Default: `"all"`.
    public var acks: String
    /// Whether the producer is idempotent (no duplicates or reordering from retries).
    /// librdkafka property: `enable.idempotence`. Default: `false`.
    public var isIdempotent: Bool
    /// Batching delay. librdkafka property: `linger.ms`. Default: 5 ms.
    public var linger: Duration
    /// Time a message may wait for delivery before it fails. librdkafka property: `message.timeout.ms`. Default: 300 s.
    public var messageTimeout: Duration
    /// Local queue bound in messages. librdkafka property: `queue.buffering.max.messages`. Default: 100,000.
    public var queueMaxMessages: Int

    /// Creates a producer configuration; every setting not given takes its documented default.
    public init(bootstrapServers: [String] = [], properties: [String: String] = [:]) {
        self.common = KafkaConfiguration(bootstrapServers: bootstrapServers, properties: properties)
        self.acks = "all"
        self.isIdempotent = false
        self.linger = .milliseconds(5)
        self.messageTimeout = .seconds(300)
        self.queueMaxMessages = 100_000
    }

    /// The librdkafka properties this configuration stands for; pass-through properties win.
    public var librdkafkaProperties: [String: String] {
        var result: [String: String] = [
            "acks": acks,
            "enable.idempotence": String(isIdempotent),
            "linger.ms": String(linger.milliseconds),
            "message.timeout.ms": String(messageTimeout.milliseconds),
            "queue.buffering.max.messages": String(queueMaxMessages),
        ]
        result.merge(common.librdkafkaProperties) { _, passThrough in passThrough }
        return result
    }

    /// Checks every property against librdkafka without connecting anywhere.
    /// - Throws: ``KafkaError`` carrying librdkafka's message for the first bad property.
    public func validate() throws {
        _ = try RDKafkaConfig(properties: librdkafkaProperties)
    }
}
