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

/// Writes numbered messages, each with a unique id in the `sluice-id` header (and in the payload
/// of JSON order events), optionally at a fixed rate. Used by `sluice produce` and `sluice demo`.
struct LoadGenerator: Sendable {
    var topic: String
    var count: Int
    /// Payload size in bytes (JSON events are padded up to it).
    var size: Int = 100
    /// Distinct keys; 0 writes messages without keys.
    var keys: Int = 1_000
    /// Messages per second; `nil` for as fast as possible.
    var rate: Double?
    var json = false
    var firstID = 0

    /// The header carrying each message's unique id.
    static let idHeader = "sluice-id"

    /// The outcome of a run.
    struct Report: Sendable {
        var delivered: Int
        var failures: [KafkaError]
        var perPartition: [Int32: Int]
        var elapsed: Duration
    }

    /// Produces every message on a dedicated thread (a full local queue blocks it, not Swift's
    /// cooperative pool) and waits for every acknowledgement.
    func run(producer: KafkaProducer) async throws -> Report {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Report, any Error>) in
            let thread = Thread {
                do {
                    continuation.resume(returning: try produceAll(producer))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.name = "sluice-produce"
            thread.start()
        }
    }

    private func produceAll(_ producer: KafkaProducer) throws -> Report {
        let outcome = Mutex<(delivered: Int, failures: [KafkaError], perPartition: [Int32: Int])>((0, [], [:]))
        let clock = ContinuousClock()
        let start = clock.now
        let padding = String(repeating: "x", count: max(0, size))
        for index in 0..<count {
            if let rate, rate > 0 {
                let due = start.advanced(by: .seconds(Double(index) / rate))
                let wait = clock.now.duration(to: due)
                if wait > .milliseconds(1) { Thread.sleep(forTimeInterval: wait.inSeconds) }
            }
            let id = firstID + index
            let message = KafkaProducerMessage(
                topic: topic, key: keys > 0 ? Array(key(for: id).utf8) : nil, value: payload(for: id, padding: padding),
                headers: [KafkaHeader(name: Self.idHeader, string: String(id))])
            try producer.produce(message, blockWhenQueueFull: true) { result in
                outcome.withLock { outcome in
                    switch result {
                    case .success(let report):
                        outcome.delivered += 1
                        outcome.perPartition[report.partition, default: 0] += 1
                    case .failure(let error):
                        if outcome.failures.count < 100 { outcome.failures.append(error) }
                    }
                }
            }
        }
        try producer.flush(timeout: .seconds(300))
        let elapsed = start.duration(to: clock.now)
        return outcome.withLock { Report(delivered: $0.delivered, failures: $0.failures, perPartition: $0.perPartition, elapsed: elapsed) }
    }

    private func key(for id: Int) -> String {
        json ? "customer-\(id % keys)" : "key-\(id % keys)"
    }

    private func payload(for id: Int, padding: String) -> [UInt8] {
        guard json else {
            // Raw payloads: the id, padded to `size` bytes.
            var bytes = Array("\(id):".utf8)
            if bytes.count < size { bytes += Array(padding.utf8.prefix(size - bytes.count)) }
            return bytes
        }
        var generator = SplitMix(seed: UInt64(id))
        let items = (0..<(1 + Int(generator.next() % 4))).map { _ in
            OrderEvent.Item(
                sku: "sku-\(generator.next() % 5_000)", quantity: 1 + Int(generator.next() % 5),
                unitPriceCents: 100 + Int(generator.next() % 20_000))
        }
        let order = OrderEvent(
            id: String(id), customer: keys > 0 ? "customer-\(id % keys)" : "customer-\(id)", items: items,
            currency: ["EUR", "USD", "GBP"][Int(generator.next() % 3)],
            createdAt: Int64(Date().timeIntervalSince1970 * 1_000))
        return (try? JSONEncoder().encode(order)).map(Array.init) ?? []
    }
}

/// A tiny deterministic generator, so the same id always makes the same order.
private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    mutating func next() -> UInt64 {
        state = state &+ 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
