//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// The wire format between the pool and its workers: length-prefixed frames, little-endian.
///
/// ```
/// frame    = length: u32 (of what follows), kind: u8, body
/// run      (pool → worker)  id: u64, nameLength: u16, name, payload
/// hello    (worker → pool)  version: u32, pid: u32
/// success  (worker → pool)  id: u64, payload
/// thrown   (worker → pool)  id: u64, typeLength: u32, type, description
/// notFound (worker → pool)  id: u64, description
/// ```
///
/// A worker answers the `run` frames in the order it received them, one at a time.
enum Frame: Equatable {
    case run(id: UInt64, job: String, payload: [UInt8])
    case hello(version: UInt32, pid: Int32)
    case success(id: UInt64, payload: [UInt8])
    case thrown(id: UInt64, type: String, description: String)
    case notFound(id: UInt64, description: String)

    /// Bumped whenever the format changes, so that a worker binary of another version is refused.
    static let protocolVersion: UInt32 = 1

    /// Larger frames are refused as corrupt (1 GiB): the bound of what the pool sends. What workers send is
    /// bounded much lower, by ``ProcessPoolConfiguration/maximumResultBytes`` plus ``replyOverhead``.
    static let maximumLength = 1 << 30

    /// What a reply frame may add to a result: its header and identifier, or a thrown error's type name and
    /// description (which the worker cuts to ``maximumErrorTypeBytes`` and ``maximumErrorDescriptionBytes``).
    static let replyOverhead = 64 << 10

    /// The longest error type name a worker sends back; longer ones are cut.
    static let maximumErrorTypeBytes = 1 << 10

    /// The longest error description a worker sends back; longer ones are cut.
    static let maximumErrorDescriptionBytes = 60 << 10

    private enum Kind: UInt8 {
        case run = 1
        case hello = 10
        case success = 11
        case thrown = 12
        case notFound = 13
    }

    /// Appends the encoded frame to `buffer`.
    func encode(into buffer: inout [UInt8]) {
        let start = buffer.count
        buffer.append(contentsOf: [0, 0, 0, 0])
        switch self {
        case .run(let id, let job, let payload):
            buffer.append(Kind.run.rawValue)
            Self.append(id, to: &buffer)
            let name = Array(job.utf8.prefix(Int(UInt16.max)))
            Self.append(UInt16(name.count), to: &buffer)
            buffer.append(contentsOf: name)
            buffer.append(contentsOf: payload)
        case .hello(let version, let pid):
            buffer.append(Kind.hello.rawValue)
            Self.append(version, to: &buffer)
            Self.append(UInt32(bitPattern: pid), to: &buffer)
        case .success(let id, let payload):
            buffer.append(Kind.success.rawValue)
            Self.append(id, to: &buffer)
            buffer.append(contentsOf: payload)
        case .thrown(let id, let type, let description):
            buffer.append(Kind.thrown.rawValue)
            Self.append(id, to: &buffer)
            Self.append(UInt32(type.utf8.count), to: &buffer)
            buffer.append(contentsOf: type.utf8)
            buffer.append(contentsOf: description.utf8)
        case .notFound(let id, let description):
            buffer.append(Kind.notFound.rawValue)
            Self.append(id, to: &buffer)
            buffer.append(contentsOf: description.utf8)
        }
        let length = UInt32(buffer.count - start - 4)
        for index in 0..<4 {
            buffer[start + index] = UInt8(truncatingIfNeeded: length >> (8 * UInt32(index)))
        }
    }

    /// The frame encoded on its own.
    var encoded: [UInt8] {
        var buffer: [UInt8] = []
        self.encode(into: &buffer)
        return buffer
    }

    /// What ``decode(from:at:)`` found.
    enum Decoded: Equatable {
        /// A frame, and the index just after it.
        case frame(Frame, next: Int)
        /// The buffer holds only part of a frame.
        case incomplete
        /// The bytes are not a frame of this protocol.
        case corrupt(String)
    }

    /// Decodes the frame that starts at `start` in `buffer`. A frame longer than `maximumLength` is corrupt as
    /// soon as its length is there, before the rest of it arrives.
    static func decode(from buffer: [UInt8], at start: Int, maximumLength: Int = Self.maximumLength) -> Decoded {
        guard buffer.count - start >= 4 else { return .incomplete }
        let length = Int(self.read(UInt32.self, buffer, start))
        guard length >= 1 else { return .corrupt("an empty frame") }
        guard length <= maximumLength else {
            return .corrupt("a frame of \(length) bytes, more than the \(maximumLength) allowed")
        }
        let end = start + 4 + length
        guard buffer.count >= end else { return .incomplete }
        var cursor = start + 5
        guard let kind = Kind(rawValue: buffer[start + 4]) else {
            return .corrupt("a frame of unknown kind \(buffer[start + 4])")
        }
        func need(_ bytes: Int) -> Bool { end - cursor >= bytes }
        let frame: Frame
        switch kind {
        case .run:
            guard need(10) else { return .corrupt("a truncated run frame") }
            let id = self.read(UInt64.self, buffer, cursor)
            let nameLength = Int(self.read(UInt16.self, buffer, cursor + 8))
            cursor += 10
            guard need(nameLength) else { return .corrupt("a truncated job name") }
            let job = String(decoding: buffer[cursor..<cursor + nameLength], as: UTF8.self)
            frame = .run(id: id, job: job, payload: Array(buffer[cursor + nameLength..<end]))
        case .hello:
            guard need(8) else { return .corrupt("a truncated hello frame") }
            frame = .hello(
                version: self.read(UInt32.self, buffer, cursor),
                pid: Int32(bitPattern: self.read(UInt32.self, buffer, cursor + 4))
            )
        case .success:
            guard need(8) else { return .corrupt("a truncated result frame") }
            frame = .success(id: self.read(UInt64.self, buffer, cursor), payload: Array(buffer[cursor + 8..<end]))
        case .thrown:
            guard need(12) else { return .corrupt("a truncated error frame") }
            let id = self.read(UInt64.self, buffer, cursor)
            let typeLength = Int(self.read(UInt32.self, buffer, cursor + 8))
            cursor += 12
            guard need(typeLength) else { return .corrupt("a truncated error type") }
            frame = .thrown(
                id: id,
                type: String(decoding: buffer[cursor..<cursor + typeLength], as: UTF8.self),
                description: String(decoding: buffer[cursor + typeLength..<end], as: UTF8.self)
            )
        case .notFound:
            guard need(8) else { return .corrupt("a truncated not-found frame") }
            frame = .notFound(
                id: self.read(UInt64.self, buffer, cursor),
                description: String(decoding: buffer[cursor + 8..<end], as: UTF8.self)
            )
        }
        return .frame(frame, next: end)
    }

    /// `text` cut to at most `limit` bytes of UTF-8 (on a character boundary), saying how much was cut.
    static func truncated(_ text: String, toBytes limit: Int) -> String {
        let utf8 = text.utf8
        guard utf8.count > limit else { return text }
        let note = " … (\(utf8.count) bytes, cut)"
        var end = utf8.index(utf8.startIndex, offsetBy: max(0, limit - note.utf8.count))
        // Back off to the start of a character: a continuation byte is 0b10xxxxxx.
        while end > utf8.startIndex, utf8[end] & 0xC0 == 0x80 {
            end = utf8.index(before: end)
        }
        return String(decoding: utf8[..<end], as: UTF8.self) + note
    }

    private static func append<Integer: FixedWidthInteger>(_ value: Integer, to buffer: inout [UInt8]) {
        for index in 0..<(Integer.bitWidth / 8) {
            buffer.append(UInt8(truncatingIfNeeded: value >> (8 * index)))
        }
    }

    private static func read<Integer: FixedWidthInteger>(_: Integer.Type, _ buffer: [UInt8], _ start: Int) -> Integer {
        var value: Integer = 0
        for index in 0..<(Integer.bitWidth / 8) {
            value |= Integer(buffer[start + index]) << (8 * index)
        }
        return value
    }
}
