//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import Foundation
internal import Logging
internal import Sluice

/// The parent side of `sluice bench`: starts one embedded broker, writes the topics the chosen
/// scenarios read, runs each scenario in a process of its own against that broker, one after
/// the other, and puts the results together.
struct BenchRunner: Sendable {
    var scenarios: [BenchScenario]
    var sizes: BenchScenario.Sizes
    var kafkaProperties: [String: String]
    var timeoutSeconds: Double
    var command: String
    var logger: Logger
    /// Receives a line before each step (standard error in the CLI).
    var progress: @Sendable (String) -> Void

    static let smallTopic = "bench"
    static let largeTopic = "bench-1kb"
    static let emptyTopic = "bench-idle"
    static let wideTopic = "bench-64p"
    static let trickleTopic = "bench-trickle"
    /// The topic name the synthetic source's messages carry (no broker holds it).
    static let syntheticTopic = "bench-synthetic"
    /// Partitions of the wide workload.
    static let widePartitions = 64
    /// Partitions of the trickle workload, written round robin by the scenario.
    static let tricklePartitions = 4

    /// Partitions for `count` messages of `size` bytes: the embedded broker keeps about 5 MB per
    /// partition, so aim for at most about 3 MB each (and at least 16 partitions).
    static func partitions(count: Int, size: Int) -> Int {
        let perMessage = size + 40  // key and record overhead
        return max(16, (count * perMessage + 3_000_000 - 1) / 3_000_000)
    }

    /// Runs every scenario and returns the report; a failed scenario carries its error.
    /// - Throws: When the broker cannot start or the topics cannot be written.
    func run() async throws -> BenchReport {
        guard let executable = ProcessMetrics.executableURL else {
            throw SluiceError(code: .configuration, message: "cannot find this executable to start scenario processes")
        }
        let loadAtStart = ProcessMetrics.loadAverage()
        let spinCosts = Self.measureSpinCosts(of: scenarios)
        let broker = try EmbeddedBroker(brokers: 1, logger: logger)
        defer { broker.stop() }
        progress("embedded broker at \(broker.bootstrapServers)")

        let smallCount = scenarios.filter { $0.workload == .small }.map(\.messages).max() ?? 0
        let wideCount = scenarios.filter { $0.workload == .wide }.map(\.messages).max() ?? 0
        let largeCount = scenarios.contains { $0.workload == .large } ? sizes.largeMessages : 0
        let smallPartitions = Self.partitions(count: smallCount, size: 100)
        let largePartitions = Self.partitions(count: largeCount, size: 1_024)
        var endOffsets: [BenchScenario.Workload: [Int64]] = [:]
        for (workload, topic, count, partitions, size) in [
            (BenchScenario.Workload.small, Self.smallTopic, smallCount, smallPartitions, 100),
            (.large, Self.largeTopic, largeCount, largePartitions, 1_024),
            (.wide, Self.wideTopic, wideCount, Self.widePartitions, 100),
        ] where count > 0 {
            try broker.createTopic(topic, partitions: partitions)
            progress("writing \(count) messages of \(size) bytes to \(topic) (\(partitions) partitions)…")
            let writer = BenchWorkloadWriter(
                bootstrapServers: broker.bootstrapServers, topic: topic, partitions: partitions, count: count,
                valueSize: size, logger: logger)
            endOffsets[workload] = try await writer.write()
        }
        if let synthetic = scenarios.filter({ $0.workload == .synthetic }).map(\.messages).max() {
            // Served from memory by each scenario: only the layout is decided here.
            let partitions = Self.partitions(count: synthetic, size: 100)
            endOffsets[.synthetic] = (0..<partitions).map { Int64(synthetic / partitions + ($0 < synthetic % partitions ? 1 : 0)) }
        }
        if scenarios.contains(where: { $0.workload == .empty }) {
            try broker.createTopic(Self.emptyTopic, partitions: 4)
            endOffsets[.empty] = Array(repeating: 0, count: 4)
        }
        if let trickle = scenarios.first(where: { $0.workload == .trickle }) {
            // Written by the scenario itself, round robin: one trickle scenario per run.
            try broker.createTopic(Self.trickleTopic, partitions: Self.tricklePartitions)
            endOffsets[.trickle] = Array(repeating: Int64(trickle.messages / Self.tricklePartitions), count: Self.tricklePartitions)
        }

        var results: [BenchResult] = []
        var ceiling: Double?
        for scenario in scenarios {
            progress("running \(scenario.name): \(scenario.summary)\(scenario.messages > 0 ? ", \(scenario.messages) messages" : "")…")
            let spec = BenchScenarioRunner.Spec(
                scenario: scenario, bootstrapServers: broker.bootstrapServers, topic: Self.topic(of: scenario.workload),
                endOffsets: endOffsets[scenario.workload] ?? [], kafkaProperties: kafkaProperties,
                timeoutSeconds: timeoutSeconds)
            var result = await BenchChildProcess(executable: executable, spec: spec).run()
            if scenario.kind == .raw, result.error == nil { ceiling = result.messagesPerSecond }
            if let rate = result.messagesPerSecond {
                result.ratioToCeiling = ceiling.map { rate / $0 }
                result.ratioToIdeal = result.idealMessagesPerSecond.map { rate / $0 }
            }
            if let error = result.error { progress("\(scenario.name) failed: \(error)") }
            results.append(result)
        }
        // Each scenario set against another of the same run (a batch handler against the
        // per-message handler of the same costs).
        for (index, scenario) in scenarios.enumerated() {
            guard let other = scenario.comparedWith, let rate = results[index].messagesPerSecond,
                let base = results.first(where: { $0.name == other && $0.error == nil })?.messagesPerSecond, base > 0
            else { continue }
            results[index].comparedWith = other
            results[index].ratioToCompared = rate / base
        }
        return BenchReport(
            command: command, cores: ProcessInfo.processInfo.activeProcessorCount,
            loadAverageAtStart: loadAtStart, loadAverageAtEnd: ProcessMetrics.loadAverage(),
            smallMessages: smallCount, smallPartitions: smallCount > 0 ? smallPartitions : 0,
            largeMessages: largeCount, largePartitions: largeCount > 0 ? largePartitions : 0,
            ceilingMessagesPerSecond: ceiling, scenarios: results, spinCosts: spinCosts)
    }

    /// The thread CPU time of the spins the scenarios' handlers make (per message and per call),
    /// each measured over about 20 ms: the ideal is only as true as these are to their nominal cost.
    static func measureSpinCosts(of scenarios: [BenchScenario]) -> [BenchReport.SpinCost] {
        let nominal = Set(scenarios.flatMap { [$0.spinMicros, $0.callMicros] }.filter { $0 > 0 }).sorted()
        return nominal.map { micros in
            BenchReport.SpinCost(
                nominalMicros: micros, measuredMicros: SpinHandler.measuredCost(micros: micros, calls: max(1, 20_000 / micros)))
        }
    }

    /// The topic a workload is written to.
    static func topic(of workload: BenchScenario.Workload) -> String {
        switch workload {
        case .small: smallTopic
        case .large: largeTopic
        case .empty: emptyTopic
        case .wide: wideTopic
        case .trickle: trickleTopic
        case .synthetic: syntheticTopic
        }
    }
}
