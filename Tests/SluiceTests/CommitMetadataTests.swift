//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import PropertyBased
import Testing

@testable import Sluice

/// The commit-metadata format: exact encodings, round trips within the budget, and decoding that
/// never trusts what it cannot verify.
@Suite struct CommitMetadataTests {
    @Test func aContiguousRunIsARunEncodingOfTwoVarints() throws {
        let finished = FinishedOffsets(commitPoint: 100, offsets: 101...200)
        let text = try #require(CommitMetadata.encode(finished))
        // gap 0, then 100 finished: bytes 00 64, base64url "AGQ".
        #expect(text.hasPrefix("sluice1:r:100:AGQ:"))
        #expect(text.count == "sluice1:r:100:AGQ:".count + 8)
        #expect(try CommitMetadata.decode(text, committedOffset: 100) == finished)
    }

    @Test func scatteredOffsetsUseTheShorterBitset() throws {
        let finished = FinishedOffsets(commitPoint: 100, offsets: [101, 102, 103, 110])
        let text = try #require(CommitMetadata.encode(finished))
        // positions 0, 1, 2 and 9: bytes 07 02 (runs would take 4 bytes), base64url "BwI".
        #expect(text.hasPrefix("sluice1:b:100:BwI:"))
        #expect(try CommitMetadata.decode(text, committedOffset: 100) == finished)
        #expect(finished.description == "{101-103, 110} above @100")
    }

    @Test func theChecksumIsZlibsCRC32() {
        // The standard check value of CRC-32/ISO-HDLC.
        #expect(CommitMetadata.crc32(Array("123456789".utf8)) == 0xCBF4_3926)
    }

    @Test func anEmptySetHasNoMetadata() throws {
        #expect(CommitMetadata.encode(FinishedOffsets(commitPoint: 5)) == nil)
        #expect(try CommitMetadata.decode("", committedOffset: 5).isEmpty)
    }

    @Test func metadataOfAnotherToolOrOffsetIsRefusedByName() throws {
        #expect(throws: CommitMetadata.DecodingError.foreign) { try CommitMetadata.decode("{\"app\":\"other\"}", committedOffset: 1) }
        let text = try #require(CommitMetadata.encode(FinishedOffsets(commitPoint: 7, offsets: [9])))
        #expect(throws: CommitMetadata.DecodingError.offsetMismatch(metadata: 7, committed: 8)) {
            try CommitMetadata.decode(text, committedOffset: 8)
        }
        #expect(throws: CommitMetadata.DecodingError.corrupt("expected 5 fields, found 3")) {
            try CommitMetadata.decode("sluice1:r:7", committedOffset: 7)
        }
        #expect(CommitMetadata.DecodingError.offsetMismatch(metadata: 7, committed: 8).description.contains("committed offset is 8"))
    }

    @Test func aDenseWorstCaseIsTruncatedFromTheTopToFitTheBudget() throws {
        // Every other offset finished over 100,000 offsets: no encoding fits 4,096 bytes.
        let finished = FinishedOffsets(commitPoint: 1_000, offsets: stride(from: 1_002, to: 101_000, by: 2))
        var isTruncated = false
        let text = try #require(CommitMetadata.encode(finished, maxBytes: 4_096, isTruncated: &isTruncated))
        #expect(isTruncated)
        #expect(text.utf8.count <= 4_096)
        let decoded = try CommitMetadata.decode(text, committedOffset: 1_000)
        // A prefix: everything it says is finished is, and it covers all finished below its top.
        #expect(decoded.count > 12_000, "about 24,000 positions in 4,096 characters")
        #expect(decoded == finished.truncated(below: decoded.upperBound))
    }

    @Test func roundTripsWithinTheBudget() async {
        await propertyCheck(
            count: 300,
            input: Gen.int64(in: 0...1_000_000_000_000), Gen.int(in: 64...4_096),
            zip(Gen.int(in: 1...40), Gen.int(in: 1...400)).array(of: 0...60)
        ) { commitPoint, budget, runs in
            // Alternating gaps and finished runs above the commit point.
            var finished = FinishedOffsets(commitPoint: commitPoint)
            var position = commitPoint + 1
            for (gap, length) in runs {
                position += Int64(gap)
                finished.append(position..<(position + Int64(length)))
                position += Int64(length)
            }
            var isTruncated = false
            let text = CommitMetadata.encode(finished, maxBytes: budget, isTruncated: &isTruncated)
            if let text {
                #expect(text.utf8.count <= budget)
                #expect(text.utf8.allSatisfy { $0 >= 0x21 && $0 < 0x7F }, "not printable ASCII: \(text)")
                let decoded = try CommitMetadata.decode(text, committedOffset: commitPoint)
                if isTruncated {
                    #expect(decoded == finished.truncated(below: decoded.upperBound))
                } else {
                    #expect(decoded == finished)
                }
            } else {
                #expect(finished.isEmpty || isTruncated)
            }
        }
    }

    @Test func anyChangedCharacterIsDetected() async throws {
        let finished = FinishedOffsets(commitPoint: 41, offsets: [43, 44, 45, 50, 51, 90])
        let text = try #require(CommitMetadata.encode(finished))
        let bytes = Array(text.utf8)
        await propertyCheck(count: 300, input: Gen.int(in: 0...(bytes.count - 1)), Gen.int(in: 1...126)) { index, value in
            var changed = bytes
            guard changed[index] != UInt8(value) else { return }
            changed[index] = UInt8(value)
            let mutated = String(decoding: changed, as: UTF8.self)
            #expect(throws: CommitMetadata.DecodingError.self) { try CommitMetadata.decode(mutated, committedOffset: 41) }
        }
    }

    @Test func anyStringDecodesToAnErrorOrAValidSet() async {
        await propertyCheck(
            count: 500,
            input: Gen.int(in: 0...255).array(of: 0...80), Gen.int(in: 0...2)
        ) { values, framing in
            let noise = values.map { UInt8($0) }
            // Raw noise, noise behind the prefix, and noise as a payload with a right checksum.
            let text: String
            switch framing {
            case 0: text = String(decoding: noise, as: UTF8.self)
            case 1: text = CommitMetadata.prefix + String(decoding: noise, as: UTF8.self)
            default:
                let payload = String(decoding: noise.map { Self.base64URLAlphabet[Int($0) % 64] }, as: UTF8.self)
                let body = "sluice1:\(noise.first.map { $0 % 2 == 0 ? "r" : "b" } ?? "r"):3:\(payload)"
                let checksum = String(CommitMetadata.crc32(Array(body.utf8)), radix: 16)
                text = body + ":" + String(repeating: "0", count: 8 - checksum.count) + checksum
            }
            do {
                let set = try CommitMetadata.decode(text, committedOffset: 3)
                var previous: Int64 = 3
                for range in set.ranges {
                    #expect(range.lowerBound > previous, "ranges out of order or at the commit point: \(set)")
                    #expect(!range.isEmpty)
                    previous = range.upperBound
                }
            } catch {
                #expect(!"\(error)".isEmpty)
            }
        }
    }

    static let base64URLAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
}
