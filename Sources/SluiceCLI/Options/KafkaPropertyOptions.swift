//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import ArgumentParser
internal import Sluice

/// `-X key=value`: any librdkafka property, passed through (shared by `run` and `produce`).
struct KafkaPropertyOptions: ParsableArguments {
    @Option(
        name: [.customShort("X", allowingJoined: true), .customLong("kafka-property")],
        help: "Any librdkafka property as key=value; repeatable. Secret values are shown as ***. (env: SLUICE_KAFKA_PROPERTY, ';'-separated, \\; inside a value; or one per variable: SLUICE_X_SASL_PASSWORD for sasl.password)")
    var kafkaProperties: [String] = []

    func validate() throws {
        _ = try parsed()
    }

    /// The properties as a dictionary; the last of repeated keys wins.
    /// - Throws: `ValidationError` naming a value that is not `key=value` (without showing it when it
    ///   follows a sensitive property, whose value it may be the cut-off end of).
    func parsed() throws -> [String: String] {
        let parsed = parseKeyValuePairs(kafkaProperties)
        if let malformed = parsed.malformed {
            guard let previous = parsed.previousKey, KafkaConfiguration.isSensitive(previous) else {
                throw ValidationError("-X '\(malformed)' is not of the form key=value")
            }
            throw ValidationError(
                "-X: the item after \(previous) is not of the form key=value (not shown: it may be part of the secret); a ';' inside a value is written '\\;' in SLUICE_KAFKA_PROPERTY, or give the value alone in \(EnvironmentDefaults.perKeyVariable(option: "kafka-property", key: previous))")
        }
        return parsed.values
    }
}

/// Splits `key=value` strings at the first `=`; also returns the first string that has no `=`
/// or an empty key, and the key of the string before it. The one parser behind `-X` and
/// `--handler-option`.
func parseKeyValuePairs(_ pairs: [String]) -> (values: [String: String], malformed: String?, previousKey: String?) {
    var values: [String: String] = [:]
    var previousKey: String?
    for pair in pairs {
        guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else { return (values, pair, previousKey) }
        let key = String(pair[..<equals])
        values[key] = String(pair[pair.index(after: equals)...])
        previousKey = key
    }
    return (values, nil, nil)
}

/// The `key=value` values of a repeatable option in raw arguments, before parsing: `--option k=v`,
/// `--option=k=v`, and for `kafka-property` also `-X k=v` and `-Xk=v`.
func keyValueArguments(givenTo option: String, in arguments: [String]) -> [(key: String, value: String)] {
    let flags = ["--\(option)"] + (option == "kafka-property" ? ["-X"] : [])
    var pairs: [(key: String, value: String)] = []
    var takesValue = false
    for argument in arguments {
        var item: Substring?
        if takesValue {
            item = argument[...]
            takesValue = false
        } else if flags.contains(argument) {
            takesValue = true
        } else if let flag = flags.first(where: { argument.hasPrefix($0 + "=") }) {
            item = argument.dropFirst(flag.count + 1)
        } else if option == "kafka-property", argument.hasPrefix("-X") {
            item = argument.dropFirst(2)
        }
        if let item, let equals = item.firstIndex(of: "="), equals != item.startIndex {
            pairs.append((String(item[..<equals]), String(item[item.index(after: equals)...])))
        }
    }
    return pairs
}
