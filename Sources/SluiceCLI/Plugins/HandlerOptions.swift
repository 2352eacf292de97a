//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import Sluice

/// The `--handler-option key=value` settings given to a handler factory, with typed accessors
/// whose errors name the option and the value.
///
/// Options can carry secrets (an API key): the value of a secret option (``isSecret(_:)``) is
/// shown as `***` in errors and descriptions, and masked in the runner's logs and messages.
///
/// ```swift
/// let micros = try setup.options.int("micros", default: 100)
/// ```
public struct HandlerOptions: Sendable, Hashable, CustomStringConvertible, CustomReflectable {
    /// A malformed option or value, with a sentence naming it.
    public struct Error: Swift.Error, Sendable, CustomStringConvertible {
        /// What is wrong.
        public var description: String

        /// An error with a sentence naming the option and the value, for an application's factories.
        public init(description: String) {
            self.description = description
        }
    }

    /// The options by key; the last of repeated keys wins.
    public private(set) var values: [String: String]

    /// Options from a dictionary.
    public init(_ values: [String: String] = [:]) {
        self.values = values
    }

    /// Parses `key=value` strings.
    /// - Throws: ``Error`` for a string without `=` or with an empty key (not shown when it follows a
    ///   secret option, whose value it may be the cut-off end of).
    public init(parsing pairs: [String]) throws {
        let parsed = parseKeyValuePairs(pairs)
        if let malformed = parsed.malformed {
            guard let previous = parsed.previousKey, Self.isSecret(previous) else {
                throw Error(description: "handler option '\(malformed)' is not of the form key=value")
            }
            throw Error(
                description:
                    "handler option: the item after \(previous) is not of the form key=value (not shown: it may be part of the secret); a ';' inside a value is written '\\;' in SLUICE_HANDLER_OPTION, or give the value alone in \(EnvironmentDefaults.perKeyVariable(option: "handler-option", key: previous))")
        }
        self.values = parsed.values
    }

    /// Whether option `key` holds a secret, whose value is never shown: its name contains
    /// `password`, `passwd`, `secret`, `token` or `credential`, or ends with `key` (`api-key`,
    /// `access_key`, `apikey`), in any case.
    ///
    /// ```swift
    /// HandlerOptions.isSecret("api-key")    // true
    /// HandlerOptions.isSecret("micros")     // false
    /// ```
    public static func isSecret(_ key: String) -> Bool {
        let name = key.lowercased()
        return ["password", "passwd", "secret", "token", "credential"].contains { name.contains($0) }
            || name.hasSuffix("key")
    }

    /// The values of the secret options, to mask wherever they might be echoed.
    ///
    /// ```swift
    /// let redactor = SecretRedactor(secrets: options.secretValues)
    /// ```
    public var secretValues: [String] {
        self.values.filter { Self.isSecret($0.key) }.map(\.value)
    }

    /// The raw value of `key`.
    public func string(_ key: String) -> String? { values[key] }

    /// An integer option.
    /// - Throws: ``Error`` naming the option when the value is not an integer.
    public func int(_ key: String, default defaultValue: Int) throws -> Int {
        guard let text = values[key] else { return defaultValue }
        guard let value = Int(text) else {
            throw Error(description: "handler option \(self.shown(key)): '\(self.shownValue(key))' is not an integer")
        }
        return value
    }

    /// An integer option that has no default: `nil` when it is not given.
    /// - Throws: ``Error`` naming the option when the value is not an integer.
    public func int(_ key: String) throws -> Int? {
        guard values[key] != nil else { return nil }
        return try int(key, default: 0)
    }

    /// A Boolean option (`true`/`false`/`1`/`0`/`yes`/`no`).
    /// - Throws: ``Error`` naming the option when the value is not a Boolean.
    public func bool(_ key: String, default defaultValue: Bool) throws -> Bool {
        guard let text = values[key] else { return defaultValue }
        switch text.lowercased() {
        case "true", "1", "yes": return true
        case "false", "0", "no": return false
        default: throw Error(description: "handler option \(self.shown(key)): '\(self.shownValue(key))' is not true or false")
        }
    }

    /// `key=value`, or `key=***` for a secret option.
    func shown(_ key: String) -> String {
        "\(key)=\(self.shownValue(key))"
    }

    private func shownValue(_ key: String) -> String {
        Self.isSecret(key) ? SecretRedactor.mask : values[key] ?? ""
    }

    /// `[api-key=***, micros=100]`: the options, secrets masked.
    public var description: String {
        "[" + values.keys.sorted().map(self.shown).joined(separator: ", ") + "]"
    }

    /// The options with secret values masked, for `dump(_:)` and debuggers.
    public var customMirror: Mirror {
        Mirror(self, children: ["values": values.reduce(into: [String: String]()) { $0[$1.key] = shownValue($1.key) }])
    }
}
