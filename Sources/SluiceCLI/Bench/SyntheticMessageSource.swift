//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import _SluiceTime
internal import Foundation
internal import Sluice
internal import Synchronization

/// A message source with no broker behind it, for the `engine-…` scenarios of `sluice bench`:
/// what the engine alone costs per message, without librdkafka's fetching and parsing and
/// without a broker sharing the cores.
///
/// It serves the bench's small workload from memory: values of 100 bytes, keys over 1,000
/// values, offsets from 0 on each partition, in runs of one partition as a fetch delivers them.
/// Each partition holds its own share of the keys, in turn, as on the broker, where the
/// producer's partitioner sends every message of a key to one partition: about 21 keys per
/// partition of the 47 of a full run, so that key order has as many messages per lane as there.
/// Each message's key and value are copied into the message's storage, as `KafkaConsumer.poll`
/// copies them out of librdkafka, so that the engine pays the same allocation. Pauses are
/// honoured; commits are answered at the next poll and kept for ``committed(_:timeout:)``.
final class SyntheticMessageSource: MessageSource {
    /// Messages delivered from one partition in a row by default (a fetch of about 64 KiB of them).
    static let runLength = 500
    /// Messages of a whole fetch of one partition from a real broker: librdkafka's default
    /// `max.partition.fetch.bytes` (1 MiB) of these messages' keys and values (100 + about 7 bytes).
    static let fetchRunLength = 1_048_576 / 107
    /// Messages delivered from one partition in a row.
    private let runLength: Int

    private let topic: String
    private let endOffsets: [Int64]
    private let events: MessageSourceEvents
    private let value = [UInt8](repeating: UInt8(ascii: "x"), count: 100)
    /// Each partition's keys: key `k` of the 1,000 on partition `k % partitions`.
    private let keys: [[[UInt8]]]

    private struct State {
        var assigning = false
        var assigned = false
        var positions: [Int64]
        var paused: Set<Int32> = []
        var current = 0
        var run = 0
        var answers: [UInt64] = []
        var committed: [TopicPartition: Int64?] = [:]
    }

    private let state: Mutex<State>

    /// - Parameters:
    ///   - topic: The topic name the messages carry.
    ///   - endOffsets: Messages per partition (each partition's offsets run from 0 to its end).
    ///   - events: Where assignments and commit answers are reported.
    ///   - runLength: Messages delivered from one partition in a row.
    init(topic: String, endOffsets: [Int64], events: MessageSourceEvents, runLength: Int = SyntheticMessageSource.runLength) {
        self.runLength = max(1, runLength)
        // Made afresh from its bytes, as `KafkaConsumer` makes a topic's name from librdkafka's:
        // a name of up to 15 bytes is then a small string, which costs no reference counts
        // (one decoded from JSON may not be).
        self.topic = String(decoding: Array(topic.utf8), as: UTF8.self)
        self.endOffsets = endOffsets
        self.events = events
        let all = (0..<1_000).map { Array("key-\($0)".utf8) }
        self.keys = endOffsets.indices.map { partition in
            let own = all.indices.filter { $0 % endOffsets.count == partition }.map { all[$0] }
            return own.isEmpty ? all : own
        }
        self.state = Mutex(State(positions: Array(repeating: 0, count: endOffsets.count)))
    }

    private var partitions: [TopicPartition] {
        endOffsets.indices.map { TopicPartition(topic: topic, partition: Int32($0)) }
    }

    func topics(timeout: Duration) throws -> [String: Int] {
        [topic: endOffsets.count]
    }

    func subscribe(topics: [String]) throws {
        state.withLock { $0.assigning = true }
    }

    func poll(timeout: Duration) throws -> KafkaMessage? {
        let (assign, answers) = state.withLock { state -> (Bool, [UInt64]) in
            defer {
                state.assigning = false
                state.answers.removeAll()
            }
            return (state.assigning, state.answers)
        }
        if assign {
            events.rebalanced(KafkaRebalanceEvent(kind: .assigned, partitions: partitions, isIncremental: false))
            state.withLock { $0.assigned = true }
        }
        for id in answers { events.committed(id, nil) }
        if let message = next() { return message }
        // Nothing to deliver (all read, or all paused): wait as a poll would.
        Thread.sleep(forTimeInterval: min(timeout.inSeconds, 0.01))
        return nil
    }

    /// The next message: the current partition's next offset for a run, then the next partition's.
    private func next() -> KafkaMessage? {
        let position: (partition: Int, offset: Int64)? = state.withLock { state in
            guard state.assigned else { return nil }
            let count = endOffsets.count
            for step in 0..<count {
                if step > 0 || state.run >= runLength {
                    state.current = (state.current + 1) % count
                    state.run = 0
                }
                let partition = state.current
                guard !state.paused.contains(Int32(partition)), state.positions[partition] < endOffsets[partition] else { continue }
                let offset = state.positions[partition]
                state.positions[partition] += 1
                state.run += 1
                return (partition, offset)
            }
            return nil
        }
        guard let position else { return nil }
        let keys = keys[position.partition]
        let key = keys[Int(position.offset) % keys.count]
        // The bytes copied once into the message's storage, as a copy out of librdkafka is.
        return key.withUnsafeBytes { key in
            value.withUnsafeBytes { value in
                KafkaMessage(
                    topic: topic, partition: Int32(position.partition), offset: position.offset, keyBytes: key,
                    valueBytes: value, isTombstone: false, headers: [], timestamp: nil)
            }
        }
    }

    func pause(_ partitions: [TopicPartition]) throws {
        state.withLock { $0.paused.formUnion(partitions.map(\.partition)) }
    }

    func resume(_ partitions: [TopicPartition]) throws {
        state.withLock { $0.paused.subtract(partitions.map(\.partition)) }
    }

    func commitAsync(_ offsets: [TopicPartitionOffset], id: UInt64) throws {
        state.withLock { state in
            for offset in offsets { state.committed[offset.topicPartition] = offset.offset }
            state.answers.append(id)
        }
    }

    func commitSync(_ offsets: [TopicPartitionOffset], remaining: () -> Duration) throws {
        state.withLock { state in
            for offset in offsets { state.committed[offset.topicPartition] = offset.offset }
        }
    }

    func committed(_ partitions: [TopicPartition], timeout: Duration) throws -> [TopicPartitionOffset] {
        let committed = state.withLock { $0.committed }
        return partitions.map { TopicPartitionOffset($0, offset: committed[$0] ?? nil) }
    }

    func cachedHighWatermark(of partition: TopicPartition) -> Int64? {
        endOffsets.indices.contains(Int(partition.partition)) ? endOffsets[Int(partition.partition)] : nil
    }

    func close(remaining: () -> Duration) throws {
        let owned = state.withLock { state -> Bool in
            defer { state.assigned = false }
            return state.assigned
        }
        if owned {
            events.rebalanced(KafkaRebalanceEvent(kind: .revoked, partitions: partitions, isIncremental: false))
        }
    }
}
