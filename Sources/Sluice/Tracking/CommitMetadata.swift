//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation

/// The text Sluice stores in a commit's metadata: the offsets above the committed offset that are
/// already finished (``FinishedOffsets``), so that after a crash or a rebalance the partition's
/// next owner does not hand them to the handler again.
///
/// Format, version 1 (ASCII, five fields separated by `:`):
///
/// ```
/// sluice1:<codec>:<committed offset>:<payload>:<checksum>
/// ```
///
/// - `codec` is `r` (runs) or `b` (bitset); the encoder writes whichever is shorter.
/// - `committed offset` is the offset the metadata was committed with, in decimal. A reader
///   ignores metadata whose offset differs from the committed one (offsets reset by another tool).
/// - `payload` is base64url without padding (RFC 4648 §5) of bytes describing the finished offsets
///   as positions `i ≥ 0` meaning offset `committed + 1 + i` (the committed offset itself is the
///   lowest unfinished one, never finished):
///   - `b`: a bitset, bit `i % 8` (least significant first) of byte `i / 8`; the last byte is not zero.
///   - `r`: unsigned LEB128 varints giving alternating run lengths, unfinished first:
///     `gap₀, finished₀, gap₁, finished₁, …`; every run after `gap₀` is at least 1, and the
///     sequence ends with a finished run.
///   - The empty set has an empty payload (Sluice then commits no metadata at all).
/// - `checksum` is the CRC-32 (IEEE 802.3, as zlib's `crc32`) of everything before the last `:`,
///   as eight lowercase hex digits. A flipped character must not make a reader skip a message
///   that never ran.
///
/// A reader that finds anything else (metadata written by another tool, a newer version, a
/// truncated or altered string) ignores it and handles everything from the committed offset: it
/// never skips on doubt.
///
/// ```swift
/// let finished = FinishedOffsets(commitPoint: 100, offsets: 101...200)
/// let text = CommitMetadata.encode(finished)!  // "sluice1:r:100:AGQ:…" (runs: 0 unfinished, 100 finished)
/// try CommitMetadata.decode(text, committedOffset: 100) == finished  // true
/// ```
public enum CommitMetadata {
    /// The tag every version-1 string starts with.
    public static let prefix = "sluice1:"

    /// The broker's default limit on a commit's metadata (`offset.metadata.max.bytes`).
    public static let brokerDefaultMaxBytes = 4096

    /// Why metadata was not read.
    public enum DecodingError: Error, Equatable, Sendable, CustomStringConvertible {
        /// It was not written by Sluice (or by a newer version of its format).
        case foreign
        /// It says it was committed with another offset than the committed one.
        case offsetMismatch(metadata: Int64, committed: Int64)
        /// It is Sluice's, but damaged: the reason.
        case corrupt(String)

        public var description: String {
            switch self {
            case .foreign: "not written by Sluice (or by a newer version)"
            case .offsetMismatch(let metadata, let committed):
                "written for offset \(metadata), but the committed offset is \(committed) (reset by another tool?)"
            case .corrupt(let reason): "corrupt: \(reason)"
            }
        }
    }

    /// The fixed part of an encoding: prefix, codec and separators, the offset and the checksum.
    static func overhead(commitPoint: Int64) -> Int {
        prefix.utf8.count + 2 + String(commitPoint).utf8.count + 1 + 1 + 8
    }

    /// How many positions above the commit point a bitset can cover within `maxBytes`: a span of
    /// uncommitted offsets up to this always encodes in full.
    static func bitsetCapacity(maxBytes: Int, commitPoint: Int64) -> Int64 {
        let characters = maxBytes - overhead(commitPoint: commitPoint)
        guard characters > 0 else { return 0 }
        // base64 without padding: 4 characters carry 3 bytes, 2 carry 1 and 3 carry 2.
        let bytes = characters / 4 * 3 + max(0, characters % 4 - 1)
        return Int64(bytes) * 8
    }

    /// Encodes `finished` in at most `maxBytes` characters, in the shorter codec. Past the budget,
    /// the highest offsets are left out (they are handled again after a restart: never the
    /// reverse).
    ///
    /// - Returns: The text, or `nil` when the set is empty (or nothing fits).
    public static func encode(_ finished: FinishedOffsets, maxBytes: Int = brokerDefaultMaxBytes) -> String? {
        var isTruncated = false
        return encode(finished, maxBytes: maxBytes, isTruncated: &isTruncated)
    }

    /// ``encode(_:maxBytes:)``, telling whether the highest offsets were left out.
    static func encode(_ finished: FinishedOffsets, maxBytes: Int, isTruncated: inout Bool) -> String? {
        var set = finished
        isTruncated = false
        if set.isEmpty { return nil }
        if let text = encodeFitting(set, maxBytes: maxBytes) { return text }
        isTruncated = true
        // A bitset of the capacity always fits; a run encoding of the same prefix may be shorter.
        let capacity = bitsetCapacity(maxBytes: maxBytes, commitPoint: set.commitPoint)
        set = set.truncated(below: set.commitPoint + 1 + capacity)
        if set.isEmpty { return nil }
        return encodeFitting(set, maxBytes: maxBytes)
    }

    private static func encodeFitting(_ set: FinishedOffsets, maxBytes: Int) -> String? {
        let runs = runBytes(set)
        // A bitset of a set with wide gaps would be huge: only build it when it can be shorter.
        let bitsetLength = (set.upperBound - set.commitPoint - 1 + 7) / 8
        let useBitset = bitsetLength < runs.count
        let payload = useBitset ? bitsetBytes(set) : runs
        let body = "\(prefix)\(useBitset ? "b" : "r"):\(set.commitPoint):\(base64URL(payload))"
        let text = body + ":" + hex(crc32(Array(body.utf8)))
        return text.utf8.count <= maxBytes ? text : nil
    }

    /// Decodes metadata committed with `committedOffset`.
    ///
    /// - Returns: The finished offsets; an empty set for empty metadata.
    /// - Throws: ``DecodingError`` for metadata that is not Sluice's, or is damaged. Never traps,
    ///   whatever the input.
    public static func decode(_ text: String, committedOffset: Int64) throws(DecodingError) -> FinishedOffsets {
        if text.isEmpty { return FinishedOffsets(commitPoint: committedOffset) }
        guard text.hasPrefix(prefix) else { throw .foreign }
        let fields = text.utf8.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
        guard fields.count == 5 else { throw .corrupt("expected 5 fields, found \(fields.count)") }
        let checksumField = fields[4]
        let bodyLength = text.utf8.count - checksumField.count - 1
        let isLowerHex = checksumField.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
        guard checksumField.count == 8, isLowerHex, let checksum = UInt32(Substring(checksumField), radix: 16) else {
            throw .corrupt("bad checksum field")
        }
        guard crc32(Array(text.utf8.prefix(bodyLength))) == checksum else { throw .corrupt("checksum mismatch") }
        guard let offset = Int64(Substring(fields[2])), offset >= 0 else { throw .corrupt("bad offset field") }
        guard offset == committedOffset else { throw .offsetMismatch(metadata: offset, committed: committedOffset) }
        guard let payload = fromBase64URL(Substring(fields[3])) else { throw .corrupt("payload is not base64url") }
        switch Substring(fields[1]) {
        case "r": return try decodeRuns(payload, commitPoint: offset)
        case "b": return try decodeBitset(payload, commitPoint: offset)
        default: throw .corrupt("unknown codec \(Substring(fields[1]))")
        }
    }

    // MARK: Codecs

    static func runBytes(_ set: FinishedOffsets) -> [UInt8] {
        var bytes: [UInt8] = []
        var position = set.commitPoint + 1
        for range in set.ranges {
            appendVarint(UInt64(range.lowerBound - position), to: &bytes)
            appendVarint(UInt64(range.count), to: &bytes)
            position = range.upperBound
        }
        return bytes
    }

    static func bitsetBytes(_ set: FinishedOffsets) -> [UInt8] {
        let base = set.commitPoint + 1
        var bytes = [UInt8](repeating: 0, count: Int((set.upperBound - base + 7) / 8))
        for range in set.ranges {
            for offset in range {
                let i = offset - base
                bytes[Int(i / 8)] |= 1 << UInt8(i % 8)
            }
        }
        return bytes
    }

    private static func decodeRuns(_ bytes: [UInt8], commitPoint: Int64) throws(DecodingError) -> FinishedOffsets {
        var set = FinishedOffsets(commitPoint: commitPoint)
        var index = 0
        var position = commitPoint + 1
        var isGap = true
        var first = true
        while index < bytes.count {
            let length = try readVarint(bytes, at: &index)
            guard length > 0 || first else { throw .corrupt("empty run") }
            guard length <= UInt64(Int64.max - position) else { throw .corrupt("runs beyond the last offset") }
            let end = position + Int64(length)
            if !isGap { set.append(position..<end) }
            position = end
            isGap.toggle()
            first = false
        }
        guard isGap else { throw .corrupt("ends with an unfinished run") }
        return set
    }

    private static func decodeBitset(_ bytes: [UInt8], commitPoint: Int64) throws(DecodingError) -> FinishedOffsets {
        guard bytes.last != 0 else { throw .corrupt("bitset ends with a zero byte") }
        guard Int64(bytes.count) * 8 < Int64.max - commitPoint - 1 else { throw .corrupt("bitset beyond the last offset") }
        var set = FinishedOffsets(commitPoint: commitPoint)
        let base = commitPoint + 1
        for (index, byte) in bytes.enumerated() where byte != 0 {
            for bit in 0..<8 where byte & (1 << UInt8(bit)) != 0 {
                set.append(base + Int64(index) * 8 + Int64(bit))
            }
        }
        return set
    }

    private static func appendVarint(_ value: UInt64, to bytes: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    private static func readVarint(_ bytes: [UInt8], at index: inout Int) throws(DecodingError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            guard shift < 63 || (shift == 63 && byte & 0x7E == 0) else { throw .corrupt("varint overflows") }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
        throw .corrupt("truncated varint")
    }

    // MARK: Text

    private static func base64URL(_ bytes: [UInt8]) -> String {
        var text = Data(bytes).base64EncodedString()
        text = text.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }

    private static func fromBase64URL(_ text: Substring) -> [UInt8]? {
        // Foundation would accept the standard alphabet too: accept only base64url.
        guard text.utf8.allSatisfy({ isBase64URL($0) }), text.utf8.count % 4 != 1 else { return nil }
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        standard += String(repeating: "=", count: (4 - standard.utf8.count % 4) % 4)
        return Data(base64Encoded: standard).map { Array($0) }
    }

    private static func isBase64URL(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
            true
        default: false
        }
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }

    /// CRC-32 (IEEE, reflected, as zlib's `crc32`). Hand-written: a few lines over a few KB per
    /// commit, where linking zlib would need a system-library target for one function.
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc = crcTable[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
        }
        return crc ^ 0xFFFF_FFFF
    }

    private static let crcTable: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index)
        for _ in 0..<8 { crc = crc & 1 == 1 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
        return crc
    }
}
