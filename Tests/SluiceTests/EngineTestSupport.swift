import Foundation
import Logging
import Sluice
import Synchronization
import Testing

/// Shared fixtures of the engine's integration tests: an embedded broker, a fast producer, and
/// helpers to read back committed offsets and end offsets.
enum EngineFixture {
    /// A broker with one topic of `partitions` partitions.
    static func broker(topic: String, partitions: Int, brokers: Int = 1) throws -> EmbeddedBroker {
        let broker = try EmbeddedBroker(brokers: brokers, logger: quietLogger)
        try broker.createTopic(topic, partitions: partitions)
        return broker
    }

    /// Logs warnings and above only, so test output stays readable.
    static var quietLogger: Logger {
        var logger = Logger(label: "sluice.test")
        logger.logLevel = .warning
        return logger
    }

    /// Produces `count` messages (key `k<i % keys>`, value `<i>`, header `id=<i>`) starting at id `from`;
    /// returns the number of messages written per partition.
    @discardableResult
    static func produce(
        to topic: String, on broker: EmbeddedBroker, count: Int, from: Int = 0, keys: Int = 100
    ) throws -> [Int32: Int] {
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(bootstrapServers: [broker.bootstrapServers]), logger: quietLogger)
        let counts = Mutex<[Int32: Int]>([:])
        let failures = Mutex<[KafkaError]>([])
        for id in from..<(from + count) {
            let message = KafkaProducerMessage(
                topic: topic, key: Array("k\(id % keys)".utf8), value: Array("\(id)".utf8),
                headers: [KafkaHeader(name: "id", string: "\(id)")])
            try producer.produce(message, blockWhenQueueFull: true) { result in
                switch result {
                case .success(let report): counts.withLock { $0[report.partition, default: 0] += 1 }
                case .failure(let error): failures.withLock { $0.append(error) }
                }
            }
        }
        try producer.close(timeout: .seconds(60))
        let errors = failures.withLock { $0 }
        #expect(errors.isEmpty, "delivery failures: \(errors.prefix(3))")
        return counts.withLock { $0 }
    }

    /// A configuration tuned for the embedded broker (short fetch wait, fast commits).
    static func configuration(
        broker: EmbeddedBroker, group: String, topic: String
    ) -> SluiceConfiguration {
        var config = SluiceConfiguration(brokers: [broker.bootstrapServers], groupID: group, topics: [topic])
        config.kafka.fetchWaitMax = .milliseconds(10)
        config.commitInterval = .milliseconds(200)
        config.drainTimeout = .seconds(20)
        return config
    }

    /// The group's committed offsets and the log end offsets of every partition of `topic`.
    static func committedAndEnd(
        broker: EmbeddedBroker, group: String, topic: String, partitions: Int
    ) throws -> (committed: [Int32: Int64], end: [Int32: Int64]) {
        var config = KafkaConsumerConfiguration(bootstrapServers: [broker.bootstrapServers], groupID: group)
        config.fetchWaitMax = .milliseconds(10)
        let reader = try KafkaConsumer(configuration: config, logger: quietLogger)
        defer { try? reader.close(timeout: .seconds(5)) }
        let tps = (0..<Int32(partitions)).map { TopicPartition(topic: topic, partition: $0) }
        var committed: [Int32: Int64] = [:]
        for entry in try reader.committed(tps, timeout: .seconds(10)) {
            if let offset = entry.offset { committed[entry.topicPartition.partition] = offset }
        }
        var end: [Int32: Int64] = [:]
        for tp in tps { end[tp.partition] = try reader.watermarks(of: tp, timeout: .seconds(10)).high }
        return (committed, end)
    }

    /// Waits until `condition` holds, checking every 20 ms, for at most `timeout`.
    static func eventually(
        timeout: Duration = .seconds(60), _ condition: () throws -> Bool
    ) async throws -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while clock.now < deadline {
            if try condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return try condition()
    }
}

/// Records what a handler saw: ids by occurrence, and concurrency per key.
final class HandledLog: Sendable {
    private struct State {
        var counts: [Int: Int] = [:]
        var total = 0
    }

    private let state = Mutex(State())

    func record(_ message: KafkaMessage) {
        let id = Int(message.headers.string(named: "id") ?? "") ?? -1
        state.withLock {
            $0.counts[id, default: 0] += 1
            $0.total += 1
        }
    }

    var total: Int { state.withLock { $0.total } }
    var distinct: Int { state.withLock { $0.counts.count } }
    var counts: [Int: Int] { state.withLock { $0.counts } }
    var duplicates: Int { state.withLock { $0.counts.values.reduce(0) { $0 + max(0, $1 - 1) } } }
}
