//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// A message header: a name and an optional byte value. Kafka allows repeated names.
///
/// ```swift
/// let header = KafkaHeader(name: "trace-id", string: "abc")
/// ```
public struct KafkaHeader: Hashable, Sendable, CustomStringConvertible {
    /// The header name.
    public var name: String
    /// The header value; `nil` for a header without a value.
    public var value: [UInt8]?

    /// Creates a header with a byte value.
    public init(name: String, value: [UInt8]?) {
        self.name = name
        self.value = value
    }

    /// Creates a header whose value is the UTF-8 encoding of a string.
    public init(name: String, string: String) {
        self.init(name: name, value: Array(string.utf8))
    }

    /// The value decoded as UTF-8, or `nil` when there is no value or it is not valid UTF-8.
    public var stringValue: String? {
        value.flatMap { String(validating: $0, as: UTF8.self) }
    }

    /// `name=value` (value shown as text when it is UTF-8).
    public var description: String { "\(name)=\(stringValue ?? value.map { "\($0.count) bytes" } ?? "null")" }
}

extension Array where Element == KafkaHeader {
    /// The value of the last header with this name, as UTF-8 text (Kafka allows repeats; the last wins).
    public func string(named name: String) -> String? {
        last { $0.name == name }?.stringValue
    }
}
