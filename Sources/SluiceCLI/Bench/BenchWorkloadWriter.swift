//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import Foundation
internal import Logging
internal import Sluice
internal import Synchronization

/// Writes a benchmark topic: fixed-size values, keys spread over 1,000 keys, no headers (so that
/// the ceiling and Sluice copy the same bytes), and reports each partition's end offset.
struct BenchWorkloadWriter: Sendable {
    var bootstrapServers: String
    var topic: String
    var partitions: Int
    var count: Int
    var valueSize: Int
    var logger: Logger

    /// Produces every message on a dedicated thread and waits for every acknowledgement.
    /// - Returns: The end offset of each partition (offsets start at 0 on a new topic).
    /// - Throws: ``SluiceError`` when a message fails or the broker dropped old data.
    func write() async throws -> [Int64] {
        let perPartition = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[Int64], any Error>) in
            let thread = Thread {
                do {
                    continuation.resume(returning: try produceAll())
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.name = "sluice-bench-produce"
            thread.start()
        }
        try checkRetention(expected: perPartition)
        return perPartition
    }

    private func produceAll() throws -> [Int64] {
        var config = KafkaProducerConfiguration(bootstrapServers: [bootstrapServers])
        config.linger = .milliseconds(20)
        let producer = try KafkaProducer(configuration: config, logger: logger)
        let outcome = Mutex<(counts: [Int64], failure: KafkaError?)>((Array(repeating: 0, count: partitions), nil))
        let value = [UInt8](repeating: UInt8(ascii: "x"), count: valueSize)
        for index in 0..<count {
            let message = KafkaProducerMessage(topic: topic, key: Array("key-\(index % 1_000)".utf8), value: value)
            try producer.produce(message, blockWhenQueueFull: true) { result in
                outcome.withLock { outcome in
                    switch result {
                    case .success(let report): outcome.counts[Int(report.partition)] += 1
                    case .failure(let error): outcome.failure = outcome.failure ?? error
                    }
                }
            }
        }
        try producer.close(timeout: .seconds(300))
        let (counts, failure) = outcome.withLock { ($0.counts, $0.failure) }
        if let failure { throw SluiceError(code: .kafka, message: "writing \(topic) failed", underlying: failure) }
        return counts
    }

    /// The embedded broker keeps about 5 MB per partition and silently drops older data: check
    /// that every partition still starts at offset 0 and ends where the writes say.
    private func checkRetention(expected: [Int64]) throws {
        var config = KafkaConsumerConfiguration(bootstrapServers: [bootstrapServers], groupID: "sluice-bench-check")
        config.fetchWaitMax = .milliseconds(10)
        let reader = try KafkaConsumer(configuration: config, logger: logger)
        defer { try? reader.close(timeout: .seconds(5)) }
        for (partition, end) in expected.enumerated() {
            let marks = try reader.watermarks(of: TopicPartition(topic: topic, partition: Int32(partition)), timeout: .seconds(10))
            guard marks.low == 0, marks.high == end else {
                throw SluiceError(
                    code: .kafka,
                    message: "the embedded broker kept offsets \(marks.low)..<\(marks.high) of \(topic)[\(partition)], not 0..<\(end): "
                        + "it keeps about 5 MB per partition, so write fewer messages")
            }
        }
    }
}
