//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import CRdKafka

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// Owns one `rd_kafka_topic_partition_list_t` built in Swift, and reads lists librdkafka owns.
final class RDKafkaTopicPartitionList {
    private let pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>

    /// An empty list.
    init(capacity: Int = 1) {
        pointer = rd_kafka_topic_partition_list_new(Int32(max(capacity, 1)))
    }

    /// A list of partitions without offsets.
    convenience init(_ partitions: some Collection<TopicPartition>) {
        self.init(capacity: partitions.count)
        for tp in partitions { add(tp, offset: nil) }
    }

    /// A list of offsets (with their metadata).
    convenience init(_ offsets: some Collection<TopicPartitionOffset>) {
        self.init(capacity: offsets.count)
        for entry in offsets { add(entry.topicPartition, offset: entry.offset, metadata: entry.metadata) }
    }

    deinit {
        rd_kafka_topic_partition_list_destroy(pointer)
    }

    /// Appends a partition. librdkafka copies `metadata` (`rd_kafka_topic_partition_t.metadata`
    /// is freed by the list), so it is malloc'ed here and handed over.
    func add(_ tp: TopicPartition, offset: Int64?, metadata: String? = nil) {
        let element = rd_kafka_topic_partition_list_add(pointer, tp.topic, tp.partition)!
        element.pointee.offset = offset ?? sluice_rd_kafka_offset_invalid()
        if let metadata {
            let bytes = Array(metadata.utf8)
            let buffer = malloc(max(bytes.count, 1))!
            bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
            element.pointee.metadata = buffer  // owned by the list from here on
            element.pointee.metadata_size = bytes.count
        }
    }

    /// Runs `body` with the list pointer. Do not escape the pointer from the closure.
    func withListPointer<T>(_ body: (UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) throws -> T) rethrows -> T {
        try body(pointer)
    }

    /// The entries of this list.
    var entries: [TopicPartitionOffset] { Self.entries(of: pointer) }

    /// The first per-partition error of this list, if any.
    var firstError: KafkaError? { Self.firstError(of: pointer) }

    /// Copies the entries of a list that librdkafka owns (callback arguments).
    static func entries(of list: UnsafePointer<rd_kafka_topic_partition_list_t>?) -> [TopicPartitionOffset] {
        guard let list, list.pointee.cnt > 0 else { return [] }
        return (0..<Int(list.pointee.cnt)).map { index in
            let element = list.pointee.elems[index]
            var metadata: String?
            if let data = element.metadata, element.metadata_size > 0 {
                let bytes = UnsafeRawBufferPointer(start: data, count: element.metadata_size)
                metadata = String(decoding: bytes, as: UTF8.self)
            }
            return TopicPartitionOffset(
                topic: String(cString: element.topic),
                partition: element.partition,
                offset: element.offset >= 0 ? element.offset : nil,
                metadata: metadata
            )
        }
    }

    /// The partitions (without offsets) of a list that librdkafka owns.
    static func partitions(of list: UnsafePointer<rd_kafka_topic_partition_list_t>?) -> [TopicPartition] {
        entries(of: list).map(\.topicPartition)
    }

    /// The first per-partition error of a list, with its partition as context.
    static func firstError(of list: UnsafePointer<rd_kafka_topic_partition_list_t>?) -> KafkaError? {
        guard let list else { return nil }
        for index in 0..<Int(list.pointee.cnt) {
            let element = list.pointee.elems[index]
            if element.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                return .rdKafka(element.err, topic: String(cString: element.topic), partition: element.partition)
            }
        }
        return nil
    }
}
