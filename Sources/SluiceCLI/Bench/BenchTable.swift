//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import Foundation

/// The table `sluice bench` prints without `--json`.
enum BenchTable {
    /// The report as aligned text: one row per throughput scenario, then idle CPU and notes.
    static func render(_ report: BenchReport) -> String {
        // The allocation column only when counted (`AllocationCounter`).
        let countsAllocations = report.scenarios.contains { $0.allocationsPerMessage != nil }
        var header = [
            "scenario", "handled", "msg/s", "2nd half", "×ceiling", "×ideal", "p50 ms", "p99 ms", "commit p99",
            "CPU µs/msg", "in handler", "peak RSS",
        ]
        if countsAllocations { header.append("allocs/msg") }
        var rows: [[String]] = []
        var lines: [String] = []
        for result in report.scenarios where result.idleCPUPercent == nil && !(result.error != nil && result.handled == 0) {
            var row = [
                result.name, "\(result.handled)", rate(result.messagesPerSecond), rate(result.steadyMessagesPerSecond),
                ratio(result.ratioToCeiling), ratio(result.ratioToIdeal),
                number(result.pollToDoneP50Milliseconds), number(result.pollToDoneP99Milliseconds),
                number(result.doneToCommitPointP99Milliseconds), number(result.cpuMicrosPerMessage),
                ratio(result.handlerCPUShare),
                result.peakRSSMegabytes.map { String(format: "%.0f MB", $0) } ?? "-",
            ]
            if countsAllocations { row.append(number(result.allocationsPerMessage)) }
            rows.append(row)
        }
        var widths = header.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                let pad = String(repeating: " ", count: widths[index] - cell.count)
                return index == 0 ? cell + pad : pad + cell
            }.joined(separator: "  ")
        }
        lines.append(line(header))
        lines += rows.map(line)
        lines.append("")
        for result in report.scenarios {
            if let idle = result.idleCPUPercent {
                let rss = result.peakRSSMegabytes.map { String(format: "%.0f MB", $0) } ?? "-"
                lines.append("\(result.name): \(String(format: "%.2f", idle))% of one core (\(result.summary); peak RSS \(rss))")
            }
        }
        for result in report.scenarios {
            if let error = result.error { lines.append("\(result.name) FAILED: \(error)") }
        }
        for result in report.scenarios where result.idleCPUPercent == nil && result.error == nil {
            lines.append("\(result.name): \(result.summary)")
        }
        for result in report.scenarios {
            guard let other = result.comparedWith, let ratio = result.ratioToCompared else { continue }
            let batch = result.meanBatchSize.map { String(format: ", %.1f messages per call", $0) } ?? ""
            lines.append("\(result.name): \(String(format: "%.2f", ratio)) × the msg/s of \(other) in this run\(batch)")
        }
        lines.append("")
        lines.append("msg/s from the first handled message to the last; ×ceiling: over the raw poll loop of this run;")
        lines.append("×ideal: over workers/cost or in-flight/sleep; p50/p99: poll → done (engine histogram);")
        lines.append("commit p99: done → commit point; CPU µs/msg: the scenario process's CPU time per message while")
        lines.append("it ran; in handler: the share of it spent spinning in the handler (depends little on other load);")
        lines.append("peak RSS: VmHWM of the scenario's own process (the broker runs in the parent).")
        if countsAllocations {
            lines.append("allocs/msg: malloc calls of the scenario's process per message (malloc-interposer preloaded).")
        }
        if !report.spinCosts.isEmpty {
            let costs = report.spinCosts.map { "\(BenchScenario.format(micros: $0.nominalMicros)) costs \(String(format: "%.2f", $0.measuredMicros)) µs" }
            lines.append("spin check (thread CPU per spin, in this process): \(costs.joined(separator: ", ")).")
        }
        let load = [report.loadAverageAtStart, report.loadAverageAtEnd].map { $0.map { String(format: "%.2f", $0) } ?? "?" }
        lines.append("\(report.cores) cores, load average \(load[0]) at the start, \(load[1]) at the end.")
        return lines.joined(separator: "\n")
    }

    private static func rate(_ value: Double?) -> String {
        guard let value else { return "-" }
        if value >= 10_000 { return String(format: "%.0fk", value / 1_000) }
        return String(format: "%.0f", value)
    }

    private static func ratio(_ value: Double?) -> String {
        value.map { String(format: "%.2f", $0) } ?? "-"
    }

    private static func number(_ value: Double?) -> String {
        guard let value else { return "-" }
        return value >= 100 ? String(format: "%.0f", value) : value >= 10 ? String(format: "%.1f", value) : String(format: "%.2f", value)
    }
}
