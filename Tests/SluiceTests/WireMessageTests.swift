//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import PropertyBased
import Testing

@testable import Sluice

/// The bytes a message and its outcome travel as to and from a worker process.
@Suite struct WireMessageTests {
    @Test func everyMessageDecodesToWhatWasEncoded() async {
        await propertyCheck(
            count: 300,
            input: Gen.int(in: 1...20), Gen.int(in: 0...1_000), Gen.int(in: -1...5_000),
            Gen.int(in: 0...4), Gen.int(in: 0...2)
        ) { attempt, partition, length, headerCount, timestampKind in
            let value = (0..<max(0, length)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            let key: [UInt8]? = length < 0 ? nil : Array("key-\(length)".utf8)
            let headers = (0..<headerCount).map { index in
                index == 1 ? KafkaHeader(name: "null-\(index)", value: nil) : KafkaHeader(name: "h\(index)", string: "värde \(index)")
            }
            let timestamp: KafkaTimestamp? = switch timestampKind {
            case 0: nil
            case 1: KafkaTimestamp(millisecondsSinceEpoch: 1_764_230_400_000 + Int64(length))
            default: KafkaTimestamp(millisecondsSinceEpoch: -5, kind: .logAppendTime)
            }
            let message = KafkaMessage(
                topic: "orders-ü", partition: Int32(partition), offset: Int64(length) * 1_000_003, key: key, value: value,
                isTombstone: length == 0, headers: headers, timestamp: timestamp)
            let decoded = try WireMessage.decode(WireMessage.encode(message, attempt: attempt))
            #expect(decoded.attempt == attempt)
            #expect(decoded.message == message)
        }
    }

    @Test func outcomesRoundTrip() throws {
        let outcomes: [WireMessage.Outcome] = [
            .success,
            .failure(type: "App.Boom", description: "boom on 7", nonRetryable: false),
            .failure(type: "Sluice.PayloadDecodingError", description: "cannot decode ✗", nonRetryable: true),
        ]
        for outcome in outcomes {
            #expect(try WireMessage.decodeOutcome(WireMessage.encode(outcome)) == outcome)
        }
    }

    @Test func aTruncatedPayloadIsAnErrorNamingWhereItEnds() {
        let message = KafkaMessage(topic: "t", partition: 1, offset: 2, key: Array("k".utf8), value: Array("value".utf8))
        let bytes = WireMessage.encode(message, attempt: 1)
        for cut in [0, 5, 12, bytes.count - 1] {
            #expect(throws: WireMessage.DecodingError.self) { try WireMessage.decode(Array(bytes.prefix(cut))) }
        }
        var huge = bytes
        huge.replaceSubrange(8..<16, with: [0xFF, 0xFF, 0xFF, 0x00, 0, 0, 0, 0])  // the topic's length
        let error = #expect(throws: WireMessage.DecodingError.self) { try WireMessage.decode(huge) }
        #expect(error?.description.contains("passes the end of the payload") == true)
    }

    @Test func aBatchAndItsOutcomesRoundTripInOneFrameEach() throws {
        let messages: [KafkaMessage] = (0..<5).map { (index: Int) -> KafkaMessage in
            let key: [UInt8]? = index == 3 ? nil : Array("k\(index)".utf8)
            return KafkaMessage(topic: "t", partition: Int32(index % 2), offset: Int64(index), key: key, value: Array("v\(index)".utf8))
        }
        let batch: [(message: KafkaMessage, attempt: Int)] = messages.enumerated().map { ($0.element, $0.offset + 1) }
        let decoded = try WireMessage.decodeBatch(WireMessage.encode(batch: batch))
        #expect(decoded.map { $0.message } == messages)
        #expect(decoded.map { $0.attempt } == [1, 2, 3, 4, 5])
        #expect(try WireMessage.decodeBatch(WireMessage.encode(batch: [])).isEmpty)

        let outcomes: [WireMessage.Outcome] = [.success, .failure(type: "App.Bad", description: "bad 1", nonRetryable: true), .success]
        let answer = try WireMessage.decodeOutcomes(WireMessage.encode(outcomes: outcomes, wholeBatch: false), expected: 3)
        #expect(answer.outcomes == outcomes && !answer.wholeBatch)
        #expect(try WireMessage.decodeOutcomes(WireMessage.encode(outcomes: outcomes, wholeBatch: true), expected: 3).wholeBatch)
        let mismatch = #expect(throws: WireMessage.DecodingError.self) {
            try WireMessage.decodeOutcomes(WireMessage.encode(outcomes: outcomes, wholeBatch: false), expected: 4)
        }
        #expect(mismatch?.description == "the worker answered 3 outcomes for a batch of 4 messages")
        // A count no payload of this size could hold is refused before anything is allocated.
        let lying = [UInt8](repeating: 0xFF, count: 8) + [0, 0, 0]
        #expect(throws: WireMessage.DecodingError.self) { try WireMessage.decodeBatch(lying) }
    }

    @Test func aBatchEntryIsReadWithinItsOwnLength() throws {
        let batch: [(message: KafkaMessage, attempt: Int)] = [
            (KafkaMessage(topic: "orders", partition: 1, offset: 5, key: [1], value: Array("first".utf8),
                          headers: [KafkaHeader(name: "h", string: "x")]), 1),
            (KafkaMessage(topic: "orders", partition: 1, offset: 6, value: Array("second".utf8)), 2),
        ]
        var bytes = WireMessage.encode(batch: batch)
        // The first entry's length, after the count: one byte short of its fields.
        let length = bytes[8..<16].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * $1.offset) }
        #expect(Int(length) == WireMessage.encode(batch[0].message, attempt: 1).count)
        bytes[8] -= 1
        let error = #expect(throws: WireMessage.DecodingError.self) { try WireMessage.decodeBatch(bytes) }
        #expect(error?.description.contains("ends early") == true, "the entry's last byte is outside it: \(String(describing: error))")
    }

    @Test func aChunkCarriesItsLaneRunsAndTheSkippedOutcomeRoundTrips() throws {
        let messages: [(message: KafkaMessage, attempt: Int)] = (0..<6).map { index in
            (KafkaMessage(topic: "t", partition: 0, offset: Int64(index), key: Array("k".utf8), value: [UInt8(index)]), 1 + index % 2)
        }
        let decoded = try WireMessage.decodeChunk(WireMessage.encode(chunk: messages, runLengths: [3, 2]))
        #expect(decoded.runLengths == [3, 2])
        #expect(decoded.messages.map(\.message) == messages.map(\.message))
        #expect(decoded.messages.map(\.attempt) == [1, 2, 1, 2, 1, 2])
        #expect(try WireMessage.decodeChunk(WireMessage.encode(chunk: messages, runLengths: [])).runLengths.isEmpty)
        #expect(try WireMessage.decodeOutcome(WireMessage.encode(.skipped)) == .skipped)

        // Runs longer than the chunk, or empty, are refused with what they were.
        let tooLong = #expect(throws: WireMessage.DecodingError.self) {
            try WireMessage.decodeChunk(WireMessage.encode(chunk: messages, runLengths: [4, 3]))
        }
        #expect(tooLong?.description == "lane runs of [4, 3] messages in a chunk of 6")
        #expect(throws: WireMessage.DecodingError.self) { try WireMessage.decodeChunk(WireMessage.encode(chunk: messages, runLengths: [0])) }
        let unknown = #expect(throws: WireMessage.DecodingError.self) { try WireMessage.decodeOutcome([9]) }
        #expect(unknown?.description == "an outcome with the unknown tag 9")
    }
}
