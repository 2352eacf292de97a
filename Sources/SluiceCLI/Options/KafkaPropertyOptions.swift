//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import ArgumentParser

/// `-X key=value`: any librdkafka property, passed through (shared by `run` and `produce`).
struct KafkaPropertyOptions: ParsableArguments {
    @Option(
        name: [.customShort("X", allowingJoined: true), .customLong("kafka-property")],
        help: "Any librdkafka property as key=value; repeatable. (env: SLUICE_KAFKA_PROPERTY, ';'-separated)")
    var kafkaProperties: [String] = []

    func validate() throws {
        _ = try parsed()
    }

    /// The properties as a dictionary; the last of repeated keys wins.
    /// - Throws: `ValidationError` naming a value that is not `key=value`.
    func parsed() throws -> [String: String] {
        let (values, malformed) = parseKeyValuePairs(kafkaProperties)
        if let malformed { throw ValidationError("-X '\(malformed)' is not of the form key=value") }
        return values
    }
}

/// Splits `key=value` strings at the first `=`; also returns the first string that has no `=`
/// or an empty key. The one parser behind `-X` and `--handler-option`.
func parseKeyValuePairs(_ pairs: [String]) -> (values: [String: String], malformed: String?) {
    var values: [String: String] = [:]
    for pair in pairs {
        guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else { return (values, pair) }
        values[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
    }
    return (values, nil)
}
