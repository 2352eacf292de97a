//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

@testable import SluiceCLI
import Testing

/// The table `sluice bench` prints: the allocation column appears only when allocations were
/// counted (malloc-interposer preloaded), so that a run without it shows no empty column.
@Suite struct BenchTableTests {
    private func report(allocations: Double?) -> BenchReport {
        var noop = BenchResult(name: "noop-unordered", summary: "no-op", messages: 1_000, handled: 1_000)
        noop.messagesPerSecond = 500_000
        noop.cpuMicrosPerMessage = 1.25
        noop.allocationsPerMessage = allocations
        let raw = BenchResult(name: "raw", summary: "the ceiling", messages: 1_000, handled: 1_000)
        return BenchReport(
            command: "sluice bench", cores: 2, smallMessages: 1_000, smallPartitions: 16, largeMessages: 0,
            largePartitions: 0, scenarios: [raw, noop])
    }

    @Test func countedAllocationsGetAColumnAndAFootnote() throws {
        let lines = BenchTable.render(report(allocations: 6.0625)).split(separator: "\n").map(String.init)
        #expect(lines[0].hasSuffix("allocs/msg"), "\(lines[0])")
        let noop = try #require(lines.first { $0.hasPrefix("noop-unordered ") })
        #expect(noop.hasSuffix(" 6.06"), "\(noop)")
        let raw = try #require(lines.first { $0.hasPrefix("raw ") })
        #expect(raw.hasSuffix(" -"), "a row without a count shows a dash: \(raw)")
        #expect(lines.contains { $0.hasPrefix("allocs/msg: malloc calls") })
    }

    @Test func withoutCountsThereIsNoAllocationColumn() {
        let text = BenchTable.render(report(allocations: nil))
        #expect(!text.contains("allocs/msg"))
        #expect(text.split(separator: "\n")[0].hasSuffix("peak RSS"))
    }

    @Test func theSpinCheckLineGivesEachSpinsMeasuredCost() {
        var report = report(allocations: nil)
        #expect(!BenchTable.render(report).contains("spin check"), "no spinning scenario, no line")
        report.spinCosts = [
            BenchReport.SpinCost(nominalMicros: 10, measuredMicros: 10.214),
            BenchReport.SpinCost(nominalMicros: 1_000, measuredMicros: 1_000.5),
        ]
        let line = BenchTable.render(report).split(separator: "\n").first { $0.hasPrefix("spin check") }
        #expect(line == "spin check (thread CPU per spin, in this process): 10 µs costs 10.21 µs, 1 ms costs 1000.50 µs.")
    }

    @Test func theSpinCostsMeasuredAreTheScenariosPerMessageAndPerCallSpins() {
        let sizes = BenchScenario.Sizes(messages: 1_000, seconds: 1, largeMessages: 100, idleSeconds: 1)
        let scenarios = BenchScenario.catalogue(sizes).filter { ["noop-unordered", "spin-10us-2w", "spin-call-cost", "spin-batch-10x"].contains($0.name) }
        #expect(scenarios.count == 4)
        let costs = BenchRunner.measureSpinCosts(of: scenarios)
        #expect(costs.map(\.nominalMicros) == [5, 10, 100])
        for cost in costs {
            // Thread CPU time: a spin cannot take less than its nominal time less the two clock
            // reads it takes off (its doc comment), whatever else runs on the machine.
            let floor = Double(cost.nominalMicros) - Double(2 * SpinHandler.clockReadNanos) / 1_000
            #expect(cost.measuredMicros >= floor, "\(cost)")
        }
    }
}
