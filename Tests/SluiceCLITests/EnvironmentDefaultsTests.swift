//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

@testable import SluiceCLI
import Testing

struct EnvironmentDefaultsTests {
    @Test func variablesBecomeArgumentsOfTheirSubcommand() {
        let arguments = EnvironmentDefaults.apply(
            to: ["run", "--handler", "noop"],
            environment: ["SLUICE_BROKERS": "a:9092,b:9092", "SLUICE_MAX_IN_FLIGHT": "50", "SLUICE_GROUP": "billing"])
        #expect(arguments.starts(with: ["run", "--handler", "noop"]))
        #expect(pairs(arguments.dropFirst(3)) == [
            ["--brokers", "a:9092,b:9092"], ["--group", "billing"], ["--max-in-flight", "50"],
        ])
    }

    @Test func theCommandLineWins() {
        let environment = ["SLUICE_GROUP": "from-env", "SLUICE_MAX_IN_FLIGHT": "50", "SLUICE_KAFKA_PROPERTY": "a=1"]
        let arguments = EnvironmentDefaults.apply(
            to: ["run", "--group", "from-flag", "--max-in-flight=7", "-Xb=2"], environment: environment)
        #expect(arguments == ["run", "--group", "from-flag", "--max-in-flight=7", "-Xb=2"])
    }

    @Test func listsSplitIntoOneArgumentEach() {
        let arguments = EnvironmentDefaults.apply(
            to: ["run"],
            environment: [
                "SLUICE_TOPIC": "orders, payments,,refunds",
                "SLUICE_HANDLER_OPTION": "micros=5;rounds=2",
                "SLUICE_KAFKA_PROPERTY": "fetch.wait.max.ms=10;client.id=a,b",
            ])
        #expect(pairs(arguments.dropFirst()) == [
            ["--handler-option", "micros=5"], ["--handler-option", "rounds=2"],
            ["--kafka-property", "client.id=a,b"], ["--kafka-property", "fetch.wait.max.ms=10"],
            ["--topic", "orders"], ["--topic", "payments"], ["--topic", "refunds"],
        ])
    }

    @Test(arguments: [("1", true), ("true", true), ("YES", true), ("0", false), ("no", false)])
    func flagsAreSetByTruthyValues(value: String, isSet: Bool) {
        let arguments = EnvironmentDefaults.apply(to: ["produce"], environment: ["SLUICE_JSON": value])
        #expect(arguments.contains("--json") == isSet)
    }

    @Test func onlyTheSubcommandsOwnOptionsAreRead() {
        // dev-broker's --brokers is a broker count: an address list in SLUICE_BROKERS must not reach it.
        let devBroker = EnvironmentDefaults.apply(
            to: ["dev-broker"], environment: ["SLUICE_BROKERS": "a:9092", "SLUICE_TOPIC": "t:4"])
        #expect(devBroker == ["dev-broker", "--topic", "t:4"])
        // No subcommand (or an unknown one): nothing added.
        #expect(EnvironmentDefaults.apply(to: [], environment: ["SLUICE_TOPIC": "t"]) == [])
        #expect(EnvironmentDefaults.apply(to: ["--help"], environment: ["SLUICE_TOPIC": "t"]) == ["--help"])
        // Empty variables are ignored.
        #expect(EnvironmentDefaults.apply(to: ["run"], environment: ["SLUICE_GROUP": ""]) == ["run"])
    }

    @Test func variableNamesAreTheOptionInCapitals() {
        #expect(EnvironmentDefaults.variable(for: "max-in-flight-bytes") == "SLUICE_MAX_IN_FLIGHT_BYTES")
        #expect(EnvironmentDefaults.variable(for: "kafka-property") == "SLUICE_KAFKA_PROPERTY")
    }

    /// `[flag, value]` pairs, sorted, so the tests do not depend on the table's order.
    private func pairs(_ arguments: ArraySlice<String>) -> [[String]] {
        let array = Array(arguments)
        return stride(from: 0, to: array.count - 1, by: 2).map { [array[$0], array[$0 + 1]] }
            .sorted { ($0[0], $0[1]) < ($1[0], $1[1]) }
    }
}
