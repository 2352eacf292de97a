//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Sluice
import Testing

extension ProcessTests {
    /// `sluice run --isolation process`: handlers in supervised worker processes.
    @Suite struct Isolation {
        /// The numbers of a summary line, by the word before each: `failures   retried 8, …`.
        static func counts(in line: String) -> [String: Int] {
            var result: [String: Int] = [:]
            let words = line.replacingOccurrences(of: ",", with: "").split(separator: " ")
            for (index, word) in words.enumerated() where index > 0 {
                if let value = Int(word) {
                    let name = index >= 2 && words[index - 2] == "timed" ? "timed out" : String(words[index - 1])
                    result[name] = value
                }
            }
            return result
        }

        static func line(_ prefix: String, in run: SluiceProcess) -> String {
            run.stdout.first { $0.hasPrefix(prefix) } ?? ""
        }

        /// Processes whose command line contains `marker` (workers of a run use its group id).
        static func processes(containing marker: String) -> [Int32] {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
            return entries.compactMap(Int32.init).filter { pid in
                guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
                return String(decoding: data, as: UTF8.self).contains(marker)
            }
        }

        /// In both orders that keep lanes: their backlog travels to a worker as lane runs, several to
        /// a frame, and a run that a poison message crashed runs its other members again one by one.
        @Test(arguments: ["key", "partition"])
        func trappingMessagesCostOneMessageEachAndGoToTheDeadLetterTopic(ordering: String) async throws {
            let topic = "risky"
            let group = "g-\(UUID().uuidString.prefix(8))"
            let total = 2_000
            try await DevBroker.with(topic: topic, partitions: 4, otherTopics: ["risky.dlq"]) { broker in
                try await broker.produce(topic: topic, count: total)
                let (code, run) = try await SluiceProcess.run(
                    ["run", "--brokers", broker.bootstrapServers, "--group", group, "--topic", topic,
                     "--handler", "flaky", "--handler-option", "trap-every=250", "--isolation", "process", "--workers", "2",
                     "--ordering", ordering, "--max-attempts", "2", "--retry-backoff", "10ms", "--on-failure", "dead-letter",
                     "--max-messages", "\(total)", "--status-interval", "0"]
                        + embeddedBrokerConsumerProperties,
                    within: .seconds(120))
                #expect(code == 0, "the consumer outlives its trapping handler\n\(run.transcript)")
                #expect(handledCount(in: run.stdout) == total, "\(run.transcript)")
                let failures = Self.counts(in: Self.line("failures ", in: run))
                // 8 poison messages (ids 249, 499, …), each tried twice on its own. A cheap handler's
                // messages travel to the workers several to a frame: a poison message that crashed
                // its frame first cost the frame's messages one more run, alone (a lane run's first
                // member, with one attempt more; its other members un-run), and itself one more
                // attempt when it was blamed first.
                #expect(failures["dead-lettered"] == 8, "\(failures)")
                #expect((failures["retried"] ?? 0) >= 8, "\(failures)")
                let consumed = Self.counts(in: Self.line("consumed ", in: run))
                #expect(consumed["consumed"] == total, "no message read twice: \(consumed)")
                #expect(consumed["failed"] == 8, "only the poison messages failed for good: \(consumed)")
                let workers = Self.counts(in: Self.line("workers ", in: run))
                #expect((16...24).contains(workers["crashed"] ?? 0), "each attempt took its worker down, 2 or 3 per poison message: \(workers)")
                // 2 workers, and a replacement for each crash (the last ones may still wait for their backoff).
                #expect((workers["started"] ?? 0) >= 16, "\(workers)")

                let offsets = try broker.committedAndEnd(group: group, topic: topic, partitions: 4)
                #expect(offsets.committed == offsets.end)
                let letters = try broker.readAll(topic: "risky.dlq", count: 8)
                let ids = letters.compactMap { $0.headers.string(named: "sluice-id").flatMap(Int.init) }
                #expect(ids.sorted() == Array(stride(from: 249, to: total, by: 250)))
                for letter in letters {
                    let error = letter.headers.string(named: "sluice-error") ?? ""
                    #expect(error.contains("crashed with signal SIGILL"), "\(error)")
                    #expect(letter.headers.string(named: "sluice-error-type") == "SluiceProcessPool.ProcessPoolError")
                }
                #expect(Self.processes(containing: group).isEmpty, "no worker outlives the run")
            }
        }

        @Test func aHangingMessageTimesOutItsWorkerIsReplacedAndTheRestFlows() async throws {
            let topic = "stuck"
            let group = "g-\(UUID().uuidString.prefix(8))"
            let total = 1_000
            try await DevBroker.with(topic: topic, partitions: 2, otherTopics: ["stuck.dlq"]) { broker in
                try await broker.produce(topic: topic, count: total)
                let (code, run) = try await SluiceProcess.run(
                    ["run", "--brokers", broker.bootstrapServers, "--group", group, "--topic", topic,
                     "--handler", "flaky", "--handler-option", "hang-every=400", "--isolation", "process", "--workers", "2",
                     "--handler-timeout", "1s", "--max-attempts", "1", "--on-failure", "dead-letter",
                     "--max-messages", "\(total)", "--status-interval", "0"]
                        + embeddedBrokerConsumerProperties,
                    within: .seconds(120))
                #expect(code == 0, "\(run.transcript)")
                #expect(handledCount(in: run.stdout) == total, "\(run.transcript)")
                let failures = Self.counts(in: Self.line("failures ", in: run))
                #expect(failures["timed out"] == 2 && failures["dead-lettered"] == 2, "\(failures)")
                let workers = Self.counts(in: Self.line("workers ", in: run))
                #expect(workers["timed out"] == 2 && workers["started"] == 4, "\(workers)")
                let offsets = try broker.committedAndEnd(group: group, topic: topic, partitions: 2)
                #expect(offsets.committed == offsets.end)
                let letters = try broker.readAll(topic: "stuck.dlq", count: 2)
                #expect(letters.compactMap { $0.headers.string(named: "sluice-id") }.sorted() == ["399", "799"])
                #expect(letters.allSatisfy { $0.headers.string(named: "sluice-error-type") == "Sluice.HandlerTimeoutError" })
                #expect(Self.processes(containing: group).isEmpty, "the hung workers were killed")
            }
        }

        @Test func recyclingWorkersAfterNTasksLosesNothing() async throws {
            let topic = "recycled"
            let group = "g-\(UUID().uuidString.prefix(8))"
            let total = 1_000
            try await DevBroker.with(topic: topic, partitions: 2) { broker in
                try await broker.produce(topic: topic, count: total)
                let (code, run) = try await SluiceProcess.run(
                    ["run", "--brokers", broker.bootstrapServers, "--group", group, "--topic", topic,
                     "--handler", "sha256", "--isolation", "process", "--workers", "2", "--max-tasks-per-worker", "100",
                     "--max-messages", "\(total)", "--status-interval", "0"]
                        + embeddedBrokerConsumerProperties,
                    within: .seconds(120))
                #expect(code == 0, "\(run.transcript)")
                #expect(handledCount(in: run.stdout) == total, "\(run.transcript)")
                #expect(Self.counts(in: Self.line("consumed ", in: run))["failed"] == 0)
                let workers = Self.counts(in: Self.line("workers ", in: run))
                #expect((workers["recycled"] ?? 0) >= 8, "1000 tasks, 100 per worker: \(workers)")
                #expect(workers["crashed"] == 0, "\(workers)")
                let offsets = try broker.committedAndEnd(group: group, topic: topic, partitions: 2)
                #expect(offsets.committed == offsets.end)
                #expect(Self.processes(containing: group).isEmpty, "no worker outlives the run")
            }
        }

        @Test func anAsyncHandlerCannotRunInWorkerProcesses() async throws {
            let (code, run) = try await SluiceProcess.run(
                ["run", "--topic", "t", "--handler", "forward", "--output-topic", "o", "--isolation", "process"], within: .seconds(60))
            #expect(code == 64, "\(run.transcript)")
            #expect(run.transcript.contains("handler 'forward' is asynchronous: --isolation process runs synchronous handlers only"), "\(run.transcript)")
        }
    }
}
