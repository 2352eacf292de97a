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

    @Test func aSemicolonInAValueIsEscapedWithABackslash() {
        let arguments = EnvironmentDefaults.apply(
            to: ["run"],
            environment: [
                "SLUICE_KAFKA_PROPERTY": #"sasl.password=S3cr3t\;x\\y\z;acks=all; "#,
                "SLUICE_HANDLER_OPTION": #"api-key=a\;b"#,
            ])
        #expect(pairs(arguments.dropFirst()) == [
            ["--handler-option", "api-key=a;b"],
            ["--kafka-property", "acks=all"], ["--kafka-property", #"sasl.password=S3cr3t;x\y\z"#],
        ])
        #expect(EnvironmentDefaults.splitKeyValueList(#"a=1\"#) == [#"a=1\"#], "a trailing backslash stays")
    }

    @Test func oneVariablePerKeyPassesItsValueUnchangedAndWinsOverTheList() {
        let arguments = EnvironmentDefaults.apply(
            to: ["run"],
            environment: [
                "SLUICE_KAFKA_PROPERTY": "sasl.password=old;acks=1",
                "SLUICE_X_SASL_PASSWORD": #" S3cr3t;x=\; "#,
                "SLUICE_HANDLER_OPTION_API_KEY": "k;=1",
            ])
        let properties = arguments.indices.filter { arguments[$0] == "--kafka-property" }.map { arguments[$0 + 1] }
        // The per-key value comes last, so it wins (the last of repeated keys does).
        #expect(properties == ["sasl.password=old", "acks=1", #"sasl.password= S3cr3t;x=\; "#])
        #expect(pairs(arguments.dropFirst()).contains(["--handler-option", "api-key=k;=1"]))
        #expect(EnvironmentDefaults.perKeyVariable(option: "kafka-property", key: "sasl.password") == "SLUICE_X_SASL_PASSWORD")
        #expect(EnvironmentDefaults.perKeyVariable(option: "handler-option", key: "api-key") == "SLUICE_HANDLER_OPTION_API_KEY")
    }

    @Test func theSameKeyOnTheCommandLineWinsOverItsVariable() {
        let environment = ["SLUICE_X_SASL_PASSWORD": "env", "SLUICE_X_ACKS": "1", "SLUICE_HANDLER_OPTION_MICROS": "5"]
        for commandLine in [
            ["-X", "sasl.password=flag"], ["-Xsasl.password=flag"], ["--kafka-property", "sasl.password=flag"],
            ["--kafka-property=sasl.password=flag"],
        ] {
            let arguments = EnvironmentDefaults.apply(
                to: ["run"] + commandLine + ["--handler-option", "micros=9"], environment: environment)
            #expect(!arguments.contains("sasl.password=env"), "\(commandLine)")
            #expect(arguments.contains("acks=1"), "another key still comes from its variable")
            #expect(!arguments.contains("micros=5"))
        }
        // produce reads SLUICE_X_* too, but has no handler options.
        let produce = EnvironmentDefaults.apply(to: ["produce"], environment: environment)
        #expect(produce.contains("sasl.password=env") && !produce.contains("micros=5"), "\(produce)")
    }

    @Test func routesAreSeparatedBySemicolonsAndKeepTheirCommas() {
        let arguments = EnvironmentDefaults.apply(
            to: ["run"],
            environment: [
                "SLUICE_ROUTE": "orders=score-orders,ordering=key; audit.*=spin-batch,max-batch-size=50",
                "SLUICE_ROUTE_OPTION": "audit.*:call-micros=200",
                "SLUICE_MAX_BATCH_SIZE": "20", "SLUICE_MAX_BATCH_BYTES": "64KiB", "SLUICE_MAX_BATCH_DELAY": "5ms",
            ])
        #expect(pairs(arguments.dropFirst()) == [
            ["--max-batch-bytes", "64KiB"], ["--max-batch-delay", "5ms"], ["--max-batch-size", "20"],
            ["--route", "audit.*=spin-batch,max-batch-size=50"], ["--route", "orders=score-orders,ordering=key"],
            ["--route-option", "audit.*:call-micros=200"],
        ])
    }

    /// Routes stand in for --topic and --handler: whichever the command line gives wins over the
    /// variables of the other.
    @Test func routesOnTheCommandLineWinOverTopicAndHandlerVariablesAndTheOtherWayRound() {
        let environment = [
            "SLUICE_TOPIC": "orders", "SLUICE_HANDLER": "spin", "SLUICE_ROUTE": "audit=sha256",
            "SLUICE_ROUTE_OPTION": "audit:rounds=2",
        ]
        #expect(EnvironmentDefaults.apply(to: ["run", "--route", "clicks=noop"], environment: environment)
            == ["run", "--route", "clicks=noop", "--route-option", "audit:rounds=2"])
        #expect(EnvironmentDefaults.apply(to: ["run", "--topic=clicks"], environment: environment)
            == ["run", "--topic=clicks", "--handler", "spin"])
        #expect(EnvironmentDefaults.apply(to: ["run", "--handler", "noop"], environment: environment)
            == ["run", "--handler", "noop", "--topic", "orders"])
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
