//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// A topic name, or a pattern of names where `*` stands for any run of characters
/// (`audit.*` matches `audit.eu` and `audit.us.west`).
///
/// A pattern subscribes to every topic it matches, those created later included: Sluice hands
/// librdkafka the equivalent regular expression (`^audit\..*$`).
public struct TopicPattern: Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The name or pattern as written.
    public let text: String

    /// Creates a pattern from its text.
    public init(_ text: String) {
        self.text = text
    }

    /// Creates a pattern from a literal.
    public init(stringLiteral value: String) {
        self.init(value)
    }

    /// Whether it names one topic (no `*`).
    public var isName: Bool { !text.contains("*") }

    /// Whether `topic` is the name, or matches the pattern.
    public func matches(_ topic: String) -> Bool {
        guard !isName else { return topic == text }
        let parts = text.split(separator: "*", omittingEmptySubsequences: false)
        var rest = Substring(topic)
        for (index, part) in parts.enumerated() {
            if index == 0 {
                guard rest.hasPrefix(part) else { return false }
                rest = rest.dropFirst(part.count)
            } else if index == parts.count - 1 {
                return rest.count >= part.count && rest.hasSuffix(part)
            } else {
                guard let range = rest.firstRange(of: part) else { return false }
                rest = rest[range.upperBound...]
            }
        }
        return true
    }

    /// What the consumer subscribes with: the name, or a librdkafka regular expression (which
    /// starts with `^`) matching the same topics.
    public var subscription: String {
        guard !isName else { return text }
        var regex = "^"
        for character in text {
            switch character {
            case "*": regex += ".*"
            case ".": regex += "\\."
            default: regex.append(character)
            }
        }
        return regex + "$"
    }

    /// Checks the characters: Kafka's topic name characters (letters, digits, `.`, `_`, `-`)
    /// and `*`.
    /// - Throws: ``SluiceError`` naming the pattern and its first bad character.
    public func validate() throws {
        guard !text.isEmpty else { throw SluiceError.configuration("a topic name or pattern is empty") }
        if let bad = text.first(where: { !($0.isASCII && ($0.isLetter || $0.isNumber || "._-*".contains($0))) }) {
            throw SluiceError.configuration(
                "topic pattern '\(text)' has the character '\(bad)': a topic name has letters, digits, '.', '_' and '-', and a pattern '*'")
        }
    }

    /// The text.
    public var description: String { text }
}

extension String {
    /// The string with every `target` character replaced by `replacement` (no Foundation).
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var result = ""
        for character in self {
            if character == target { result += replacement } else { result.append(character) }
        }
        return result
    }
}
