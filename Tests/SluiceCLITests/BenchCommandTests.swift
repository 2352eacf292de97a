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
                var meanBatchSize: Double?
                var comparedWith: String?
                var ratioToCompared: Double?
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

        /// The scenarios of many partitions, of worker processes' per-message cost, and of a slow
        /// trickle: each reads what it should, and the trickle's ideal is its arrival rate.
        @Test func wideProcessAndTrickleScenariosHandleEveryMessage() async throws {
            let (code, process) = try await SluiceProcess.run(
                ["bench", "--json", "--scenarios", "noop-unordered-64p,noop-process,trickle-1k", "--messages", "2000", "--seconds", "0.05"],
                within: .seconds(240))
            #expect(code == 0, "\(process.transcript)")
            let report = try JSONDecoder().decode(Report.self, from: Data(process.stdout.joined(separator: "\n").utf8))
            #expect(report.scenarios.map(\.name) == ["noop-unordered-64p", "noop-process", "trickle-1k"])
            for scenario in report.scenarios {
                #expect(scenario.error == nil, "\(scenario.name): \(scenario.error ?? "")")
                #expect(scenario.handled >= scenario.messages, "\(scenario.name)")
            }
            let wide = report.scenarios[0]
            #expect(wide.messages == 2_000)
            #expect(wide.handled == 2_000, "every message of the 64 partitions, none twice")
            #expect(report.scenarios[1].messages == 400)
            // At least 200 messages arriving at 1,000/s, in fours (one per partition, round robin).
            let trickle = report.scenarios[2]
            #expect(trickle.messages == 200)
            #expect(trickle.handled == 200)
            #expect(trickle.idealMessagesPerSecond == 1_000)
            #expect(trickle.messagesPerSecond != nil)
            #expect(trickle.pollToDoneP99Milliseconds != nil)
        }

        /// What batching buys: the batch handler against the per-message handler of the same
        /// costs, in the same run, on threads and in worker processes; each handles its messages,
        /// and the batch rows carry their ratio to the per-message row.
        @Test func batchScenariosAreSetAgainstThePerMessageHandlerOfTheSameCosts() async throws {
            let (code, process) = try await SluiceProcess.run(
                ["bench", "--json", "--scenarios", "spin-call-cost,spin-batch", "--messages", "3000", "--seconds", "0.05"],
                within: .seconds(240))
            #expect(code == 0, "\(process.transcript)")
            let report = try JSONDecoder().decode(Report.self, from: Data(process.stdout.joined(separator: "\n").utf8))
            #expect(report.scenarios.map(\.name) == ["spin-call-cost", "spin-batch-10x", "spin-batch-100x", "spin-batch-100x-process"])
            for scenario in report.scenarios {
                #expect(scenario.error == nil, "\(scenario.name): \(scenario.error ?? "")")
                #expect(scenario.handled >= scenario.messages, "\(scenario.name)")
                #expect(scenario.messagesPerSecond != nil, "\(scenario.name)")
            }
            // 100 µs + 5 µs per message on 2 workers: 19,048/s; 0.05 s of it is 952 messages.
            let perMessage = report.scenarios[0]
            #expect(perMessage.idealMessagesPerSecond.map { Int($0.rounded()) } == 19_048)
            #expect(perMessage.messages == 952)
            #expect(perMessage.handled >= 952, "the window in flight at the stop is handled too")
            #expect(perMessage.comparedWith == nil)
            // Batches of 10: 2 × 10 / 150 µs = 133,333/s; of 100: 2 × 100 / 600 µs = 333,333/s
            // (0.05 s of them: 6,667 and 16,667 messages, capped at --messages).
            #expect(report.scenarios[1].idealMessagesPerSecond.map { Int($0.rounded()) } == 133_333)
            #expect(report.scenarios[2].idealMessagesPerSecond.map { Int($0.rounded()) } == 333_333)
            for batch in report.scenarios.dropFirst() {
                #expect(batch.messages == 3_000, "\(batch.name)")
                #expect(batch.comparedWith == "spin-call-cost", "\(batch.name)")
                #expect(batch.ratioToCompared != nil, "\(batch.name)")
            }
            #expect(report.scenarios[1].handled == 3_000 && report.scenarios[2].handled == 3_000, "every message once")
            // The engine's count of calls: batches hold 1 to 10 (or 100) messages.
            let ten = try #require(report.scenarios[1].meanBatchSize)
            #expect(ten >= 1 && ten <= 10)
            for hundreds in report.scenarios[2...] {
                let size = try #require(hundreds.meanBatchSize, "\(hundreds.name)")
                #expect(size >= 1 && size <= 100, "\(hundreds.name)")
            }
            #expect(perMessage.meanBatchSize == nil)
        }

        /// The engine alone: messages served from memory, no topic written, each handled once.
        @Test func engineScenariosHandleEveryMessageFromMemoryWithoutATopic() async throws {
            let (code, process) = try await SluiceProcess.run(
                ["bench", "--json", "--scenarios", "engine", "--messages", "3000"], within: .seconds(240))
            #expect(code == 0, "\(process.transcript)")
            let report = try JSONDecoder().decode(Report.self, from: Data(process.stdout.joined(separator: "\n").utf8))
            #expect(report.scenarios.map(\.name) == [
                "engine-noop-unordered", "engine-noop-key", "engine-noop-partition", "engine-spin-100us-2w-partition",
            ])
            #expect(report.smallMessages == 0, "nothing is written to the broker")
            #expect(!process.stderr.joined(separator: "\n").contains("writing"), "\(process.transcript)")
            for scenario in report.scenarios {
                // A message handled twice, or one the source never served, is reported as an error.
                #expect(scenario.error == nil, "\(scenario.name): \(scenario.error ?? "")")
                #expect(scenario.messages == 3_000, "\(scenario.name)")
                #expect(scenario.handled == 3_000, "\(scenario.name)")
                #expect(scenario.messagesPerSecond != nil, "\(scenario.name)")
                #expect(scenario.cpuSeconds != nil, "\(scenario.name)")
                #expect(scenario.ratioToCeiling == nil, "no raw row ran: \(scenario.name)")
            }
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
