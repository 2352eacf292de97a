//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Tells from the bytes around a fetched message's value whether the message can have headers,
/// so that the consumer asks librdkafka for them only when it can.
///
/// Why it exists: librdkafka (up to at least 2.x) parses a record's headers on the first
/// `rd_kafka_message_headers` call, and for a record *without* headers that call still builds
/// and frees a buffer reader (a zeroed allocation of several hundred bytes) to read the record's
/// header count, 0, and answers "none" again on the next call. With the 100-byte messages of
/// `sluice bench` that was about a sixth of the consumer's CPU per no-op message (measured in
/// BENCHMARKS.md). librdkafka has no public call that tells the count without that parse.
///
/// How it knows, from the Kafka record formats and librdkafka's zero-copy fetch (it hands out
/// the value where it lies in the fetched or decompressed record batch, never a copy):
/// - In a v2 record (Kafka ≥ 0.11, the only format that has headers) the value is followed by
///   the header count, a zigzag varint: one byte `0x00` when there are none, a non-zero first
///   byte otherwise.
/// - A legacy (v0/v1) message has no headers, and its value may end the fetched buffer, so the
///   byte after it must not be read. Its value follows its length as a 4-byte big-endian
///   integer; in a v2 record the 4 bytes before the value end in a varint length, which makes
///   that integer equal the value's length only by coincidence. When the 4 bytes equal the
///   length the probe answers "may have headers", and librdkafka answers itself (cheaply: for
///   a legacy message it has no header bytes to parse).
/// - An empty or null value may not point into the record at all (librdkafka points an empty
///   one at a static empty string): those are left to librdkafka too.
///
/// The probe never reads outside the record: the 4 bytes before a non-empty value are within it
/// in both formats (length prefixes, attributes), and the byte after it is read only in a v2
/// record, where the header count is part of every well-formed record (brokers refuse records
/// without it). It can only err towards asking librdkafka, so a message's headers are never
/// missed. It is used only with the librdkafka versions whose fetch reader was checked
/// (``isSupported``); with others every message goes to `rd_kafka_message_headers`.
enum RecordHeaderProbe {
    /// Whether the linked librdkafka is one whose fetched values lie in their records as
    /// described (0.11 up to 2.x); with any other, ``mayHaveHeaders(value:count:)`` says yes.
    static let isSupported = isSupported(version: KafkaConsumerConfiguration.linkedLibrdkafkaVersion)

    /// Whether librdkafka `version` (`0xMMmmrrpp`) is one the probe was checked against.
    static func isSupported(version: UInt32) -> Bool {
        (0x000b_0000..<0x0300_0000).contains(version)
    }

    /// `false` only when the message whose value librdkafka handed out at `value` (`count`
    /// bytes) certainly has no headers: a v2 record with a header count of 0.
    static func mayHaveHeaders(value: UnsafeRawPointer?, count: Int) -> Bool {
        guard isSupported else { return true }
        return mayHaveHeaders(inRecordAt: value, count: count)
    }

    /// ``mayHaveHeaders(value:count:)`` whatever the linked version: what the tests check.
    static func mayHaveHeaders(inRecordAt value: UnsafeRawPointer?, count: Int) -> Bool {
        guard let value, count > 0, count <= Int(Int32.max) else { return true }
        let prefix = UInt32(bigEndian: (value - 4).loadUnaligned(as: UInt32.self))
        if prefix == UInt32(count) { return true }  // legacy layout, or a v2 coincidence
        return value.load(fromByteOffset: count, as: UInt8.self) != 0
    }
}
