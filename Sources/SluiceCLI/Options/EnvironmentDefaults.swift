//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import Foundation

/// Fills options from `SLUICE_*` environment variables: `--max-in-flight` from
/// `SLUICE_MAX_IN_FLIGHT`, and so on. A flag given on the command line wins.
///
/// swift-argument-parser has no environment support, so the variables become ordinary
/// arguments before parsing: errors then name the flag and the value like any other.
enum EnvironmentDefaults {
    /// How an option's variable is read.
    enum Kind {
        case single
        /// Several values separated by this character, one argument each.
        case list(Character)
        /// A Boolean flag: `1`, `true`, `yes` set it.
        case flag
    }

    /// The options that read a variable, per subcommand.
    static let options: [String: [(name: String, kind: Kind)]] = [
        "run": [
            ("brokers", .single), ("group", .single), ("topic", .list(",")), ("handler", .single),
            ("workers", .single), ("max-in-flight", .single), ("max-in-flight-bytes", .single),
            ("ordering", .single), ("handler-option", .list(";")), ("kafka-property", .list(";")),
            ("max-messages", .single), ("output-topic", .single), ("on-failure", .single),
            ("assignment", .single), ("commit-interval", .single), ("drain-timeout", .single),
            ("pause-threshold", .single), ("log-level", .single), ("status-interval", .single),
            ("embedded-partitions", .single), ("max-attempts", .single), ("retry-backoff", .single),
            ("retry-backoff-max", .single), ("retry-backoff-multiplier", .single), ("dead-letter-topic", .single),
            ("dead-letter-max-consecutive", .single), ("dead-letter-max-ratio", .single),
            ("dead-letter-ratio-window", .single), ("handler-timeout", .single), ("metrics-port", .single),
            ("metrics-host", .single), ("liveness-ttl", .single), ("isolation", .single),
            ("max-tasks-per-worker", .single), ("max-worker-memory", .single),
        ],
        // dev-broker's --brokers is a count, so SLUICE_BROKERS (an address list) is not read for it.
        "dev-broker": [("topic", .list(",")), ("bootstrap-file", .single)],
        "produce": [
            ("brokers", .single), ("topic", .single), ("count", .single), ("size", .single), ("keys", .single),
            ("rate", .single), ("json", .flag), ("first-id", .single), ("kafka-property", .list(";")),
        ],
        "demo": [("count", .single), ("workers", .single), ("partitions", .single), ("log-level", .single)],
    ]

    /// `SLUICE_` and the option name in capitals with underscores.
    static func variable(for option: String) -> String {
        "SLUICE_" + option.uppercased().replacingOccurrences(of: "-", with: "_")
    }

    /// Appends arguments for every variable that is set and whose option is not on the command line.
    static func apply(to arguments: [String], environment: [String: String]) -> [String] {
        guard let command = arguments.first, let options = options[command] else { return arguments }
        var result = arguments
        for (name, kind) in options {
            guard let value = environment[variable(for: name)], !value.isEmpty else { continue }
            let flag = "--\(name)"
            if arguments.contains(where: { $0 == flag || $0.hasPrefix(flag + "=") }) { continue }
            if name == "kafka-property", arguments.contains(where: { $0.hasPrefix("-X") }) { continue }
            switch kind {
            case .single:
                result += [flag, value]
            case .list(let separator):
                for item in value.split(separator: separator) where !item.isEmpty {
                    result += [flag, String(item).trimmingCharacters(in: .whitespaces)]
                }
            case .flag:
                if ["1", "true", "yes"].contains(value.lowercased()) { result.append(flag) }
            }
        }
        return result
    }
}
