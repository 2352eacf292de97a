//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import DequeModule
internal import Sluice
internal import Synchronization
internal import _SluiceTime

/// A consumer of an ``InMemoryKafka``, as the engine sees librdkafka's: rebalances and commit
/// answers arrive from inside ``poll(timeout:)``, a revocation before the assignment changes, and
/// a poll that finds nothing moves the clock by its timeout instead of sleeping.
///
/// Like librdkafka 2.0.2, a paused partition stays paused across unassign and assign, and a
/// resumed one fetches again from the last message it delivered.
final class InMemoryConsumer: MessageSource {
    private struct State {
        var subscribed: [String] = []
        /// Assigned partitions and the offset each fetches next.
        var positions: [TopicPartition: Int64] = [:]
        var paused: Set<TopicPartition> = []
        /// Answers to asynchronous commits, delivered at the next poll.
        var answers: [(id: UInt64, error: KafkaError?)] = []
        /// The partition messages came from last, and how many in a row (fetches come in runs).
        var current: TopicPartition?
        var run = 0
        var isClosed = false
        /// Inside a rebalance event: nested polls deliver messages, not further events.
        var isRebalancing = false
    }

    private let kafka: InMemoryKafka
    private let events: MessageSourceEvents
    private let startsAtEnd: Bool
    private let state = Mutex(State())
    /// Asked before every poll: the ``TestConsumer``'s stop condition.
    private let beforePoll: @Sendable (_ idle: Bool) -> Void
    /// Most messages delivered from one partition in a row.
    private static let runLength = 64

    init(kafka: InMemoryKafka, configuration: SluiceConfiguration, events: MessageSourceEvents, beforePoll: @escaping @Sendable (Bool) -> Void) {
        self.kafka = kafka
        self.events = events
        self.startsAtEnd = configuration.kafka.offsetReset == .latest
        self.beforePoll = beforePoll
    }

    private var clock: ManualClock { kafka.clock }

    func topics(timeout: Duration) throws -> [String: Int] {
        if kafka.isUnresponsive {
            clock.advance(by: timeout)
            throw KafkaError(code: .timedOut, message: "Local: Timed out (in-memory broker unresponsive)")
        }
        return kafka.state.withLock { $0.topics.mapValues(\.count) }
    }

    func subscribe(topics: [String]) throws {
        state.withLock { $0.subscribed = topics }
        let partitions = kafka.state.withLock { cluster in
            // A subscription starting with `^` is a regular expression, as in librdkafka.
            let names = topics.flatMap { topic -> [String] in
                guard topic.hasPrefix("^"), let regex = try? Regex(topic) else { return [topic] }
                return cluster.topics.keys.sorted().filter { (try? regex.wholeMatch(in: $0)) != nil }
            }
            return names.flatMap { topic in (0..<(cluster.topics[topic]?.count ?? 0)).map { TopicPartition(topic: topic, partition: Int32($0)) } }
        }
        kafka.state.withLock { $0.rebalances.append(.assign(partitions)) }
    }

    func poll(timeout: Duration) throws -> KafkaMessage? {
        let nested = state.withLock { $0.isRebalancing }
        if !nested {
            deliverEvents()
            beforePoll(false)
        }
        if let message = next() { return message }
        clock.advance(by: timeout)
        if !nested { beforePoll(true) }
        return nil
    }

    /// Delivers commit answers and scripted rebalances, in order.
    private func deliverEvents() {
        let answers = state.withLock { state in
            defer { state.answers.removeAll() }
            return state.answers
        }
        for answer in answers { events.committed(answer.id, answer.error) }
        while let rebalance = kafka.state.withLock({ $0.rebalances.popFirst() }) {
            state.withLock { $0.isRebalancing = true }
            defer { state.withLock { $0.isRebalancing = false } }
            switch rebalance {
            case .assign(let partitions):
                events.rebalanced(KafkaRebalanceEvent(kind: .assigned, partitions: partitions, isIncremental: false))
                let committed = kafka.state.withLock { $0.committed }
                let ends = Dictionary(uniqueKeysWithValues: Set(partitions.map(\.topic)).flatMap { kafka.endOffsets(of: $0) })
                state.withLock { state in
                    for tp in partitions {
                        state.positions[tp] = committed[tp]?.offset ?? (startsAtEnd ? ends[tp] ?? 0 : 0)
                    }
                }
            case .revoke(let partitions), .lose(let partitions):
                let kind: KafkaRebalanceEvent.Kind = if case .lose = rebalance { .lost } else { .revoked }
                let owned = state.withLock { state in partitions.filter { state.positions[$0] != nil } }
                guard !owned.isEmpty else { continue }
                events.rebalanced(KafkaRebalanceEvent(kind: kind, partitions: owned, isIncremental: false))
                state.withLock { state in
                    for tp in owned { state.positions[tp] = nil }
                    if let current = state.current, owned.contains(current) { state.current = nil }
                }
            }
        }
    }

    /// The next message of an assigned, unpaused partition: runs of one partition, then the next.
    private func next() -> KafkaMessage? {
        let logs = kafka.state.withLock { $0.topics }
        return state.withLock { state in
            let candidates = state.positions.keys.filter { !state.paused.contains($0) }.sorted()
            guard !candidates.isEmpty else { return nil }
            var order = candidates
            if let current = state.current, let index = candidates.firstIndex(of: current) {
                // Stay on the current partition for a run, then move on to the next one.
                let start = state.run < Self.runLength ? index : (index + 1) % candidates.count
                order = Array(candidates[start...] + candidates[..<start])
            }
            for tp in order {
                guard let position = state.positions[tp], let log = logs[tp.topic]?[Int(tp.partition)], position < log.count else { continue }
                state.positions[tp] = position + 1
                state.run = state.current == tp ? state.run + 1 : 1
                state.current = tp
                return log[Int(position)]
            }
            return nil
        }
    }

    func pause(_ partitions: [TopicPartition]) throws {
        state.withLock { $0.paused.formUnion(partitions) }
    }

    func resume(_ partitions: [TopicPartition]) throws {
        state.withLock { $0.paused.subtract(partitions) }
    }

    func commitAsync(_ offsets: [TopicPartitionOffset], id: UInt64) throws {
        guard !kafka.isUnresponsive else { return }  // never answered
        let error = kafka.commit(offsets)
        state.withLock { $0.answers.append((id, error)) }
    }

    func commitSync(_ offsets: [TopicPartitionOffset], remaining: () -> Duration) throws {
        if kafka.isUnresponsive {
            clock.advance(by: max(.zero, remaining()))
            throw KafkaError(code: .timedOut, message: "no answer to the commit in time (in-memory broker unresponsive)")
        }
        if let error = kafka.commit(offsets) { throw error }
    }

    func committed(_ partitions: [TopicPartition], timeout: Duration) throws -> [TopicPartitionOffset] {
        if kafka.isUnresponsive {
            clock.advance(by: max(.zero, timeout))
            throw KafkaError(code: .timedOut, message: "no answer to the offset fetch in time (in-memory broker unresponsive)")
        }
        return partitions.map { kafka.committed($0) ?? TopicPartitionOffset($0, offset: nil) }
    }

    func cachedHighWatermark(of partition: TopicPartition) -> Int64? {
        kafka.endOffsets(of: partition.topic)[partition]
    }

    func close(remaining: () -> Duration) throws {
        if kafka.isUnresponsive {
            clock.advance(by: max(.zero, remaining()))
            throw KafkaError(code: .timedOut, message: "closing the consumer took longer than its budget (in-memory broker unresponsive)")
        }
        let owned = state.withLock { $0.positions.keys.sorted() }
        if !owned.isEmpty {
            state.withLock { $0.isRebalancing = true }
            events.rebalanced(KafkaRebalanceEvent(kind: .revoked, partitions: owned, isIncremental: false))
            state.withLock { state in
                state.isRebalancing = false
                state.positions.removeAll()
                state.isClosed = true
            }
        }
    }
}

/// Writes dead letters into an ``InMemoryKafka``, refusing records larger than the dead-letter
/// producer's `message.max.bytes` as librdkafka does.
struct InMemoryDeadLetterSink: DeadLetterSink {
    let kafka: InMemoryKafka
    let maxBytes: Int

    init(kafka: InMemoryKafka, configuration: SluiceConfiguration) {
        self.kafka = kafka
        self.maxBytes = configuration.effectiveDeadLetterProducer.common.properties["message.max.bytes"].flatMap(Int.init) ?? 1_000_000
    }

    func write(_ record: KafkaProducerMessage, completion: @escaping @Sendable (Result<Void, any Error>) -> Void) {
        if let error = kafka.write(record, maxBytes: maxBytes) {
            completion(.failure(error))
        } else {
            completion(.success(()))
        }
    }

    func close(timeout: Duration) {}
}
