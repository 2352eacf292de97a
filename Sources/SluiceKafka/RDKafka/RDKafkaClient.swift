//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import _SluiceTime
internal import CRdKafka
internal import Foundation
internal import Logging

/// Owns one `rd_kafka_t` and the context its callbacks reach; destroys the handle in `deinit`.
///
/// `@unchecked Sendable`: librdkafka handles are thread-safe, and the only mutable state,
/// ``destroyFlags``, is written by the owner before it lets go of the client.
final class RDKafkaClient: @unchecked Sendable {
    /// The `rd_kafka_t`. Never leaves SluiceKafka.
    let handle: OpaquePointer
    /// Kept alive for as long as the handle can call back.
    let context: RDKafkaClientContext
    /// Flags for `rd_kafka_destroy_flags`; a consumer that did not close sets
    /// `RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE`, because the implicit close may hang on 2.0.2.
    var destroyFlags: Int32 = 0

    /// Creates the handle; `configure` may install further callbacks (delivery reports).
    init(
        type: rd_kafka_type_t,
        properties: [String: String],
        context: RDKafkaClientContext,
        configure: (RDKafkaConfig) -> Void = { _ in }
    ) throws {
        let config = try RDKafkaConfig(properties: properties)
        // The global commit callback reports librdkafka's automatic commits (and would report every
        // synchronous commit too): explicit commits report through their own callback instead.
        let autoCommits = type == RD_KAFKA_CONSUMER && properties["enable.auto.commit"] != "false"
        context.install(on: config, rebalance: type == RD_KAFKA_CONSUMER, commits: autoCommits)
        configure(config)
        self.handle = try config.makeClient(type: type)
        self.context = context
    }

    deinit {
        // librdkafka 2.0.2 can hang in rd_kafka_destroy (a broker thread stuck in connection
        // set-up against the mock cluster was seen here). Destroy on a thread of its own and wait
        // a bounded time, so no caller hangs with it. The thread keeps `context` alive: no callback
        // may run once it is released.
        let handle = SendableHandle(pointer: handle)
        let flags = destroyFlags
        let context = context
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            rd_kafka_destroy_flags(handle.pointer, flags)
            withExtendedLifetime(context) {}
            done.signal()
        }
        thread.name = "sluice-rdkafka-destroy"
        thread.start()
        let timeout = destroyTimeout
        if done.wait(timeout: .now() + timeout) == .timedOut {
            context.logger.warning(
                "librdkafka did not finish destroying a client within \(timeout) s; it goes on in the background")
        }
    }

    /// How long `deinit` waits for `rd_kafka_destroy`, in seconds: 10 by default, less once the
    /// owner knows the brokers do not answer (a close that ran out of time), so that a stop keeps
    /// its budget. Set on the owner's thread before the last reference goes.
    var destroyTimeout: Double = 10

    /// Topics known to the cluster, with their partition counts.
    func topicPartitionCounts(timeout: Duration) throws -> [String: Int] {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let error = rd_kafka_metadata(handle, 1, nil, &metadata, Int32(timeout.milliseconds))
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw KafkaError.rdKafka(error, "fetching cluster metadata")
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        var result: [String: Int] = [:]
        for index in 0..<Int(metadata.pointee.topic_cnt) {
            let topic = metadata.pointee.topics[index]
            if topic.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                result[String(cString: topic.topic)] = Int(topic.partition_cnt)
            }
        }
        return result
    }

    /// Low and high watermarks asked of the partition leader.
    func queryWatermarks(_ tp: TopicPartition, timeout: Duration) throws -> KafkaWatermarks {
        var low: Int64 = 0
        var high: Int64 = 0
        let error = rd_kafka_query_watermark_offsets(
            handle, tp.topic, tp.partition, &low, &high, Int32(timeout.milliseconds))
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.rdKafka(error, "querying watermarks", topic: tp.topic, partition: tp.partition)
        }
        return KafkaWatermarks(low: low, high: high)
    }

    /// Watermarks from the last fetch response, without a request; `nil` when none is known yet.
    func cachedWatermarks(_ tp: TopicPartition) -> KafkaWatermarks? {
        var low: Int64 = -1
        var high: Int64 = -1
        let error = rd_kafka_get_watermark_offsets(handle, tp.topic, tp.partition, &low, &high)
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR, high >= 0 else { return nil }
        return KafkaWatermarks(low: max(low, 0), high: high)
    }
}

/// An `rd_kafka_t` pointer handed to the thread that destroys it (librdkafka handles are thread-safe).
private struct SendableHandle: @unchecked Sendable {
    let pointer: OpaquePointer
}

/// The first and one-past-last offsets of a partition's log.
public struct KafkaWatermarks: Hashable, Sendable, CustomStringConvertible {
    /// The oldest retained offset.
    public var low: Int64
    /// The log end offset: the offset the next written message will get.
    public var high: Int64

    /// Creates watermarks.
    public init(low: Int64, high: Int64) {
        self.low = low
        self.high = high
    }

    /// `[low, high)`.
    public var description: String { "[\(low), \(high))" }
}
