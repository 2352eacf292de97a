//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Testing

/// `sluice bench` end to end with tiny counts: the shape of its JSON and the counts, never its
/// figures (benchmarks print times; tests never assert on them).
extension ProcessTests {
    @Suite struct Bench {
        /// The part of `sluice bench --json` these tests read.
        struct Report: Decodable {
            struct Scenario: Decodable {
                var name: String
                var messages: Int
                var handled: Int
                var messagesPerSecond: Double?
                var ratioToCeiling: Double?
                var ratioToIdeal: Double?
                var idealMessagesPerSecond: Double?
                var pollToDoneP50Milliseconds: Double?
                var pollToDoneP99Milliseconds: Double?
                var doneToCommitPointP99Milliseconds: Double?
                var peakRSSMegabytes: Double?
                var cpuSeconds: Double?
                var error: String?
            }
            var command: String
            var smallMessages: Int
            var smallPartitions: Int
            var ceilingMessagesPerSecond: Double?
            var scenarios: [Scenario]
        }

        @Test func jsonReportsEveryChosenScenarioWithEveryMessageHandledOnce() async throws {
            let (code, process) = try await SluiceProcess.run(
                ["bench", "--json", "--scenarios", "raw,noop-unordered,spin-10us-2w,spin-1ms-2w-process", "--messages", "3000",
                 "--seconds", "0.05", "-X", "ssl.key.password=B3nchS3cr3t"],
                within: .seconds(240))
            #expect(code == 0, "\(process.transcript)")
            let json = process.stdout.joined(separator: "\n")
            let report = try JSONDecoder().decode(Report.self, from: Data(json.utf8))

            #expect(report.command.hasPrefix("sluice bench --json"))
            // A secret -X property reaches the scenario processes in their environment, and shows nowhere.
            #expect(report.command.hasSuffix("-X ssl.key.password=***"), "\(report.command)")
            #expect(!(process.stdout + process.stderr).joined().contains("B3nchS3cr3t"))
            #expect(report.smallMessages == 3_000)
            #expect(report.smallPartitions >= 16)
            #expect(report.ceilingMessagesPerSecond != nil)
            let names = report.scenarios.map(\.name)
            #expect(names == ["raw", "noop-unordered", "spin-10us-2w", "spin-1ms-2w-process"])

            for scenario in report.scenarios {
                #expect(scenario.error == nil, "\(scenario.name): \(scenario.error ?? "")")
                #expect(scenario.messagesPerSecond != nil, "\(scenario.name)")
                #expect(scenario.peakRSSMegabytes != nil, "\(scenario.name)")
            }
            // Worker processes' CPU is not the scenario's: the column is empty for them.
            #expect(report.scenarios.prefix(3).allSatisfy { $0.cpuSeconds != nil })
            // 1 ms × 2 worker processes: 2k/s ideal; 0.05 s of it is 100 messages.
            let isolated = report.scenarios[3]
            #expect(isolated.messages == 100)
            #expect(isolated.handled >= 100, "the window in flight at the stop is handled too")
            // Reading the whole topic: every message produced is handled, none twice (a message
            // handled twice is reported as an error above).
            let raw = try #require(report.scenarios.first)
            #expect(raw.messages == 3_000)
            #expect(raw.handled == 3_000)
            let noop = report.scenarios[1]
            #expect(noop.messages == 3_000)
            #expect(noop.handled == 3_000)
            #expect(noop.ratioToCeiling != nil)
            #expect(noop.pollToDoneP50Milliseconds != nil)
            #expect(noop.pollToDoneP99Milliseconds != nil)
            #expect(noop.doneToCommitPointP99Milliseconds != nil)
            // 10 µs × 2 workers: 200k/s ideal; 0.05 s of it is 10k messages, capped at --messages.
            let spin = report.scenarios[2]
            #expect(spin.idealMessagesPerSecond == 200_000)
            #expect(spin.messages == 3_000)
            #expect(spin.handled == 3_000)
            #expect(spin.ratioToIdeal != nil)
        }

        @Test func anUnknownScenarioIsAUsageErrorListingTheKnownOnes() async throws {
            let (code, process) = try await SluiceProcess.run(["bench", "--scenarios", "raw,warp-speed"])
            #expect(code == 64, "\(process.transcript)")
            let message = process.stderr.joined(separator: "\n")
            #expect(message.contains("'warp-speed'"), "\(process.transcript)")
            #expect(message.contains("noop-unordered"), "\(process.transcript)")
        }
    }
}
