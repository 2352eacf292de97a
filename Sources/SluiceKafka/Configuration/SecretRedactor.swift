//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import Foundation

/// Masks known secret values in free text (log lines, error messages, headers) with `***`.
///
/// Built from the values that must never be shown: those of librdkafka's sensitive properties
/// (``KafkaConfiguration/isSensitive(_:)``) and any other credential a program holds, such as a
/// handler's API key. Every occurrence of each value is replaced, the longest values first, so
/// a secret that contains another is masked whole. It matches values, not keys: whatever
/// printed the secret (librdkafka quoting a bad `sasl.oauthbearer.config`, an error that echoes
/// a token), it does not show.
///
/// A short secret masks each of its occurrences, also inside unrelated words: a readability
/// cost that short secrets deserve. The empty string is never a secret.
///
/// ```swift
/// let redactor = SecretRedactor(kafkaProperties: ["sasl.password": "S3cr3t", "acks": "all"])
/// redactor.redact("login with S3cr3t failed")    // "login with *** failed"
/// ```
///
/// Its description shows how many secrets it holds, never the secrets.
public struct SecretRedactor: Sendable, Hashable, CustomStringConvertible, CustomReflectable {
    /// What a secret is replaced with: `***`.
    public static let mask = "***"

    /// Longest first, without duplicates or empty strings.
    private var secrets: [String] = []

    /// A redactor masking `secrets` (empty strings are ignored).
    ///
    /// ```swift
    /// let redactor = SecretRedactor(secrets: [apiKey])
    /// ```
    public init(secrets: some Sequence<String> = []) {
        for secret in secrets {
            self.insert(secret)
        }
    }

    /// A redactor masking the values of librdkafka's sensitive properties among `kafkaProperties`.
    ///
    /// ```swift
    /// let redactor = SecretRedactor(kafkaProperties: configuration.common.properties)
    /// ```
    public init(kafkaProperties: [String: String]) {
        self.init(secrets: kafkaProperties.filter { KafkaConfiguration.isSensitive($0.key) }.values)
    }

    /// Whether there is nothing to mask.
    ///
    /// ```swift
    /// if !redactor.isEmpty { logger = redacting(logger) }
    /// ```
    public var isEmpty: Bool { self.secrets.isEmpty }

    /// Adds a value to mask.
    ///
    /// ```swift
    /// redactor.insert(options["api-key"] ?? "")
    /// ```
    public mutating func insert(_ secret: String) {
        guard !secret.isEmpty, !self.secrets.contains(secret) else { return }
        let index = self.secrets.firstIndex { $0.utf8.count < secret.utf8.count } ?? self.secrets.endIndex
        self.secrets.insert(secret, at: index)
    }

    /// Adds the values `other` masks.
    ///
    /// ```swift
    /// redactor.formUnion(SecretRedactor(kafkaProperties: producerProperties))
    /// ```
    public mutating func formUnion(_ other: SecretRedactor) {
        for secret in other.secrets {
            self.insert(secret)
        }
    }

    /// `text` with every occurrence of every secret replaced by ``mask``.
    ///
    /// ```swift
    /// FileHandle.standardError.write(Data(redactor.redact(message).utf8))
    /// ```
    public func redact(_ text: String) -> String {
        var result = text
        for secret in self.secrets where result.contains(secret) {
            result = result.replacingOccurrences(of: secret, with: Self.mask)
        }
        return result
    }

    /// `SecretRedactor(2 secrets)`: the count, never the values.
    public var description: String {
        "SecretRedactor(\(self.secrets.count) secret\(self.secrets.count == 1 ? "" : "s"))"
    }

    /// No children: `dump(_:)` and debuggers show no secret either.
    public var customMirror: Mirror {
        Mirror(self, children: ["count": self.secrets.count])
    }
}
