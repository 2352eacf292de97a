//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// What one scenario measured: one row of the table, one element of `scenarios` in the JSON.
///
/// Rates run from the first handled message to the last, so the ~3 s group join is not counted.
/// Latencies are in milliseconds; memory in MiB; ratios are plain fractions (1 = as fast as the
/// ceiling or the ideal).
struct BenchResult: Codable, Sendable {
    /// The scenario's name (`--scenarios`).
    var name: String
    /// What ran, in words.
    var summary: String
    /// Messages the scenario was to handle.
    var messages: Int
    /// Messages handled (each counted once) when the measurement ended.
    var handled: Int
    /// Seconds from the first handled message to the last.
    var seconds: Double?
    /// Handled messages per second over ``seconds``.
    var messagesPerSecond: Double?
    /// The rate over the second half of the messages (librdkafka's first prefetch is over by then).
    var steadyMessagesPerSecond: Double?
    /// `workers / cost` or `in-flight / sleep`, when the handler has a cost.
    var idealMessagesPerSecond: Double?
    /// ``messagesPerSecond`` over the raw poll loop's rate of the same run.
    var ratioToCeiling: Double?
    /// ``messagesPerSecond`` over ``idealMessagesPerSecond``.
    var ratioToIdeal: Double?
    /// Poll → done (handler returned and recorded by the engine): median and 99th percentile,
    /// from the engine's own histogram.
    var pollToDoneP50Milliseconds: Double?
    /// See ``pollToDoneP50Milliseconds``.
    var pollToDoneP99Milliseconds: Double?
    /// Done → the partition's commit point passes the message (every lower offset is done too):
    /// median and 99th percentile, from the handler's completion times.
    var doneToCommitPointP50Milliseconds: Double?
    /// See ``doneToCommitPointP50Milliseconds``.
    var doneToCommitPointP99Milliseconds: Double?
    /// Peak resident memory of the scenario's process (`VmHWM`), broker excluded.
    var peakRSSMegabytes: Double?
    /// Resident memory of that process before it created its consumer.
    var baselineRSSMegabytes: Double?
    /// CPU time of the scenario's process from its start to the end of the measurement.
    var cpuSeconds: Double?
    /// CPU time of the scenario's process per message from the first handled message to the
    /// last, in µs: what the consumer costs, whatever else runs on the machine.
    var cpuMicrosPerMessage: Double?
    /// `malloc`-family calls of the scenario's process per message over the same span, when
    /// `sluice bench` runs with ordo-one's malloc-interposer preloaded (``AllocationCounter``).
    var allocationsPerMessage: Double?
    /// For a spinning handler: the share of that CPU time spent in the handler's own work
    /// (cost × messages / CPU time). Unlike the rate, it does not depend on how many cores the
    /// rest of the machine leaves free: 1 − share is what the engine and librdkafka cost.
    var handlerCPUShare: Double?
    /// For a batch handler: messages per call, on average (the engine's count).
    var meanBatchSize: Double?
    /// The scenario this one is set against in the same run (``BenchScenario/comparedWith``).
    var comparedWith: String?
    /// ``messagesPerSecond`` over that scenario's.
    var ratioToCompared: Double?
    /// For `idle` scenarios: CPU used while assigned with nothing to consume, in % of one core.
    var idleCPUPercent: Double?
    /// Why the scenario failed, when it did.
    var error: String?
}

/// The whole output of `sluice bench --json`.
struct BenchReport: Codable, Sendable {
    /// The command line that produced it.
    var command: String
    /// Active processor cores.
    var cores: Int
    /// 1-minute load average when the run started and when it ended.
    var loadAverageAtStart: Double?
    /// See ``loadAverageAtStart``.
    var loadAverageAtEnd: Double?
    /// Messages written to the 100-byte topic, its partitions; the same for the 1 KiB topic.
    var smallMessages: Int
    /// See ``smallMessages``.
    var smallPartitions: Int
    /// See ``smallMessages``.
    var largeMessages: Int
    /// See ``smallMessages``.
    var largePartitions: Int
    /// The raw poll loop's rate: what ``BenchResult/ratioToCeiling`` divides by.
    var ceilingMessagesPerSecond: Double?
    /// One entry per scenario, in the order they ran.
    var scenarios: [BenchResult]
    /// What the spinning handlers' spins cost on this machine, measured in the bench's own
    /// process before the scenarios ran; empty when no scenario spins.
    var spinCosts: [SpinCost] = []

    /// The measured thread CPU time of one spin of a nominal cost.
    struct SpinCost: Codable, Sendable {
        /// The cost asked for, in µs: what the ideal assumes.
        var nominalMicros: Int
        /// The thread CPU time one such spin took, in µs.
        var measuredMicros: Double
    }
}
