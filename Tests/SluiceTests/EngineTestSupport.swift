//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

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

    /// Logs warnings and above only, so test output stays readable; `SLUICE_TEST_LOG=info` (or
    /// any level) shows more when a test needs investigating.
    static var quietLogger: Logger {
        var logger = Logger(label: "sluice.test")
        logger.logLevel = ProcessInfo.processInfo.environment["SLUICE_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
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

/// Records what a handler saw: ids by occurrence, and the offsets handled per partition.
final class HandledLog: Sendable {
    private struct State {
        var counts: [Int: Int] = [:]
        var total = 0
        var offsets: [Int32: Set<Int64>] = [:]
    }

    private let state = Mutex(State())

    func record(_ message: KafkaMessage) {
        let id = Self.id(of: message)
        state.withLock {
            $0.counts[id, default: 0] += 1
            $0.total += 1
            $0.offsets[message.partition, default: []].insert(message.offset)
        }
    }

    /// The `id` header the fixture's producer writes, or -1.
    static func id(of message: KafkaMessage) -> Int {
        Int(message.headers.string(named: "id") ?? "") ?? -1
    }

    var total: Int { state.withLock { $0.total } }
    var distinct: Int { state.withLock { $0.counts.count } }
    var counts: [Int: Int] { state.withLock { $0.counts } }
    var duplicates: Int { state.withLock { $0.counts.values.reduce(0) { $0 + max(0, $1 - 1) } } }
    /// The offsets handled at least once, per partition.
    var offsets: [Int32: Set<Int64>] { state.withLock { $0.offsets } }

    /// Ids in `0..<total` never handled.
    func missing(of total: Int) -> [Int] {
        let counts = self.counts
        return (0..<total).filter { counts[$0] == nil }
    }

    /// Partitions whose committed offset passes an offset that was never handled (an
    /// at-least-once violation), with the first such offset. Offsets are dense on the embedded
    /// broker, so every offset below the commit was a message.
    func offsetsCommittedUnhandled(_ committed: [Int32: Int64]) -> [Int32: Int64] {
        let offsets = self.offsets
        var result: [Int32: Int64] = [:]
        for (partition, commit) in committed {
            let handled = offsets[partition] ?? []
            if let hole = (0..<commit).first(where: { !handled.contains($0) }) { result[partition] = hole }
        }
        return result
    }
}

/// Records how many handler calls overlap, overall and per lane (a key or a partition), and
/// whether each lane's calls ran one at a time in offset order.
final class ConcurrencyProbe: Sendable {
    private struct State {
        var current = 0
        var maximum = 0
        var runningLanes: Set<String> = []
        var lastOffset: [String: Int64] = [:]
        var overlaps: [String] = []
        var outOfOrder: [String] = []
    }

    private let state = Mutex(State())

    /// Marks a call started; `lane` nil for calls with no ordering constraint.
    func enter(lane: String?, offset: Int64) {
        state.withLock { state in
            state.current += 1
            state.maximum = max(state.maximum, state.current)
            guard let lane else { return }
            if !state.runningLanes.insert(lane).inserted { state.overlaps.append("\(lane)@\(offset)") }
            if let last = state.lastOffset[lane], last >= offset {
                state.outOfOrder.append("\(lane): \(offset) after \(last)")
            }
            state.lastOffset[lane] = offset
        }
    }

    /// Marks a call finished.
    func exit(lane: String?) {
        state.withLock { state in
            state.current -= 1
            if let lane { state.runningLanes.remove(lane) }
        }
    }

    var maximum: Int { state.withLock { $0.maximum } }
    /// Calls that started while another call of their lane ran.
    var overlaps: [String] { state.withLock { $0.overlaps } }
    /// Calls that started after a higher offset of their lane.
    var outOfOrder: [String] { state.withLock { $0.outOfOrder } }
    /// The number of lanes seen.
    var laneCount: Int { state.withLock { $0.lastOffset.count } }
}

extension EngineFixture {
    /// Burns the calling thread for `duration` (a CPU-bound handler of fixed cost).
    static func spin(for duration: Duration) {
        let clock = ContinuousClock()
        let end = clock.now.advanced(by: duration)
        while clock.now < end {}
    }

    /// Waits until the group's committed offsets equal the log end offsets; returns the last
    /// reading either way.
    static func awaitCommittedEnd(
        broker: EmbeddedBroker, group: String, topic: String, partitions: Int, timeout: Duration = .seconds(30)
    ) async throws -> (committed: [Int32: Int64], end: [Int32: Int64]) {
        // Each reading opens a client: check every 250 ms, not at `eventually`'s pace.
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while true {
            let last = try committedAndEnd(broker: broker, group: group, topic: topic, partitions: partitions)
            if last.committed == last.end || clock.now >= deadline { return last }
            try await Task.sleep(for: .milliseconds(250))
        }
    }

    /// Starts `consumer.run()` in a task.
    static func start(_ consumer: SluiceConsumer) -> Task<Void, any Error> {
        Task { try await consumer.run() }
    }
}

/// The engine's integration suites against the embedded broker, nested here so that they run one
/// test at a time: they share two cores, and each waits ~3 s for a group join.
@Suite(.timeLimit(.minutes(5)), .serialized)
enum EngineIntegrationTests {}

/// A consumer started in a test, with the task running it and what its handler saw.
struct StartedConsumer: Sendable {
    let consumer: SluiceConsumer
    let run: Task<Void, any Error>
    let log: HandledLog

    /// Creates and starts a consumer whose handler records into `log` (and a shared log, if
    /// given), then calls `work`.
    static func start(
        _ config: SluiceConfiguration, log: HandledLog = HandledLog(), also shared: HandledLog? = nil,
        work: @escaping @Sendable (KafkaMessage) throws -> Void = { _ in }
    ) throws -> StartedConsumer {
        let consumer = try SluiceConsumer(
            configuration: config,
            handler: ClosureMessageHandler { message, _ in
                log.record(message)
                shared?.record(message)
                try work(message)
            },
            logger: EngineFixture.quietLogger)
        return StartedConsumer(consumer: consumer, run: EngineFixture.start(consumer), log: log)
    }

    /// Stops the consumer gracefully and waits for `run()` to return, rethrowing its error.
    func stop() async throws {
        consumer.stop()
        try await run.value
    }
}

extension Array where Element == StartedConsumer {
    /// Stops every consumer, ignoring their errors: the cleanup path of a failed test.
    func stopAll() async {
        for started in self { started.consumer.stop() }
        for started in self { _ = try? await started.run.value }
    }
}

extension EngineFixture {
    /// ``configuration(broker:group:topic:)`` for a group that several consumers join or leave,
    /// one after the other or together. After a group's first join (3 s), the embedded broker
    /// waits `session.timeout.ms` − 1 s for members to rejoin on every rebalance, a leave
    /// included: with librdkafka's 45 s default a membership change takes 44 s, with this 4 s
    /// session about 3 s.
    ///
    /// The embedded broker also rejects every offset commit while the group rebalances (Kafka
    /// accepts those of the current generation until the rebalance completes), so a member's
    /// progress since its last commit before a rebalance is handled again by the next owner. A
    /// short heartbeat makes members notice a rebalance, and stop, sooner.
    static func groupConfiguration(broker: EmbeddedBroker, group: String, topic: String) -> SluiceConfiguration {
        var config = configuration(broker: broker, group: group, topic: topic)
        config.kafka.sessionTimeout = .seconds(4)
        config.kafka.common.properties["heartbeat.interval.ms"] = "250"
        return config
    }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
