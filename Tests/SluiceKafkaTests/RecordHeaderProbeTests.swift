//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
@testable import SluiceKafka
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The consumer asks librdkafka for a message's headers only when the bytes around its value say
/// it can have some: never a header missed, never a byte read outside the record. On records laid
/// out by hand: the embedded broker keeps only the v2 format (a producer told the broker is Kafka
/// 0.10 still wrote v2 record batches to it), so the legacy layout is checked here alone.
struct RecordHeaderProbeTests {
    /// A v2 record of `value` with `headerCount` headers named "h" with value "v", as a producer
    /// writes it (the record's length first; no key).
    private static func recordV2(value: [UInt8], headerCount: Int) -> (bytes: [UInt8], valueStart: Int) {
        var body: [UInt8] = [0]  // attributes
        body += varint(0) + varint(0)  // timestamp delta, offset delta
        body += varint(-1)  // null key
        body += varint(Int64(value.count))
        let valueStart = body.count
        body += value
        body += varint(Int64(headerCount))
        for _ in 0..<headerCount { body += varint(1) + [UInt8(ascii: "h")] + varint(1) + [UInt8(ascii: "v")] }
        let length = varint(Int64(body.count))
        return (length + body, length.count + valueStart)
    }

    /// A legacy (v1) message of `value`, as it lies in a message set: offset, size, CRC, magic,
    /// attributes, timestamp, null key, then the value's 4-byte big-endian length and the value.
    private static func messageV1(value: [UInt8]) -> (bytes: [UInt8], valueStart: Int) {
        var bytes = [UInt8](repeating: 0, count: 8 + 4 + 4) + [1, 0] + [UInt8](repeating: 0, count: 8)
        bytes += [0xFF, 0xFF, 0xFF, 0xFF]  // null key
        bytes += withUnsafeBytes(of: UInt32(value.count).bigEndian, Array.init)
        return (bytes + value, bytes.count)
    }

    /// Kafka's zigzag varint.
    private static func varint(_ value: Int64) -> [UInt8] {
        var zigzag = UInt64(bitPattern: (value << 1) ^ (value >> 63))
        var bytes: [UInt8] = []
        repeat {
            bytes.append(UInt8(zigzag & 0x7F) | (zigzag > 0x7F ? 0x80 : 0))
            zigzag >>= 7
        } while zigzag > 0
        return bytes
    }

    private static func probe(_ record: (bytes: [UInt8], valueStart: Int), valueCount: Int) -> Bool {
        record.bytes.withUnsafeBytes {
            RecordHeaderProbe.mayHaveHeaders(inRecordAt: $0.baseAddress! + record.valueStart, count: valueCount)
        }
    }

    @Test func aV2RecordWithoutHeadersIsNotAskedAboutThem() {
        for count in [1, 5, 63, 64, 100, 300, 20_000] {
            let value = [UInt8](repeating: 0x41, count: count)
            #expect(!Self.probe(Self.recordV2(value: value, headerCount: 0), valueCount: count), "value of \(count) bytes")
        }
        // A value whose own bytes are zeros is not mistaken for anything: the byte after it decides.
        #expect(!Self.probe(Self.recordV2(value: [0, 0, 0, 0], headerCount: 0), valueCount: 4))
    }

    @Test func aV2RecordWithHeadersIsAlwaysAsked() {
        for headers in [1, 2, 63, 64, 1_000] {
            for value in [[UInt8(7)], [UInt8](repeating: 0, count: 64), Array("value-1".utf8)] {
                #expect(
                    Self.probe(Self.recordV2(value: value, headerCount: headers), valueCount: value.count),
                    "\(headers) headers, value of \(value.count) bytes")
            }
        }
    }

    @Test func emptyAndNullValuesAreLeftToLibrdkafka() {
        // librdkafka points an empty value at a static empty string, not into the record.
        #expect(RecordHeaderProbe.mayHaveHeaders(inRecordAt: nil, count: 0))
        #expect(RecordHeaderProbe.mayHaveHeaders(inRecordAt: nil, count: 5))
        let empty: StaticString = ""
        #expect(RecordHeaderProbe.mayHaveHeaders(inRecordAt: UnsafeRawPointer(empty.utf8Start), count: 0))
    }

    @Test func aLegacyMessageIsLeftToLibrdkafka() {
        for count in [1, 5, 64, 300, 70_000] {
            let value = [UInt8](repeating: 0, count: count)
            #expect(Self.probe(Self.messageV1(value: value), valueCount: count), "v1 value of \(count) bytes")
        }
    }

    /// The byte after a legacy message's value may lie past the end of librdkafka's buffer: a
    /// message placed against an inaccessible page crashes the test if the probe reads past it.
    @Test func theProbeNeverReadsPastALegacyMessageThatEndsItsBuffer() throws {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let region = try #require(
            mmap(nil, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0).flatMap {
                $0 == MAP_FAILED ? nil : $0
            })
        defer { munmap(region, 2 * page) }
        #expect(mprotect(region + page, page, PROT_NONE) == 0)
        for (bytes, valueStart) in [Self.messageV1(value: Array("value".utf8)), Self.messageV1(value: [0, 0, 0])] {
            let start = region + page - bytes.count
            bytes.withUnsafeBytes { start.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
            #expect(RecordHeaderProbe.mayHaveHeaders(inRecordAt: start + valueStart, count: bytes.count - valueStart))
        }
        // A v2 record's header count is its last byte: read, and within the buffer.
        let (bytes, valueStart) = Self.recordV2(value: Array("value".utf8), headerCount: 0)
        let start = region + page - bytes.count
        bytes.withUnsafeBytes { start.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
        #expect(!RecordHeaderProbe.mayHaveHeaders(inRecordAt: start + valueStart, count: 5))
    }

    @Test func onlyCheckedLibrdkafkaVersionsUseTheProbe() {
        #expect(RecordHeaderProbe.isSupported(version: 0x0009_05FF) == false)  // 0.9.5: no headers yet
        #expect(RecordHeaderProbe.isSupported(version: 0x000B_00FF))  // 0.11.0
        #expect(RecordHeaderProbe.isSupported(version: 0x0200_02FF))  // 2.0.2, Debian bookworm's
        #expect(RecordHeaderProbe.isSupported(version: 0x020C_00FF))  // 2.12.0
        #expect(RecordHeaderProbe.isSupported(version: 0x0300_00FF) == false)  // 3.0.0: not checked
        #expect(RecordHeaderProbe.isSupported == RecordHeaderProbe.isSupported(version: KafkaConsumerConfiguration.linkedLibrdkafkaVersion))
    }
}
