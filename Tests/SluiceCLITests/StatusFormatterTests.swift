//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Sluice
@testable import SluiceCLI
import Testing

struct StatusFormatterTests {
    /// A zero snapshot from a consumer that never ran (it connects nowhere until `run()`).
    private func emptyStatistics() throws -> SluiceStatistics {
        let consumer = try SluiceConsumer(
            configuration: SluiceConfiguration(brokers: ["127.0.0.1:1"], groupID: "g", topics: ["t"]), handler: NoopHandler())
        return consumer.statistics
    }

    @Test func lineShowsCountsRatesWindowLagAndCommits() throws {
        let previous = try emptyStatistics()
        var current = previous
        current.takenAt = previous.takenAt.advanced(by: .seconds(2))
        current.consumed = 120_000
        current.completed = 119_800
        current.inFlightMessages = 212
        current.inFlightBytes = 21_700
        current.commits = 12
        let line = StatusFormatter.line(previous: previous, current: current)
        #expect(line == "consumed 120.0k (60.0k/s) · handled 119.8k (59.9k/s) · in flight 212 (21.2 KB) · lag 0 · commits 12")
    }

    @Test func lineAddsFailuresAndAPausedWindow() throws {
        let previous = try emptyStatistics()
        var current = previous
        current.takenAt = previous.takenAt.advanced(by: .seconds(1))
        current.failed = 3
        current.isPaused = true
        let line = StatusFormatter.line(previous: previous, current: current)
        #expect(line.hasSuffix("· failed 3 · PAUSED (window full)"))
        #expect(!StatusFormatter.line(previous: previous, current: previous).contains("failed"))
    }

    @Test func summaryCountsBatchCallsAndTopicsHaveALineEach() throws {
        var stats = try emptyStatistics()
        stats.completed = 300
        stats.batches = 4
        stats.batchedMessages = 310
        #expect(StatusFormatter.summary(stats, elapsed: .seconds(1)).split(separator: "\n")
            .contains("batches    4 calls of a batch handler, 310 messages, 77.5 per call"))
        #expect(!StatusFormatter.summary(try emptyStatistics(), elapsed: .seconds(1)).contains("batches"))
        var audit = TopicCounters()
        audit.consumed = 500
        audit.handled = 490
        audit.failed = 10
        audit.retried = 10
        audit.deadLettered = 10
        var orders = TopicCounters()
        orders.consumed = 7
        orders.handled = 7
        stats.topics = ["orders": orders, "audit.eu": audit]
        #expect(StatusFormatter.topics(stats) == """
            topic      audit.eu: consumed 500, handled 490, failed 10, retried 10, skipped 0, dead-lettered 10
            topic      orders: consumed 7, handled 7, failed 0, retried 0, skipped 0, dead-lettered 0
            """)
    }

    @Test func summaryReportsHandledCountsLatencyAndFailures() throws {
        var stats = try emptyStatistics()
        stats.completed = 5_000
        stats.consumed = 5_010
        stats.failed = 2
        stats.commits = 7
        stats.commitFailures = 1
        stats.rebalances = 1
        // A run of 4 s: 1 s to start and join, 2 s from the first message to the last, 1 s to stop.
        stats.firstAdmittedAt = stats.takenAt.advanced(by: .seconds(-3))
        stats.lastCompletedAt = stats.takenAt.advanced(by: .seconds(-1))
        for micros in [500, 1_000, 2_000, 40_000] { stats.latency.record(.microseconds(micros)) }
        let lines = StatusFormatter.summary(stats, elapsed: .seconds(4)).split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines[0] == "handled    5000 in 2.0 s (2500/s, first message to last); run 4.0 s including start-up and group join 1.0 s")
        #expect(lines[1] == "consumed   5010, failed 2, commits 7 (1 failed), rebalances 1, pauses 0")
        #expect(lines[2].hasPrefix("latency    poll → done p50 "))
        #expect(lines[2].contains("max 40.0 ms"))
    }

    @Test func summaryWithoutLatencyOmitsThatLine() throws {
        let lines = StatusFormatter.summary(try emptyStatistics(), elapsed: .zero).split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[0] == "handled    0; run 0.0 s")
    }

    @Test func summaryNamesPartitionsWhoseCommitIsBehindTheEndOffsets() throws {
        let stats = try emptyStatistics()
        let end = [TopicPartition(topic: "t", partition: 1): Int64(10), TopicPartition(topic: "t", partition: 0): 5]
        let summary = StatusFormatter.summary(stats, elapsed: .seconds(1), endOffsets: end)
        #expect(summary.hasSuffix("committed  0 of end offsets 15; behind on t[0-1]"))
    }

    @Test func progressShowsTheBarTheRateAndTheTimeLeft() throws {
        let previous = try emptyStatistics()
        var current = previous
        current.takenAt = previous.takenAt.advanced(by: .seconds(1))
        current.completed = 50_000
        #expect(StatusFormatter.progress(previous: previous, current: current, total: 200_000, width: 10)
            == "[██░░░░░░░░]  25% 50.0k/200.0k 50.0k/s ETA 3.0 s")
        #expect(StatusFormatter.progress(previous: current, current: current, total: 200_000, width: 10).hasSuffix("0/s ETA –"))
    }

    @Test(arguments: [
        ([("orders", 0...15)], "orders[0-15]"),
        ([("orders", 0...3), ("orders", 7...7), ("a", 2...2)], "a[2], orders[0-3,7]"),
        ([("t", 5...5), ("t", 5...6)], "t[5-6]"),
        ([], "[]"),
    ] as [([(String, ClosedRange<Int32>)], String)])
    func partitionListsAreCompressedToRanges(runs: [(String, ClosedRange<Int32>)], expected: String) {
        let partitions = runs.flatMap { topic, range in range.map { TopicPartition(topic: topic, partition: $0) } }
        #expect(partitions.reversed().compactDescription == expected)
    }
}
