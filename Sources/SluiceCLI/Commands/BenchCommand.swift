//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import ArgumentParser
internal import Foundation
internal import Logging
internal import Sluice

/// `sluice bench`: the engine measured against a raw librdkafka poll loop and against the ideal
/// rate of CPU-bound handlers, in one run against one embedded broker.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure Sluice against a raw librdkafka poll loop (the ceiling) and the ideal workers/cost, on an embedded broker.",
        discussion: """
            Starts one embedded broker, writes the topics, and runs each scenario in a process of \
            its own, one after the other: rates are messages/s from the first handled message to \
            the last, ratios are to the raw poll loop of the same run (×ceiling) and to \
            workers/cost or in-flight/sleep (×ideal); latency is poll → done and done → commit \
            point; peak RSS is the scenario process's, broker excluded.

            Scenarios (select with --scenarios; a prefix such as `spin` or `noop` selects a family):
            \(BenchScenario.catalogue(BenchCommand.defaultSizes).map { "  \($0.name): \($0.summary)" }.joined(separator: "\n"))

            The engine-… scenarios serve their messages from memory (no librdkafka, no broker): \
            the engine's own cost; engine-spin-100us-2w-partition delivers each partition in runs \
            of a whole 1 MiB fetch, as a real broker does. With ordo-one's malloc-interposer preloaded \
            (LD_PRELOAD=…/libMallocInterposerSwift.so), an allocs/msg column counts malloc calls \
            per message.

            A quick run: sluice bench --scenarios raw,noop-unordered --messages 50000
            """)

    static let defaultSizes = BenchScenario.Sizes(messages: 1_000_000, seconds: 5, largeMessages: 100_000, idleSeconds: 10)

    @Option(help: "Comma-separated scenario names or prefixes to run; all by default.")
    var scenarios: String?

    @Option(help: "Messages of the raw, no-op and async scenarios (and the most any other reads).")
    var messages: Int = BenchCommand.defaultSizes.messages

    @Option(help: "Target seconds of each CPU-bound scenario: it reads ideal rate × seconds messages.")
    var seconds: Double = BenchCommand.defaultSizes.seconds

    @Option(name: .customLong("large-messages"), help: "1 KiB messages written for the memory scenario (rss-1kb-10k).")
    var largeMessages: Int = BenchCommand.defaultSizes.largeMessages

    @Option(name: .customLong("idle-seconds"), help: "How long the idle scenarios measure CPU.")
    var idleSeconds: Double = BenchCommand.defaultSizes.idleSeconds

    @Option(help: "Give up on a scenario that has not handled its messages after this many seconds.")
    var timeout: Double = 300

    @Flag(help: "Print the report as JSON instead of a table.")
    var json = false

    @OptionGroup var kafka: KafkaPropertyOptions

    @Option(name: .customLong("log-level"), help: "trace | debug | info | notice | warning | error | critical.")
    var logLevel: String = "error"

    /// Set by `sluice bench` itself when it starts a scenario process, whose spec (Kafka
    /// properties included) is in ``BenchChildProcess/specVariable``, not on its command line.
    @Flag(name: .customLong("scenario-process"), help: .hidden)
    var isScenarioProcess = false

    var sizes: BenchScenario.Sizes {
        BenchScenario.Sizes(messages: messages, seconds: seconds, largeMessages: largeMessages, idleSeconds: idleSeconds)
    }

    /// The scenarios `--scenarios` selects, in catalogue order.
    func selectedScenarios() throws -> [BenchScenario] {
        let all = BenchScenario.catalogue(sizes)
        guard let scenarios else { return all }
        let tokens = scenarios.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        for token in tokens where !all.contains(where: { $0.isSelected(by: token) }) {
            throw ValidationError("--scenarios: no scenario is named '\(token)' or starts with '\(token)-'; choose from \(all.map(\.name).joined(separator: ", "))")
        }
        // A whole name selects that scenario only; anything else selects the names it prefixes.
        return all.filter { scenario in
            tokens.contains { token in
                all.contains { $0.name == token } ? scenario.name == token : scenario.isSelected(by: token)
            }
        }
    }

    func validate() throws {
        guard messages >= 1 else { throw ValidationError("--messages must be at least 1, got \(messages)") }
        guard seconds > 0 else { throw ValidationError("--seconds must be positive, got \(seconds)") }
        guard largeMessages >= 1 else { throw ValidationError("--large-messages must be at least 1, got \(largeMessages)") }
        guard idleSeconds > 0 else { throw ValidationError("--idle-seconds must be positive, got \(idleSeconds)") }
        guard timeout > 0 else { throw ValidationError("--timeout must be positive, got \(timeout)") }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical; got '\(logLevel)'")
        }
        _ = try selectedScenarios()
    }

    func run() async throws {
        if isScenarioProcess {
            guard let spec = getenv(BenchChildProcess.specVariable).map({ String(cString: $0) }) else {
                throw CommandFailure.usage("--scenario-process needs \(BenchChildProcess.specVariable), which sluice bench sets")
            }
            unsetenv(BenchChildProcess.specVariable)
            try await runScenarioProcess(spec: spec)
            return
        }
        let logger = OutputOptions.makeLogger(label: "sluice.bench", level: logLevel, redactor: SluiceApp.redactor)
        let properties = try kafka.parsed()
        do {
            try KafkaConsumerConfiguration(groupID: "check", properties: properties).validate()
        } catch {
            throw CommandFailure.usage("invalid Kafka configuration: \(error)")
        }
        let runner = BenchRunner(
            scenarios: try selectedScenarios(), sizes: sizes, kafkaProperties: properties, timeoutSeconds: timeout,
            command: SluiceApp.redactor.redact((["sluice"] + CommandLine.arguments.dropFirst()).joined(separator: " ")),
            logger: logger,
            progress: { FileHandle.standardError.write(Data("bench: \($0)\n".utf8)) })
        let report = try await runner.run()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(BenchTable.render(report))
        }
        let failed = report.scenarios.filter { $0.error != nil }.map(\.name)
        if !failed.isEmpty {
            throw CommandFailure.runtime("\(failed.count) scenario\(failed.count == 1 ? "" : "s") failed: \(failed.joined(separator: ", "))")
        }
    }

    /// The scenario process: run one scenario and print its result line.
    private func runScenarioProcess(spec json: String) async throws {
        let spec: BenchScenarioRunner.Spec
        do {
            spec = try JSONDecoder().decode(BenchScenarioRunner.Spec.self, from: Data(json.utf8))
        } catch {
            throw CommandFailure.usage("\(BenchChildProcess.specVariable) is not a scenario (\(type(of: error)))")
        }
        let logger = OutputOptions.makeLogger(
            label: "sluice.bench", level: logLevel, redactor: SecretRedactor(kafkaProperties: spec.kafkaProperties))
        let result = await BenchScenarioRunner(spec: spec, logger: logger).run()
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        print(BenchChildProcess.resultPrefix + String(decoding: try encoder.encode(result), as: UTF8.self))
    }
}
