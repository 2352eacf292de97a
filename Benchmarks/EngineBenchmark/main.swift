//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

// sluice-engine-bench: measures, in one run against one embedded broker, a raw librdkafka poll
// loop (the ceiling), Sluice with a no-op handler, and Sluice with CPU-bound handlers that
// busy-spin a fixed amount of thread CPU time, plus the CPU an idle consumer uses.
//
//   swift run -c release sluice-engine-bench [--json] [--messages N] [--idle-seconds S]
//
// Figures are ratios measured in one run; absolute rates depend on the machine.
import Foundation
import Logging
import Sluice
import SluiceCLI
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

struct Options {
    var json = false
    var messages = 480_000
    var idleSeconds = 10
    var scenarios: Set<String> = ["raw", "noop", "spin", "idle"]
    init() {
        var args = CommandLine.arguments.dropFirst()
        while let arg = args.popFirst() {
            switch arg {
            case "--json": json = true
            case "--messages": messages = Int(args.popFirst() ?? "") ?? messages
            case "--idle-seconds": idleSeconds = Int(args.popFirst() ?? "") ?? idleSeconds
            case "--only": scenarios = Set((args.popFirst() ?? "").split(separator: ",").map(String.init))
            default:
                FileHandle.standardError.write(Data("unknown option \(arg)\n".utf8))
                exit(2)
            }
        }
    }
}

func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

func peakRSSMegabytes() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
        return kb / 1024
    }
    return 0
}

struct Row: Codable {
    var scenario: String
    var messages: Int
    var seconds: Double
    var messagesPerSecond: Double
    var ratio: Double?
    var ratioTo: String?
    /// Rate and ratio over the second half of the run (after librdkafka's initial prefetch).
    var steadyMessagesPerSecond: Double?
    var steadyRatio: Double?
}

let quiet: Logger = {
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    return logger
}()

/// Counts completions and remembers the first, the middle and the last.
final class Progress: Sendable {
    private struct State {
        var count = 0
        var first: ContinuousClock.Instant?
        var middle: ContinuousClock.Instant?
        var last: ContinuousClock.Instant?
    }
    private let state = Mutex(State())
    private let target: Int
    init(target: Int) { self.target = target }
    func tick() {
        let now = ContinuousClock.now
        state.withLock {
            $0.count += 1
            if $0.first == nil { $0.first = now }
            if $0.count == target / 2 { $0.middle = now }
            $0.last = now
        }
    }
    var count: Int { state.withLock { $0.count } }
    /// Seconds from the first completion to the `target`-th (the last one counted).
    var seconds: Double { state.withLock { s in Self.seconds(s.first, s.last) } }
    /// Rate over the second half: librdkafka's initial prefetch of the backlog is over by then.
    var steadyRate: Double {
        state.withLock { s in Double(target - target / 2) / max(Self.seconds(s.middle, s.last), 1e-9) }
    }
    private static func seconds(_ from: ContinuousClock.Instant?, _ to: ContinuousClock.Instant?) -> Double {
        guard let from, let to else { return 0 }
        let d = from.duration(to: to)
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}

func waitUntil(timeout: Duration, _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while !condition() {
        guard ContinuousClock.now < deadline else { throw SluiceError(code: .kafka, message: "benchmark step timed out") }
        try await Task.sleep(for: .milliseconds(2))
    }
}

let options = Options()
let topic = "bench"
let partitions = 16
let broker = try EmbeddedBroker(brokers: 1, logger: quiet)
try broker.createTopic(topic, partitions: partitions)
try broker.createTopic("idle", partitions: 4)

// Produce the workload: 100-byte values, keys spread over 1,000 keys.
do {
    let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: [broker.bootstrapServers]), logger: quiet)
    let value = [UInt8](repeating: UInt8(ascii: "x"), count: 100)
    for i in 0..<options.messages {
        try producer.produce(
            KafkaProducerMessage(topic: topic, key: Array("key-\(i % 1000)".utf8), value: value),
            blockWhenQueueFull: true) { _ in }
    }
    try producer.close(timeout: .seconds(120))
}

func consumerConfig(group: String) -> KafkaConsumerConfiguration {
    var config = KafkaConsumerConfiguration(bootstrapServers: [broker.bootstrapServers], groupID: group)
    config.fetchWaitMax = .milliseconds(10)
    return config
}

// 1. The ceiling: a raw librdkafka poll loop, no copies.
var rows: [Row] = []
let rawSeconds: Double = !options.scenarios.contains("raw") ? 1 : try {
    let consumer = try KafkaConsumer(configuration: consumerConfig(group: "raw"), logger: quiet)
    try consumer.subscribe(topics: [topic])
    var count = 0
    var first: ContinuousClock.Instant?
    let deadline = ContinuousClock.now.advanced(by: .seconds(120))
    while count < options.messages, ContinuousClock.now < deadline {
        if try consumer.pollDiscarding(timeout: .milliseconds(100)) {
            if first == nil { first = .now }
            count += 1
        }
    }
    let elapsed = first!.duration(to: .now)
    try consumer.close(timeout: .seconds(10))
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}()
let ceiling = Double(options.messages) / rawSeconds
rows.append(Row(scenario: "raw librdkafka poll loop", messages: options.messages, seconds: rawSeconds, messagesPerSecond: ceiling))

/// Runs Sluice until `count` messages are handled; returns the handled rate.
func runSluice(
    group: String, count: Int, workers: Int, ordering: OrderingMode, window: Int = 1_000,
    handler: @escaping @Sendable () -> Void
) async throws -> (rate: Double, seconds: Double, steady: Double) {
    let progress = Progress(target: count)
    var config = SluiceConfiguration(brokers: [broker.bootstrapServers], groupID: group, topics: [topic])
    config.kafka.fetchWaitMax = .milliseconds(10)
    config.workers = workers
    config.ordering = ordering
    config.maxInFlightMessages = window
    let consumer = try SluiceConsumer(
        configuration: config, handler: ClosureMessageHandler { _, _ in handler(); progress.tick() }, logger: quiet)
    let task = Task { try await consumer.run() }
    try await waitUntil(timeout: .seconds(300)) { progress.count >= count }
    consumer.stop(immediately: true)
    try await task.value
    return (Double(count) / progress.seconds, progress.seconds, progress.steadyRate)
}

for ordering in [OrderingMode.unordered, .key, .partition] where options.scenarios.contains("noop") {
    let (rate, seconds, steady) = try await runSluice(group: "noop-\(ordering)", count: options.messages, workers: 2, ordering: ordering) {}
    rows.append(Row(scenario: "sluice no-op, \(ordering), 2 workers", messages: options.messages, seconds: seconds,
                    messagesPerSecond: rate, ratio: rate / ceiling, ratioTo: "ceiling",
                    steadyMessagesPerSecond: steady, steadyRatio: steady / ceiling))
}

for (micros, count) in [(100, 100_000), (1_000, 10_000)] where options.scenarios.contains("spin") {
    for workers in [1, 2] {
        let (rate, seconds, steady) = try await runSluice(group: "spin-\(micros)-\(workers)", count: count, workers: workers, ordering: .unordered) {
            SpinHandler.spin(micros: micros)
        }
        let ideal = Double(workers) * 1_000_000 / Double(micros)
        rows.append(Row(scenario: "sluice spin \(micros) µs, \(workers) worker\(workers == 1 ? "" : "s")", messages: count, seconds: seconds,
                        messagesPerSecond: rate, ratio: rate / ideal, ratioTo: "ideal workers/cost",
                        steadyMessagesPerSecond: steady, steadyRatio: steady / ideal))
    }
}

// Idle CPU: the broker alone, then the broker plus an idle, assigned consumer.
func idleCPU(seconds: Int) async throws -> Double {
    let before = processCPUSeconds()
    try await Task.sleep(for: .seconds(seconds))
    return (processCPUSeconds() - before) / Double(seconds) * 100
}
let runIdle = options.scenarios.contains("idle")
let brokerIdle = runIdle ? try await idleCPU(seconds: options.idleSeconds) : 0
var idleConfig = SluiceConfiguration(brokers: [broker.bootstrapServers], groupID: "idle", topics: ["idle"])
idleConfig.kafka.fetchWaitMax = .milliseconds(500)
var consumerIdle = 0.0
if runIdle {
    let idleConsumer = try SluiceConsumer(configuration: idleConfig, handler: ClosureMessageHandler { _, _ in }, logger: quiet)
    let idleTask = Task { try await idleConsumer.run() }
    try await waitUntil(timeout: .seconds(30)) { idleConsumer.statistics.partitions.count == 4 }
    try await Task.sleep(for: .seconds(1))
    consumerIdle = try await idleCPU(seconds: options.idleSeconds)
    idleConsumer.stop()
    try await idleTask.value
}

struct Report: Codable {
    var rows: [Row]
    var idleCPUPercentBrokerOnly: Double
    var idleCPUPercentBrokerAndConsumer: Double
    var peakRSSMegabytes: Double
}
let report = Report(rows: rows, idleCPUPercentBrokerOnly: brokerIdle, idleCPUPercentBrokerAndConsumer: consumerIdle, peakRSSMegabytes: peakRSSMegabytes())
if options.json {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    print(String(decoding: try encoder.encode(report), as: UTF8.self))
} else {
    func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
    print(pad("scenario", 36) + pad("messages", 10) + pad("msg/s", 10) + pad("ratio", 8) + pad("2nd half", 10) + pad("ratio", 8) + "of")
    for row in rows {
        let ratio = row.ratio.map { String(format: "%.2f", $0) } ?? "-"
        let steady = row.steadyMessagesPerSecond.map { String(format: "%.0f", $0) } ?? "-"
        let steadyRatio = row.steadyRatio.map { String(format: "%.2f", $0) } ?? "-"
        print(pad(row.scenario, 36) + pad("\(row.messages)", 10) + pad(String(format: "%.0f", row.messagesPerSecond), 10)
              + pad(ratio, 8) + pad(steady, 10) + pad(steadyRatio, 8) + (row.ratioTo ?? "(the ceiling)"))
    }
    print(String(format: "idle CPU over %d s: %.2f%% (broker alone: %.2f%%)", options.idleSeconds, consumerIdle, brokerIdle))
    print(String(format: "peak RSS: %.0f MB", report.peakRSSMegabytes))
}
