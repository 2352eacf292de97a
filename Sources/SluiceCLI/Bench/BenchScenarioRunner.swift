//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import _SluiceTime
internal import Foundation
internal import Logging
internal import Sluice
internal import SluiceProcessPool
internal import Synchronization

/// Runs one ``BenchScenario`` in this process (a child of `sluice bench`) against the run's
/// broker and measures it.
struct BenchScenarioRunner: Sendable {
    /// Everything a scenario process needs, passed as JSON by the parent.
    struct Spec: Codable, Sendable {
        var scenario: BenchScenario
        var bootstrapServers: String
        var topic: String
        /// End offsets of the topic's partitions, by partition number (all start at 0).
        var endOffsets: [Int64]
        /// `-X` properties of the run, applied to every consumer.
        var kafkaProperties: [String: String]
        /// Give up when the scenario has not handled its messages after this many seconds.
        var timeoutSeconds: Double
    }

    var spec: Spec
    var logger: Logger

    private var scenario: BenchScenario { spec.scenario }

    /// Runs the scenario; a failure is reported in the result, not thrown.
    func run() async -> BenchResult {
        let baseline = ProcessMetrics.currentRSSMegabytes()
        AllocationCounter.start()
        var result = BenchResult(name: scenario.name, summary: scenario.summary, messages: scenario.messages, handled: 0)
        do {
            switch scenario.kind {
            case .raw, .rawCopy: try await runRaw(into: &result)
            case .sync, .batch, .async: try await runSluice(into: &result)
            case .idle: try await runIdle(into: &result)
            }
        } catch {
            result.error = "\(error)"
        }
        result.baselineRSSMegabytes = baseline
        result.peakRSSMegabytes = ProcessMetrics.peakRSSMegabytes()
        return result
    }

    private func kafkaConfiguration(group: String) -> KafkaConsumerConfiguration {
        var config = KafkaConsumerConfiguration(bootstrapServers: [spec.bootstrapServers], groupID: group)
        config.fetchWaitMax = .milliseconds(Int64(scenario.fetchWaitMillis))
        config.common.properties = spec.kafkaProperties
        return config
    }

    private var group: String { "sluice-bench-\(scenario.name)-\(ProcessInfo.processInfo.processIdentifier)" }

    // MARK: - The ceiling

    /// A bare poll loop on a dedicated thread: the most librdkafka delivers to one consumer here.
    private func runRaw(into result: inout BenchResult) async throws {
        let consumer = try KafkaConsumer(configuration: kafkaConfiguration(group: group), logger: logger)
        try consumer.subscribe(topics: [spec.topic])
        let recorder = CompletionRecorder(topic: spec.topic, endOffsets: spec.endOffsets, target: scenario.messages)
        let copy = scenario.kind == .rawCopy
        let target = scenario.messages
        let deadline = ContinuousClock.now.advanced(by: .seconds(spec.timeoutSeconds))
        try await onDedicatedThread(name: "sluice-bench-poll") {
            var count = 0
            while count < target, ContinuousClock.now < deadline {
                if copy {
                    guard let message = try consumer.poll(timeout: .milliseconds(100)) else { continue }
                    recorder.record(message)
                } else {
                    guard try consumer.pollDiscarding(timeout: .milliseconds(100)) else { continue }
                    recorder.recordUncopied()
                }
                count += 1
            }
        }
        let cpu = ProcessMetrics.cpuSeconds()
        try consumer.close(timeout: .seconds(10))
        fill(&result, recorder: recorder, cpu: cpu)
        if recorder.count < target {
            result.error = "polled \(recorder.count) of \(target) messages in \(spec.timeoutSeconds) s"
        }
    }

    // MARK: - Sluice

    private func runSluice(into result: inout BenchResult) async throws {
        var config = SluiceConfiguration(brokers: [spec.bootstrapServers], groupID: group, topics: [spec.topic])
        config.kafka = kafkaConfiguration(group: group)
        config.workers = scenario.workers
        config.maxInFlightMessages = scenario.window
        config.ordering = OrderingMode(scenario.ordering) ?? .unordered
        if scenario.batchSize > 0 { config.maxBatchSize = scenario.batchSize }
        let recorder = CompletionRecorder(topic: spec.topic, endOffsets: spec.endOffsets, target: scenario.messages)
        if scenario.spinMicros + scenario.callMicros > 0 { _ = SpinHandler.clockReadNanos }  // before the clock starts
        let consumer: SluiceConsumer
        switch scenario.kind {
        case .async:
            let sleep = Duration.microseconds(scenario.sleepMicros)
            consumer = try SluiceConsumer(
                configuration: config,
                asyncHandler: ClosureAsyncMessageHandler { message, _ in
                    try await Task.sleep(for: sleep)
                    recorder.record(message)
                },
                logger: logger)
        case .sync where scenario.isolation == "process", .batch where scenario.isolation == "process":
            // Workers are this executable in worker mode, serving the built-in spin (or spin-batch)
            // handler, set up as `sluice run --isolation process` sets up its own.
            let batches = scenario.kind == .batch
            let setup = batches
                ? WorkerSetup(
                    handler: "spin-batch", options: ["call-micros": "\(scenario.callMicros)", "micros": "\(scenario.spinMicros)"],
                    outputTopic: nil, logLevel: "warning")
                : WorkerSetup(handler: "spin", options: ["micros": "\(scenario.spinMicros + scenario.callMicros)"], outputTopic: nil, logLevel: "warning")
            var isolation = try IsolationOptions.parsed(from: ["--isolation", "process"])
                .processIsolation(setup: setup, group: group, environment: ProcessInfo.processInfo.environment)
            isolation.handlesBatches = batches
            consumer = try SluiceConsumer(configuration: config, isolation: isolation, logger: logger)
            return try await runIsolated(consumer, into: &result)
        case .batch:
            let (callMicros, micros) = (scenario.callMicros, scenario.spinMicros)
            consumer = try SluiceConsumer(
                configuration: config,
                batchHandler: ClosureBatchMessageHandler { messages, _ in
                    SpinHandler.spin(micros: callMicros + micros * messages.count)
                    for message in messages { recorder.record(message) }
                    return .done
                },
                logger: logger)
        default:
            let micros = scenario.spinMicros + scenario.callMicros
            let handler = ClosureMessageHandler { message, _ in
                SpinHandler.spin(micros: micros)
                recorder.record(message)
            }
            if scenario.workload == .synthetic {
                let (topic, endOffsets, run) = (spec.topic, spec.endOffsets, scenario.syntheticRun)
                consumer = try SluiceConsumer(
                    configuration: config, handler: handler,
                    source: { _, events in SyntheticMessageSource(topic: topic, endOffsets: endOffsets, events: events, runLength: run) },
                    logger: logger)
            } else {
                consumer = try SluiceConsumer(configuration: config, handler: handler, logger: logger)
            }
        }
        let ended = EndFlag()
        let task = Task {
            defer { ended.set() }
            try await consumer.run()
        }
        if scenario.trickleRate > 0 {
            // Arrivals start once the consumer owns every partition and its first fetches have
            // settled, so that none waits for the join and the first do not arrive as a burst.
            let assigned = try await waitUntil(seconds: 60) { consumer.statistics.partitions.count == spec.endOffsets.count || ended.isSet }
            try await Task.sleep(for: .seconds(1))
            if assigned, !ended.isSet { try startTrickle() }
        }
        let finished = try await waitUntil(seconds: spec.timeoutSeconds) { recorder.count >= scenario.messages || ended.isSet }
        let cpu = ProcessMetrics.cpuSeconds()
        consumer.stop(immediately: true)
        try await task.value
        fill(&result, recorder: recorder, cpu: cpu, statistics: consumer.statistics)
        let latency = consumer.statistics.latency
        result.pollToDoneP50Milliseconds = latency.percentile(0.5).map(Self.milliseconds)
        result.pollToDoneP99Milliseconds = latency.percentile(0.99).map(Self.milliseconds)
        let waits = recorder.commitPointWaits()
        result.doneToCommitPointP50Milliseconds = waits.percentile(0.5).map(Self.milliseconds)
        result.doneToCommitPointP99Milliseconds = waits.percentile(0.99).map(Self.milliseconds)
        if !finished {
            result.error = "handled \(recorder.count) of \(scenario.messages) messages in \(spec.timeoutSeconds) s"
        }
    }

    /// A consumer whose handler runs in worker processes: it cannot record each message, so the
    /// rate is the engine's own (first admission to last completion); CPU is the consumer's only.
    private func runIsolated(_ consumer: SluiceConsumer, into result: inout BenchResult) async throws {
        let ended = EndFlag()
        let task = Task {
            defer { ended.set() }
            try await consumer.run()
        }
        let finished = try await waitUntil(seconds: spec.timeoutSeconds) {
            consumer.statistics.completed >= scenario.messages || ended.isSet
        }
        consumer.stop(immediately: true)
        try await task.value
        let stats = consumer.statistics
        result.handled = stats.completed
        result.messagesPerSecond = stats.handledPerSecond
        result.idealMessagesPerSecond = scenario.ideal
        if stats.batches > 0 { result.meanBatchSize = Double(stats.batchedMessages) / Double(stats.batches) }
        result.cpuSeconds = ProcessMetrics.cpuSeconds()
        result.pollToDoneP50Milliseconds = stats.latency.percentile(0.5).map(Self.milliseconds)
        result.pollToDoneP99Milliseconds = stats.latency.percentile(0.99).map(Self.milliseconds)
        if !finished {
            result.error = "handled \(stats.completed) of \(scenario.messages) messages in \(spec.timeoutSeconds) s"
        } else if stats.failed > 0 {
            result.error = "\(stats.failed) messages failed in the worker processes"
        }
    }

    /// Writes the scenario's messages at ``BenchScenario/trickleRate``, round robin over the
    /// partitions, one at a time and unbatched (`linger.ms=0`), on a thread of its own.
    private func startTrickle() throws {
        var config = KafkaProducerConfiguration(bootstrapServers: [spec.bootstrapServers])
        config.linger = .zero
        let producer = try KafkaProducer(configuration: config, logger: logger)
        let (topic, partitions, count, rate) = (spec.topic, spec.endOffsets.count, scenario.messages, scenario.trickleRate)
        let logger = logger
        let thread = Thread {
            let value = [UInt8](repeating: UInt8(ascii: "x"), count: 100)
            let start = MonotonicInstant.now.nanoseconds
            for index in 0..<count {
                let due = start + Int64(index) * 1_000_000_000 / Int64(rate)
                let wait = due - MonotonicInstant.now.nanoseconds
                if wait > 0 { Thread.sleep(forTimeInterval: Double(wait) / 1e9) }
                let message = KafkaProducerMessage(
                    topic: topic, partition: Int32(index % partitions), key: Array("key-\(index)".utf8), value: value)
                do {
                    try producer.produce(message, blockWhenQueueFull: true) { _ in }
                } catch {
                    logger.error("trickle: producing failed: \(error)")
                    break
                }
            }
            try? producer.close(timeout: .seconds(30))
        }
        thread.name = "sluice-bench-trickle"
        thread.start()
    }

    // MARK: - Idle

    /// A consumer assigned every partition of an empty topic: CPU over `idleSeconds`.
    private func runIdle(into result: inout BenchResult) async throws {
        var config = SluiceConfiguration(brokers: [spec.bootstrapServers], groupID: group, topics: [spec.topic])
        config.kafka = kafkaConfiguration(group: group)
        let consumer = try SluiceConsumer(configuration: config, handler: ClosureMessageHandler { _, _ in }, logger: logger)
        let task = Task { try await consumer.run() }
        let partitions = spec.endOffsets.count
        let assigned = try await waitUntil(seconds: 60) { consumer.statistics.partitions.count == partitions }
        guard assigned else {
            consumer.stop(immediately: true)
            try await task.value
            throw SluiceError(code: .kafka, message: "the idle consumer got no assignment within 60 s")
        }
        try await Task.sleep(for: .seconds(1))  // let the first fetches settle
        let before = ProcessMetrics.cpuSeconds()
        let start = ContinuousClock.now
        try await Task.sleep(for: .seconds(scenario.idleSeconds))
        let elapsed = Self.seconds(start.duration(to: .now))
        result.idleCPUPercent = (ProcessMetrics.cpuSeconds() - before) / elapsed * 100
        result.cpuSeconds = ProcessMetrics.cpuSeconds()
        consumer.stop()
        try await task.value
    }

    // MARK: - Helpers

    private func fill(_ result: inout BenchResult, recorder: CompletionRecorder, cpu: Double, statistics: SluiceStatistics? = nil) {
        if let statistics, statistics.batches > 0 {
            result.meanBatchSize = Double(statistics.batchedMessages) / Double(statistics.batches)
        }
        result.handled = recorder.count
        result.seconds = recorder.seconds
        result.messagesPerSecond = recorder.seconds.flatMap { $0 > 0 ? Double(scenario.messages) / $0 : nil }
        result.steadyMessagesPerSecond = recorder.steadyRate
        result.idealMessagesPerSecond = scenario.ideal
        result.cpuSeconds = cpu
        if let window = recorder.cpuSeconds, scenario.messages > 1 {
            result.cpuMicrosPerMessage = window * 1e6 / Double(scenario.messages - 1)
            result.allocationsPerMessage = recorder.allocations.map { Double($0) / Double(scenario.messages - 1) }
            if scenario.kind == .sync, scenario.spinMicros + scenario.callMicros > 0, window > 0 {
                result.handlerCPUShare = Double(scenario.spinMicros + scenario.callMicros) * Double(scenario.messages - 1) / (window * 1e6)
            } else if scenario.kind == .batch, let batch = result.meanBatchSize, window > 0 {
                // The handler's cost per message with the batches it got.
                result.handlerCPUShare = (Double(scenario.callMicros) / batch + Double(scenario.spinMicros)) * Double(scenario.messages - 1) / (window * 1e6)
            }
        }
        if recorder.strayCount > 0 {
            result.error = "\(recorder.strayCount) messages were handled twice or were not expected"
        }
    }

    /// Checks `condition` every 10 ms until it holds (true) or `seconds` pass (false).
    private func waitUntil(seconds: Double, _ condition: () -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now.advanced(by: .seconds(seconds))
        while !condition() {
            guard ContinuousClock.now < deadline else { return false }
            try await Task.sleep(for: .milliseconds(10))
        }
        return true
    }

    /// Runs blocking work on a thread of its own, not on Swift's cooperative pool.
    private func onDedicatedThread(name: String, _ body: @escaping @Sendable () throws -> Void) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let thread = Thread {
                do {
                    try body()
                    continuation.resume()
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.name = name
            thread.start()
        }
    }

    /// Set once a consumer's `run()` has returned or thrown.
    private final class EndFlag: Sendable {
        private let flag = Atomic<Bool>(false)
        func set() { flag.store(true, ordering: .releasing) }
        var isSet: Bool { flag.load(ordering: .acquiring) }
    }

    /// A duration in seconds.
    static func seconds(_ duration: Duration) -> Double {
        duration.inSeconds
    }

    /// A duration in milliseconds.
    static func milliseconds(_ duration: Duration) -> Double {
        seconds(duration) * 1_000
    }
}
