//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import _SluiceTime
internal import Foundation
public import Sluice
internal import SluiceProcessPool

/// Turns statistics into the periodic status line and the final summary.
public enum StatusFormatter {
    /// One status line from two snapshots, e.g.
    /// `consumed 120.0k (41.2k/s) · handled 119.8k (41.0k/s) · in flight 212 (21.2 KB) · lag 3.1k · commits 12`.
    public static func line(previous: SluiceStatistics, current: SluiceStatistics) -> String {
        let seconds = max(0.001, previous.takenAt.duration(to: current.takenAt).inSeconds)
        let consumedRate = Double(current.consumed - previous.consumed) / seconds
        let handledRate = Double(current.completed - previous.completed) / seconds
        var parts = [
            "consumed \(count(current.consumed)) (\(count(consumedRate))/s)",
            "handled \(count(current.completed)) (\(count(handledRate))/s)",
            "in flight \(current.inFlightMessages) (\(bytes(current.inFlightBytes)))",
            "lag \(count(current.totalLag))",
            "commits \(current.commits)",
        ]
        if current.failed > 0 { parts.append("failed \(count(current.failed))") }
        if current.retried > 0 { parts.append("retried \(count(current.retried))") }
        if current.deadLettered > 0 { parts.append("dead-lettered \(count(current.deadLettered))") }
        if current.isPaused { parts.append("PAUSED (window full)") }
        if let held = heldBack(current) { parts.append(held) }
        return parts.joined(separator: " · ")
    }

    /// The worst partition whose oldest unfinished message holds finished ones behind it, if it
    /// has waited a second or more: `oldest unfinished orders[3]@1200 for 42 s (2 partitions at span bound)`.
    static func heldBack(_ stats: SluiceStatistics) -> String? {
        let holding = stats.partitions.filter { $0.trackedOffsets > $0.outstanding }
        guard let worst = holding.max(by: { ($0.oldestUnfinishedAge ?? .zero) < ($1.oldestUnfinishedAge ?? .zero) }),
            let age = worst.oldestUnfinishedAge, age >= .seconds(1), let offset = worst.commitPoint
        else { return nil }
        let atBound = stats.partitions.count { $0.isPausedBySpan }
        return "oldest unfinished \(worst.topicPartition)@\(offset) for \(format(age))"
            + (atBound > 0 ? " (\(atBound) partition\(atBound == 1 ? "" : "s") at span bound)" : "")
    }

    /// A progress bar towards `total` handled messages with the rate over the last interval and
    /// the time left at that rate, e.g. `[███████░░░░░░░░░░░░░]  35% 70.0k/200.0k 51.2k/s ETA 2.5 s`.
    public static func progress(previous: SluiceStatistics, current: SluiceStatistics, total: Int, width: Int = 20) -> String {
        let done = min(current.completed, total)
        let fraction = total > 0 ? Double(done) / Double(total) : 1
        let filled = Int((fraction * Double(width)).rounded(.down))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        let seconds = previous.takenAt.duration(to: current.takenAt).inSeconds
        let rate = seconds > 0 ? Double(current.completed - previous.completed) / seconds : 0
        let eta = done >= total ? "0 s" : rate > 0 ? String(format: "%.1f s", Double(total - done) / rate) : "–"
        return "[\(bar)] \(String(format: "%3.0f%%", fraction * 100)) \(count(done))/\(count(total)) \(count(rate))/s ETA \(eta)"
    }

    /// The summary printed when a run ends; `elapsed` is the whole run, from start-up to the end.
    ///
    /// Its first line says which interval each figure covers, e.g.
    /// `handled    10000 in 5.1 s (1955/s, first message to last); run 8.3 s including start-up and group join 3.2 s`:
    /// the rate is over the busy period, not over the whole run.
    public static func summary(_ stats: SluiceStatistics, elapsed: Duration, endOffsets: [TopicPartition: Int64]? = nil) -> String {
        var lines = [handledLine(stats, elapsed: elapsed),
            "consumed   \(stats.consumed), failed \(stats.failed), commits \(stats.commits) (\(stats.commitFailures) failed), rebalances \(stats.rebalances), pauses \(stats.pauses)",
        ]
        if stats.retried + stats.skipped + stats.deadLettered + stats.deadLettering + stats.timedOut + stats.interrupted > 0 {
            lines.append(
                "failures   retried \(stats.retried), timed out \(stats.timedOut), skipped \(stats.skipped), dead-lettered \(stats.deadLettered)"
                    + (stats.deadLettering > 0 ? " (\(stats.deadLettering) unacknowledged)" : "")
                    + (stats.interrupted > 0 ? ", run again after a worker was stopped from outside \(stats.interrupted)" : ""))
        }
        if stats.finishedBeforeRestart + stats.spanPauses > 0 {
            lines.append(
                "replay     skipped \(stats.finishedBeforeRestart) finished before the restart; partitions paused at the span bound \(stats.spanPauses) times")
        }
        if stats.batches > 0 {
            lines.append(
                "batches    \(stats.batches) calls of a batch handler, \(stats.batchedMessages) messages, "
                    + String(format: "%.1f per call", Double(stats.batchedMessages) / Double(stats.batches)))
        }
        if let p50 = stats.latency.percentile(0.5), let p99 = stats.latency.percentile(0.99) {
            lines.append("latency    poll → done p50 \(format(p50)), p99 \(format(p99)), max \(format(stats.latency.max))")
        }
        if let endOffsets {
            let mismatched = endOffsets.keys.sorted().filter { tp in
                stats.partitions.first { $0.topicPartition == tp }?.committed != endOffsets[tp]
            }
            let committed = stats.partitions.compactMap(\.committed).reduce(0, +)
            let end = endOffsets.values.reduce(0, +)
            lines.append(mismatched.isEmpty
                ? "committed  \(committed) = end offsets \(end) on all \(endOffsets.count) partitions"
                : "committed  \(committed) of end offsets \(end); behind on \(mismatched.compactDescription)")
        }
        return lines.joined(separator: "\n")
    }

    /// `handled    N in B s (R/s, first message to last); run T s including start-up and group join J s`.
    private static func handledLine(_ stats: SluiceStatistics, elapsed: Duration) -> String {
        let run = "run \(seconds(elapsed))"
        guard stats.completed > 0, let first = stats.firstAdmittedAt, let last = stats.lastCompletedAt else {
            return "handled    \(stats.completed); \(run)"
        }
        let busy = first.duration(to: last)
        let rate = stats.handledPerSecond.map { "\(count($0))/s, " } ?? ""
        // The run started `elapsed` before the snapshot was taken (it is taken as the run ends).
        let started = stats.takenAt.advanced(by: .zero - elapsed)
        let beforeFirst = max(.zero, started.duration(to: first))
        return "handled    \(stats.completed) in \(seconds(busy)) (\(rate)first message to last); "
            + "\(run) including start-up and group join \(seconds(beforeFirst))"
    }

    /// `8.3 s`.
    private static func seconds(_ duration: Duration) -> String {
        String(format: "%.1f s", max(0, duration.inSeconds))
    }

    /// The summary line of worker processes (`--isolation process`).
    static func workers(_ stats: ProcessPoolStatistics) -> String {
        "workers    started \(stats.workersStarted), recycled \(stats.workersRecycled), crashed \(stats.workersCrashed), "
            + "exited \(stats.workersExited), timed out \(stats.workersTimedOut)"
    }

    /// One summary line per topic, by name (with `--route`s, where topics have handlers of their
    /// own): `topic      audit.eu: consumed 500, handled 490, failed 10, retried 10, skipped 0, dead-lettered 10`.
    static func topics(_ stats: SluiceStatistics) -> String {
        stats.topics.keys.sorted().map { topic in
            let counts = stats.topics[topic]!
            return "topic      \(topic): consumed \(counts.consumed), handled \(counts.handled), failed \(counts.failed), "
                + "retried \(counts.retried), skipped \(counts.skipped), dead-lettered \(counts.deadLettered)"
        }.joined(separator: "\n")
    }

    /// 1234 → `1.2k`, 1234567 → `1.23M`.
    static func count<N: BinaryInteger>(_ value: N) -> String { count(Double(value)) }

    static func count(_ value: Double) -> String {
        switch abs(value) {
        case 1_000_000...: String(format: "%.2fM", value / 1_000_000)
        case 10_000...: String(format: "%.1fk", value / 1_000)
        default: String(format: "%.0f", value)
        }
    }

    static func bytes(_ value: Int) -> String {
        switch value {
        case (1 << 20)...: String(format: "%.1f MB", Double(value) / Double(1 << 20))
        case (1 << 10)...: String(format: "%.1f KB", Double(value) / Double(1 << 10))
        default: "\(value) B"
        }
    }

    static func format(_ duration: Duration) -> String {
        let seconds = duration.inSeconds
        switch seconds {
        case 1...: return String(format: "%.2f s", seconds)
        case 0.001...: return String(format: "%.1f ms", seconds * 1_000)
        default: return String(format: "%.0f µs", seconds * 1_000_000)
        }
    }
}
