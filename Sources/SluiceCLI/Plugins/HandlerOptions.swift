//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// The `--handler-option key=value` settings given to a handler factory, with typed accessors
/// whose errors name the option and the value.
///
/// ```swift
/// let micros = try setup.options.int("micros", default: 100)
/// ```
public struct HandlerOptions: Sendable, Hashable {
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
    /// - Throws: ``Error`` for a string without `=` or with an empty key.
    public init(parsing pairs: [String]) throws {
        let (values, malformed) = parseKeyValuePairs(pairs)
        if let malformed { throw Error(description: "handler option '\(malformed)' is not of the form key=value") }
        self.values = values
    }

    /// The raw value of `key`.
    public func string(_ key: String) -> String? { values[key] }

    /// An integer option.
    /// - Throws: ``Error`` naming the option when the value is not an integer.
    public func int(_ key: String, default defaultValue: Int) throws -> Int {
        guard let text = values[key] else { return defaultValue }
        guard let value = Int(text) else {
            throw Error(description: "handler option \(key)=\(text): '\(text)' is not an integer")
        }
        return value
    }

    /// A Boolean option (`true`/`false`/`1`/`0`/`yes`/`no`).
    /// - Throws: ``Error`` naming the option when the value is not a Boolean.
    public func bool(_ key: String, default defaultValue: Bool) throws -> Bool {
        guard let text = values[key] else { return defaultValue }
        switch text.lowercased() {
        case "true", "1", "yes": return true
        case "false", "0", "no": return false
        default: throw Error(description: "handler option \(key)=\(text): '\(text)' is not true or false")
        }
    }
}
