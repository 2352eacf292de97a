//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// The bytes a message and its attempt travel as to a worker process, and the outcome travels back
/// as.
///
/// Hand-written rather than `Codable`: JSON would spell every key and value byte as a number (or
/// base64), several times the size and the time of these length-prefixed fields, on every message.
enum WireMessage {
    /// What a worker's handler call came to. Crashes and timeouts never get here: the pool reports
    /// those.
    enum Outcome: Equatable {
        case success
        /// The handler threw: its type (`String(reflecting:)`), description, and whether it
        /// conforms to ``NonRetryableError``.
        case failure(type: String, description: String, nonRetryable: Bool)
        /// Not run: an earlier message of its lane run failed (``encode(chunk:runLengths:)``).
        case skipped
    }

    /// The longest error type name a worker sends back (longer ones are cut).
    static let maximumTypeBytes = 1 << 10

    /// The longest error description a worker sends back (longer ones are cut): enough for any
    /// sensible message, and it becomes the dead-letter header `sluice-error`.
    static let maximumDescriptionBytes = 16 << 10

    /// The largest encoded ``Outcome``: tag, two lengths, type and description.
    static let maximumOutcomeBytes = 1 + 8 + maximumTypeBytes + 8 + maximumDescriptionBytes

    /// `text` cut to at most `limit` bytes of UTF-8 on a character boundary, saying how much was cut.
    static func truncated(_ text: String, toBytes limit: Int) -> String {
        let utf8 = text.utf8
        guard utf8.count > limit else { return text }
        let note = " … (\(utf8.count) bytes, cut)"
        var end = utf8.index(utf8.startIndex, offsetBy: max(0, limit - note.utf8.count))
        while end > utf8.startIndex, utf8[end] & 0xC0 == 0x80 {  // not inside a character
            end = utf8.index(before: end)
        }
        return String(decoding: utf8[..<end], as: UTF8.self) + note
    }

    /// A malformed payload: the two sides are not the same build.
    struct DecodingError: Error, CustomStringConvertible {
        var description: String
    }

    static func encode(_ message: KafkaMessage, attempt: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + message.payloadByteCount)
        put(UInt64(attempt), &out)
        put(Array(message.topic.utf8), &out)
        put(UInt64(UInt32(bitPattern: message.partition)), &out)
        put(UInt64(bitPattern: message.offset), &out)
        put(message.key, &out)
        put(message.value, &out)
        out.append(message.isTombstone ? 1 : 0)
        put(UInt64(message.headers.count), &out)
        for header in message.headers {
            put(Array(header.name.utf8), &out)
            put(header.value, &out)
        }
        if let timestamp = message.timestamp {
            out.append(timestamp.kind == .logAppendTime ? 2 : 1)
            put(UInt64(bitPattern: timestamp.millisecondsSinceEpoch), &out)
        } else {
            out.append(0)
        }
        return out
    }

    static func decode(_ bytes: [UInt8]) throws -> (message: KafkaMessage, attempt: Int) {
        var reader = Reader(buffer: bytes)
        let attempt = Int(try reader.u64())
        let topic = String(decoding: try reader.bytes(), as: UTF8.self)
        let partition = Int32(bitPattern: UInt32(truncatingIfNeeded: try reader.u64()))
        let offset = Int64(bitPattern: try reader.u64())
        let key = try reader.optionalBytes()
        let value = try reader.bytes()
        let isTombstone = try reader.byte() == 1
        var headers: [KafkaHeader] = []
        for _ in 0..<(try reader.u64()) {
            let name = String(decoding: try reader.bytes(), as: UTF8.self)
            headers.append(KafkaHeader(name: name, value: try reader.optionalBytes()))
        }
        var timestamp: KafkaTimestamp?
        switch try reader.byte() {
        case 0: timestamp = nil
        case let kind:
            let millis = Int64(bitPattern: try reader.u64())
            timestamp = KafkaTimestamp(millisecondsSinceEpoch: millis, kind: kind == 2 ? .logAppendTime : .createTime)
        }
        let message = KafkaMessage(
            topic: topic, partition: partition, offset: offset, key: key, value: value, isTombstone: isTombstone,
            headers: headers, timestamp: timestamp)
        return (message, attempt)
    }

    static func encode(_ outcome: Outcome) -> [UInt8] {
        let (type, description, nonRetryable): (String, String, Bool)
        switch outcome {
        case .success: return [0]
        case .skipped: return [3]
        case .failure(let t, let d, let n): (type, description, nonRetryable) = (t, d, n)
        }
        var out: [UInt8] = [nonRetryable ? 2 : 1]
        put(Array(type.utf8), &out)
        put(Array(description.utf8), &out)
        return out
    }

    static func decodeOutcome(_ bytes: [UInt8]) throws -> Outcome {
        var reader = Reader(buffer: bytes)
        let tag = try reader.byte()
        switch tag {
        case 0: return .success
        case 3: return .skipped
        case 1, 2: break
        default: throw DecodingError(description: "an outcome with the unknown tag \(tag)")
        }
        let type = String(decoding: try reader.bytes(), as: UTF8.self)
        let description = String(decoding: try reader.bytes(), as: UTF8.self)
        return .failure(type: type, description: description, nonRetryable: tag == 2)
    }

    // MARK: - Batches

    /// A batch as one payload: the count, then each message with its attempt as ``encode(_:attempt:)`` writes it.
    static func encode(batch: [(message: KafkaMessage, attempt: Int)]) -> [UInt8] {
        var out: [UInt8] = []
        put(batch: batch, &out)
        return out
    }

    static func decodeBatch(_ bytes: [UInt8]) throws -> [(message: KafkaMessage, attempt: Int)] {
        var reader = Reader(buffer: bytes)
        return try batch(from: &reader)
    }

    private static func put(batch: [(message: KafkaMessage, attempt: Int)], _ out: inout [UInt8]) {
        put(UInt64(batch.count), &out)
        for entry in batch { put(encode(entry.message, attempt: entry.attempt), &out) }
    }

    private static func batch(from reader: inout Reader) throws -> [(message: KafkaMessage, attempt: Int)] {
        let count = try reader.u64()
        let left = reader.buffer.count - reader.position
        guard count <= UInt64(left / 8) else { throw DecodingError(description: "a batch of \(count) messages cannot fit \(left) bytes") }
        return try (0..<count).map { _ in try decode(try reader.bytes()) }
    }

    /// A chunk of a per-message handler's messages as one payload: the lengths of its lane runs,
    /// then the messages as ``encode(batch:)`` writes them. The runs are the chunk's first
    /// messages, one after the other (`runLengths` sums to at most the count); within a run,
    /// a failure skips the rest (``Outcome/skipped``). Messages after the runs are each on their own.
    static func encode(chunk: [(message: KafkaMessage, attempt: Int)], runLengths: [Int]) -> [UInt8] {
        var out: [UInt8] = []
        put(UInt64(runLengths.count), &out)
        for length in runLengths { put(UInt64(length), &out) }
        put(batch: chunk, &out)
        return out
    }

    static func decodeChunk(_ bytes: [UInt8]) throws -> (messages: [(message: KafkaMessage, attempt: Int)], runLengths: [Int]) {
        var reader = Reader(buffer: bytes)
        let runCount = try reader.u64()
        guard runCount <= UInt64(bytes.count / 8) else { throw DecodingError(description: "\(runCount) runs cannot fit \(bytes.count) bytes") }
        let runLengths = try (0..<runCount).map { _ in Int(clamping: try reader.u64()) }
        let messages = try batch(from: &reader)
        guard runLengths.allSatisfy({ $0 > 0 && $0 <= messages.count }), runLengths.reduce(0, +) <= messages.count else {
            throw DecodingError(description: "lane runs of \(runLengths) messages in a chunk of \(messages.count)")
        }
        return (messages, runLengths)
    }

    /// A batch's outcomes, one per message in the batch's order; `wholeBatch` when the handler
    /// threw (every outcome is then its error).
    static func encode(outcomes: [Outcome], wholeBatch: Bool) -> [UInt8] {
        var out: [UInt8] = [wholeBatch ? 1 : 0]
        put(UInt64(outcomes.count), &out)
        for outcome in outcomes { put(encode(outcome), &out) }
        return out
    }

    static func decodeOutcomes(_ bytes: [UInt8], expected: Int) throws -> (outcomes: [Outcome], wholeBatch: Bool) {
        var reader = Reader(buffer: bytes)
        let wholeBatch = try reader.byte() == 1
        let count = try reader.u64()
        guard count == UInt64(expected) else {
            throw DecodingError(description: "the worker answered \(count) outcomes for a batch of \(expected) messages")
        }
        return (try (0..<count).map { _ in try decodeOutcome(try reader.bytes()) }, wholeBatch)
    }

    /// The largest encoded answer to a batch of `count` messages.
    static func maximumOutcomesBytes(count: Int) -> Int {
        9 + count * (8 + maximumOutcomeBytes)
    }

    // MARK: - Fields

    private static func put(_ value: UInt64, _ out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
    }

    private static func put(_ bytes: [UInt8], _ out: inout [UInt8]) {
        put(UInt64(bytes.count), &out)
        out.append(contentsOf: bytes)
    }

    /// Absent as length `UInt64.max`.
    private static func put(_ bytes: [UInt8]?, _ out: inout [UInt8]) {
        guard let bytes else { return put(UInt64.max, &out) }
        put(bytes, &out)
    }

    private struct Reader {
        let buffer: [UInt8]
        var position = 0

        mutating func byte() throws -> UInt8 {
            guard position < buffer.count else { throw DecodingError(description: "message payload ends early at byte \(position)") }
            defer { position += 1 }
            return buffer[position]
        }

        mutating func u64() throws -> UInt64 {
            guard position + 8 <= buffer.count else { throw DecodingError(description: "message payload ends early at byte \(position)") }
            var value: UInt64 = 0
            for index in 0..<8 { value |= UInt64(buffer[position + index]) << (8 * index) }
            position += 8
            return value
        }

        mutating func bytes() throws -> [UInt8] {
            guard let bytes = try optionalBytes() else { throw DecodingError(description: "a required field is absent at byte \(position)") }
            return bytes
        }

        mutating func optionalBytes() throws -> [UInt8]? {
            let count = try u64()
            if count == UInt64.max { return nil }
            guard count <= UInt64(buffer.count - position) else {
                throw DecodingError(description: "a field of \(count) bytes passes the end of the payload")
            }
            defer { position += Int(count) }
            return Array(buffer[position..<(position + Int(count))])
        }
    }
}
