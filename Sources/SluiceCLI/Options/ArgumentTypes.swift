//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import _SluiceTime
public import ArgumentParser
internal import Foundation
public import Sluice

/// A byte count on the command line: `1048576`, `512KiB`, `64MiB`, `1GiB`, `10MB`, `4k`.
public struct ByteSize: ExpressibleByArgument, Sendable, Hashable, CustomStringConvertible {
    /// The number of bytes.
    public var bytes: Int

    /// Creates a size.
    public init(bytes: Int) {
        self.bytes = bytes
    }

    /// Parses a size; `nil` (and ArgumentParser's error naming the flag and the value) otherwise.
    public init?(argument: String) {
        let text = argument.trimmingCharacters(in: .whitespaces).lowercased()
        let digits = text.prefix { $0.isNumber }
        guard !digits.isEmpty, let number = Int(digits) else { return nil }
        let units: [String: Int] = [
            "": 1, "b": 1, "k": 1 << 10, "kb": 1_000, "kib": 1 << 10, "m": 1 << 20, "mb": 1_000_000,
            "mib": 1 << 20, "g": 1 << 30, "gb": 1_000_000_000, "gib": 1 << 30,
        ]
        guard let unit = units[String(text.dropFirst(digits.count)).trimmingCharacters(in: .whitespaces)] else {
            return nil
        }
        let (bytes, overflow) = number.multipliedReportingOverflow(by: unit)
        guard !overflow else { return nil }
        self.bytes = bytes
    }

    /// The size in the largest binary unit that divides it.
    public var description: String {
        for (unit, size) in [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] where bytes >= size && bytes % size == 0 {
            return "\(bytes / size)\(unit)"
        }
        return "\(bytes)"
    }

    /// The default value as `--help` shows it.
    public var defaultValueDescription: String { description }
}

/// A duration on the command line: `250ms`, `2s`, `1.5s`, `5m`, `1h`, or plain seconds.
public struct DurationArgument: ExpressibleByArgument, Sendable, Hashable, CustomStringConvertible {
    /// The duration.
    public var duration: Duration

    /// Creates an argument.
    public init(_ duration: Duration) {
        self.duration = duration
    }

    /// Parses a duration; `nil` (and ArgumentParser's error naming the flag and the value) otherwise.
    public init?(argument: String) {
        let text = argument.trimmingCharacters(in: .whitespaces).lowercased()
        let number = text.prefix { $0.isNumber || $0 == "." }
        guard let value = Double(number), value >= 0 else { return nil }
        let scale: Double
        switch text.dropFirst(number.count) {
        case "ms": scale = 0.001
        case "", "s": scale = 1
        case "m", "min": scale = 60
        case "h": scale = 3_600
        default: return nil
        }
        self.duration = .milliseconds(Int64((value * scale * 1_000).rounded()))
    }

    /// e.g. `500ms`, `2s`.
    public var description: String {
        let ms = duration.milliseconds
        return ms % 1_000 == 0 ? "\(ms / 1_000)s" : "\(ms)ms"
    }

    /// The default value as `--help` shows it.
    public var defaultValueDescription: String { description }
}

extension OrderingMode: ExpressibleByArgument {
    /// Parses `unordered`, `key` or `partition`.
    public init?(argument: String) {
        self.init(argument)
    }

    /// The names `--help` lists.
    public static var allValueStrings: [String] { allCases.map(\.description) }
}

extension FailurePolicy: ExpressibleByArgument {
    /// Parses `stop`, `skip` or `dead-letter`.
    public init?(argument: String) {
        self.init(argument)
    }

    /// The names `--help` lists.
    public static var allValueStrings: [String] { ["stop", "skip", "dead-letter"] }
}
