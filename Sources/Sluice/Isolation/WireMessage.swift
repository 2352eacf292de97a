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
        out.reserveCapacity(encodedSizeEstimate(message))
        put(message, attempt: attempt, &out)
        return out
    }

    /// The bytes ``encode(_:attempt:)`` writes for `message` when it has no headers (its headers
    /// add theirs), to reserve a payload's capacity once: nine 8-byte fields, two flag bytes,
    /// the topic's name, the key and the value.
    private static func encodedSizeEstimate(_ message: KafkaMessage) -> Int {
        74 + message.topic.utf8.count + message.payloadByteCount
    }

    /// Writes `message` and its attempt as ``encode(_:attempt:)`` returns them.
    private static func put(_ message: KafkaMessage, attempt: Int, _ out: inout [UInt8]) {
        put(UInt64(attempt), &out)
        put(message.topic, &out)
        put(UInt64(UInt32(bitPattern: message.partition)), &out)
        put(UInt64(bitPattern: message.offset), &out)
        message.withUnsafeKeyBytes { put($0, &out) }
        message.withUnsafeValueBytes { put($0, &out) }
        out.append(message.isTombstone ? 1 : 0)
        put(UInt64(message.headers.count), &out)
        for header in message.headers {
            put(header.name, &out)
            put(header.value, &out)
        }
        if let timestamp = message.timestamp {
            out.append(timestamp.kind == .logAppendTime ? 2 : 1)
            put(UInt64(bitPattern: timestamp.millisecondsSinceEpoch), &out)
        } else {
            out.append(0)
        }
    }

    static func decode(_ bytes: [UInt8]) throws -> (message: KafkaMessage, attempt: Int) {
        var reader = Reader(buffer: bytes)
        return try message(from: &reader)
    }

    /// Reads a message and its attempt as ``put(_:attempt:_:)`` writes them.
    private static func message(from reader: inout Reader) throws -> (message: KafkaMessage, attempt: Int) {
        let attempt = Int(try reader.u64())
        let topic = String(decoding: reader.buffer[try reader.range()], as: UTF8.self)
        let partition = Int32(bitPattern: UInt32(truncatingIfNeeded: try reader.u64()))
        let offset = Int64(bitPattern: try reader.u64())
        let key = try reader.optionalRange()
        let value = try reader.range()
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
        // The key and the value are copied once, from the payload into the message.
        let message = reader.buffer.withUnsafeBytes { payload in
            KafkaMessage(
                topic: topic, partition: partition, offset: offset, keyBytes: key.map { UnsafeRawBufferPointer(rebasing: payload[$0]) },
                valueBytes: UnsafeRawBufferPointer(rebasing: payload[value]), isTombstone: isTombstone, headers: headers,
                timestamp: timestamp)
        }
        return (message, attempt)
    }

    static func encode(_ outcome: Outcome) -> [UInt8] {
        var out: [UInt8] = []
        put(outcome, &out)
        return out
    }

    /// Writes `outcome` as ``encode(_:)-(Outcome)`` returns it.
    private static func put(_ outcome: Outcome, _ out: inout [UInt8]) {
        let (type, description, nonRetryable): (String, String, Bool)
        switch outcome {
        case .success: return out.append(0)
        case .skipped: return out.append(3)
        case .failure(let t, let d, let n): (type, description, nonRetryable) = (t, d, n)
        }
        out.append(nonRetryable ? 2 : 1)
        put(type, &out)
        put(description, &out)
    }

    static func decodeOutcome(_ bytes: [UInt8]) throws -> Outcome {
        var reader = Reader(buffer: bytes)
        return try outcome(from: &reader)
    }

    /// Reads an outcome as ``put(_:_:)-(Outcome,_)`` writes it.
    private static func outcome(from reader: inout Reader) throws -> Outcome {
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
        out.reserveCapacity(batch.reduce(8) { $0 + 8 + encodedSizeEstimate($1.message) })
        put(batch: batch, &out)
        return out
    }

    static func decodeBatch(_ bytes: [UInt8]) throws -> [(message: KafkaMessage, attempt: Int)] {
        var reader = Reader(buffer: bytes)
        return try batch(from: &reader)
    }

    private static func put(batch: [(message: KafkaMessage, attempt: Int)], _ out: inout [UInt8]) {
        put(UInt64(batch.count), &out)
        // Each message behind its length, written in place (no array of its own).
        for entry in batch { putPrefixed(&out) { put(entry.message, attempt: entry.attempt, &$0) } }
    }

    private static func batch(from reader: inout Reader) throws -> [(message: KafkaMessage, attempt: Int)] {
        let count = try reader.u64()
        let left = reader.end - reader.position
        guard count <= UInt64(left / 8) else { throw DecodingError(description: "a batch of \(count) messages cannot fit \(left) bytes") }
        return try (0..<count).map { _ in try reader.nested { try message(from: &$0) } }
    }

    /// A chunk of a per-message handler's messages as one payload: the lengths of its lane runs,
    /// then the messages as ``encode(batch:)`` writes them. The runs are the chunk's first
    /// messages, one after the other (`runLengths` sums to at most the count); within a run,
    /// a failure skips the rest (``Outcome/skipped``). Messages after the runs are each on their own.
    static func encode(chunk: [(message: KafkaMessage, attempt: Int)], runLengths: [Int]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(chunk.reduce(16 + 8 * runLengths.count) { $0 + 8 + encodedSizeEstimate($1.message) })
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
        for outcome in outcomes { putPrefixed(&out) { put(outcome, &$0) } }
        return out
    }

    static func decodeOutcomes(_ bytes: [UInt8], expected: Int) throws -> (outcomes: [Outcome], wholeBatch: Bool) {
        var reader = Reader(buffer: bytes)
        let wholeBatch = try reader.byte() == 1
        let count = try reader.u64()
        guard count == UInt64(expected) else {
            throw DecodingError(description: "the worker answered \(count) outcomes for a batch of \(expected) messages")
        }
        return (try (0..<count).map { _ in try reader.nested { try outcome(from: &$0) } }, wholeBatch)
    }

    /// The largest encoded answer to a batch of `count` messages.
    static func maximumOutcomesBytes(count: Int) -> Int {
        9 + count * (8 + maximumOutcomeBytes)
    }

    // MARK: - Fields

    private static func put(_ value: UInt64, _ out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
    }

    /// Bytes behind their length; absent as length `UInt64.max`.
    private static func put(_ bytes: UnsafeRawBufferPointer?, _ out: inout [UInt8]) {
        guard let bytes else { return put(UInt64.max, &out) }
        put(UInt64(bytes.count), &out)
        out.append(contentsOf: bytes)
    }

    /// An array's bytes as ``put(_:_:)-(UnsafeRawBufferPointer?,_)`` writes them.
    private static func put(_ bytes: [UInt8]?, _ out: inout [UInt8]) {
        bytes.withOptionalBytes { put($0, &out) }
    }

    /// A string's UTF-8 as ``put(_:_:)-(UnsafeRawBufferPointer?,_)`` writes bytes, without an array.
    private static func put(_ text: String, _ out: inout [UInt8]) {
        var text = text
        text.withUTF8 { put(UnsafeRawBufferPointer($0), &out) }
    }

    /// What `body` writes, behind its length as ``put(_:_:)-(UnsafeRawBufferPointer?,_)`` writes
    /// bytes, with no array of its own: the length is written when `body` is done.
    private static func putPrefixed(_ out: inout [UInt8], _ body: (inout [UInt8]) -> Void) {
        let start = out.count
        put(UInt64(0), &out)
        body(&out)
        withUnsafeBytes(of: UInt64(out.count - start - 8).littleEndian) { length in
            out.withUnsafeMutableBytes { UnsafeMutableRawBufferPointer(rebasing: $0[start..<(start + 8)]).copyMemory(from: length) }
        }
    }

    private struct Reader {
        let buffer: [UInt8]
        var position = 0
        /// Where this reader's bytes end: the buffer's end, or a nested field's (``nested(_:)``).
        var end: Int

        init(buffer: [UInt8]) {
            self.buffer = buffer
            self.end = buffer.count
        }

        /// Reads a length-prefixed field in place with `body`, which cannot read past the field.
        mutating func nested<R>(_ body: (inout Reader) throws -> R) throws -> R {
            let field = try range()
            var inner = self
            (inner.position, inner.end) = (field.lowerBound, field.upperBound)
            return try body(&inner)
        }

        mutating func byte() throws -> UInt8 {
            guard position < end else { throw DecodingError(description: "message payload ends early at byte \(position)") }
            defer { position += 1 }
            return buffer[position]
        }

        mutating func u64() throws -> UInt64 {
            guard position + 8 <= end else { throw DecodingError(description: "message payload ends early at byte \(position)") }
            var value: UInt64 = 0
            for index in 0..<8 { value |= UInt64(buffer[position + index]) << (8 * index) }
            position += 8
            return value
        }

        mutating func bytes() throws -> [UInt8] {
            Array(buffer[try range()])
        }

        mutating func optionalBytes() throws -> [UInt8]? {
            try optionalRange().map { Array(buffer[$0]) }
        }

        /// Where a required field's bytes lie in the buffer.
        mutating func range() throws -> Range<Int> {
            guard let range = try optionalRange() else { throw DecodingError(description: "a required field is absent at byte \(position)") }
            return range
        }

        /// Where a field's bytes lie in the buffer; nil when it is absent.
        mutating func optionalRange() throws -> Range<Int>? {
            let count = try u64()
            if count == UInt64.max { return nil }
            guard count <= UInt64(end - position) else {
                throw DecodingError(description: "a field of \(count) bytes passes the end of the payload")
            }
            defer { position += Int(count) }
            return position..<(position + Int(count))
        }
    }
}
