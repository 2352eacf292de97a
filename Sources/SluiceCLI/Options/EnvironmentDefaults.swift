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
/// arguments before parsing: errors then name the flag and the value like any other. These
/// arguments exist only inside this process (they are not its command line, and worker
/// processes do not get them).
///
/// `key=value` lists (`SLUICE_KAFKA_PROPERTY`, `SLUICE_HANDLER_OPTION`) are split on `;`; `\;`
/// is a `;` inside a value and `\\` a backslash. One variable per key passes a value unchanged,
/// without any escaping: `SLUICE_X_SASL_PASSWORD` for the librdkafka property `sasl.password`
/// (lower case, `_` for `.`), `SLUICE_HANDLER_OPTION_API_KEY` for the handler option `api-key`
/// (lower case, `_` for `-`). They win over the list variables, and lose to the same key on the
/// command line.
enum EnvironmentDefaults {
    /// How an option's variable is read.
    enum Kind {
        case single
        /// Several values separated by this character, one argument each.
        case list(Character)
        /// Items separated by `;`, with `\;` for a `;` in a value; one argument each (`key=value`
        /// pairs, and routes, whose settings are separated by `,`).
        case keyValueList
        /// A Boolean flag: `1`, `true`, `yes` set it.
        case flag
    }

    /// The options that read a variable, per subcommand.
    static let options: [String: [(name: String, kind: Kind)]] = [
        "run": [
            ("brokers", .single), ("group", .single), ("topic", .list(",")), ("handler", .single),
            ("workers", .single), ("max-in-flight", .single), ("max-in-flight-bytes", .single),
            ("ordering", .single), ("handler-option", .keyValueList), ("kafka-property", .keyValueList),
            ("max-messages", .single), ("output-topic", .single), ("on-failure", .single),
            ("assignment", .single), ("commit-interval", .single), ("drain-timeout", .single),
            ("pause-threshold", .single), ("log-level", .single), ("status-interval", .single),
            ("embedded-partitions", .single), ("max-attempts", .single), ("retry-backoff", .single),
            ("retry-backoff-max", .single), ("retry-backoff-multiplier", .single), ("dead-letter-topic", .single),
            ("dead-letter-max-consecutive", .single), ("dead-letter-max-ratio", .single),
            ("dead-letter-ratio-window", .single), ("dead-letter-timeout", .single), ("handler-timeout", .single), ("metrics-port", .single),
            ("metrics-host", .single), ("liveness-ttl", .single), ("isolation", .single),
            ("max-tasks-per-worker", .single), ("max-worker-memory", .single), ("worker-backtraces", .flag),
            ("max-uncommitted-span", .single), ("commit-metadata", .single), ("stuck-warning", .single),
            ("route", .keyValueList), ("route-option", .keyValueList), ("max-batch-size", .single),
            ("max-batch-bytes", .single), ("max-batch-delay", .single),
        ],
        // dev-broker's --brokers is a count, so SLUICE_BROKERS (an address list) is not read for it.
        "dev-broker": [("topic", .list(",")), ("bootstrap-file", .single)],
        "produce": [
            ("brokers", .single), ("topic", .single), ("count", .single), ("size", .single), ("keys", .single),
            ("rate", .single), ("json", .flag), ("first-id", .single), ("kafka-property", .keyValueList),
        ],
        "demo": [("count", .single), ("workers", .single), ("partitions", .single), ("log-level", .single)],
    ]

    /// Options that stand in for others: a variable of the option is not read when one of these
    /// is on the command line (`--route` there wins over `SLUICE_TOPIC` and `SLUICE_HANDLER`, and
    /// `--topic` or `--handler` over `SLUICE_ROUTE`), as a flag wins over its own variable.
    static let replacedBy: [String: [String]] = [
        "topic": ["route"], "handler": ["route"], "route": ["topic", "handler"], "route-option": ["topic", "handler"],
    ]

    /// Variables of one key each: the prefix, the option they fill, and the character `_` stands for
    /// in the key.
    static let perKeyVariables: [(prefix: String, option: String, underscore: Character)] = [
        ("SLUICE_X_", "kafka-property", "."),
        ("SLUICE_HANDLER_OPTION_", "handler-option", "-"),
    ]

    /// The variable of one key of a `key=value` option, e.g. `SLUICE_X_SASL_PASSWORD` for
    /// `sasl.password` of `kafka-property`.
    static func perKeyVariable(option: String, key: String) -> String {
        guard let entry = perKeyVariables.first(where: { $0.option == option }) else { return variable(for: option) }
        return entry.prefix + String(key.uppercased().map { $0 == entry.underscore ? "_" : $0 })
    }

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
            if let others = replacedBy[name],
                others.contains(where: { other in arguments.contains { $0 == "--\(other)" || $0.hasPrefix("--\(other)=") } })
            {
                continue
            }
            if name == "kafka-property", arguments.contains(where: { $0.hasPrefix("-X") }) { continue }
            switch kind {
            case .single:
                result += [flag, value]
            case .list(let separator):
                for item in value.split(separator: separator) where !item.isEmpty {
                    result += [flag, String(item).trimmingCharacters(in: .whitespaces)]
                }
            case .keyValueList:
                for item in splitKeyValueList(value) {
                    result += [flag, item]
                }
            case .flag:
                if ["1", "true", "yes"].contains(value.lowercased()) { result.append(flag) }
            }
        }
        // One variable per key, after the lists so that they win; sorted, so the order is stable.
        for (prefix, option, underscore) in perKeyVariables where options.contains(where: { $0.name == option }) {
            let given = keys(givenTo: option, in: arguments)
            for (variable, value) in environment.sorted(by: { $0.key < $1.key }) where variable.hasPrefix(prefix) {
                let key = String(variable.dropFirst(prefix.count).lowercased().map { $0 == "_" ? underscore : $0 })
                guard !key.isEmpty, !given.contains(key) else { continue }
                result += ["--\(option)", "\(key)=\(value)"]
            }
        }
        return result
    }

    /// The items of a `key=value` list variable: split on `;` (not on `\;`), `\;` and `\\` unescaped,
    /// each item trimmed of surrounding spaces, empty ones dropped. A backslash before anything else
    /// stays as it is.
    static func splitKeyValueList(_ value: String) -> [String] {
        var items: [String] = []
        var current = ""
        var escaping = false
        for character in value {
            if escaping {
                if character != ";" && character != "\\" { current.append("\\") }
                current.append(character)
                escaping = false
            } else if character == "\\" {
                escaping = true
            } else if character == ";" {
                items.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        if escaping { current.append("\\") }
        items.append(current)
        return items.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// The keys of the `key=value` values `option` has on the command line.
    static func keys(givenTo option: String, in arguments: [String]) -> Set<String> {
        Set(keyValueArguments(givenTo: option, in: arguments).map(\.key))
    }
}
