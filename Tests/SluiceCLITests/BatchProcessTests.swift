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
    /// `sluice run` with the built-in batch handlers (`spin-batch`, `forward-batch`), on worker
    /// threads, under Swift concurrency and in worker processes.
    @Suite struct Batches {
        /// A synchronous batch handler on worker threads, in partition order, that reports every
        /// 100th message failed: the failed ones are retried and dead-lettered one by one, the rest
        /// of their batches are done, and every partition is committed to its end.
        @Test func aBatchHandlerOnThreadsHandlesEveryMessageAndDeadLettersOnlyTheFailedOnes() async throws {
            let topic = "batched"
            let group = "g-\(UUID().uuidString.prefix(8))"
            let total = 3_000
            try await DevBroker.with(topic: topic, partitions: 4, otherTopics: ["batched.dlq"]) { broker in
                try await broker.produce(topic: topic, count: total)
                let (code, run) = try await SluiceProcess.run(
                    ["run", "--brokers", broker.bootstrapServers, "--group", group, "--topic", topic,
                     "--handler", "spin-batch", "--handler-option", "call-micros=200", "--handler-option", "micros=10",
                     "--handler-option", "fail-every=100", "--ordering", "partition", "--workers", "2",
                     "--max-batch-size", "40", "--max-batch-delay", "20ms",
                     "--max-attempts", "2", "--retry-backoff", "10ms", "--on-failure", "dead-letter",
                     "--max-messages", "\(total)", "--status-interval", "0"]
                        + embeddedBrokerConsumerProperties,
                    within: .seconds(120))
                #expect(code == 0, "\(run.transcript)")
                #expect(handledCount(in: run.stdout) == total, "\(run.transcript)")
                let consumed = Isolation.counts(in: Isolation.line("consumed ", in: run))
                #expect(consumed["consumed"] == total, "no message read twice: \(consumed)")
                #expect(consumed["failed"] == 30, "\(consumed)")
                let failures = Isolation.counts(in: Isolation.line("failures ", in: run))
                // 30 poison messages, each tried twice; every other message once.
                #expect(failures["retried"] == 30 && failures["dead-lettered"] == 30, "\(failures)\n\(run.transcript)")
                // `batches    N calls of a batch handler, M messages, X per call`: every message and
                // retry went through a call of at most 40 (--max-batch-size).
                let batches = Isolation.line("batches ", in: run).replacingOccurrences(of: ",", with: "").split(separator: " ")
                let (calls, batched) = (batches.count > 7 ? Int(batches[1]) : nil, batches.count > 7 ? Int(batches[7]) : nil)
                #expect(batched == total + 30, "\(batches)")
                #expect((calls ?? 0) * 40 >= (batched ?? .max) && (calls ?? 0) < total, "\(batches)")

                let letters = try broker.readAll(topic: "batched.dlq", count: 30)
                let ids = letters.compactMap { $0.headers.string(named: "sluice-id").flatMap(Int.init) }
                #expect(ids.sorted() == Array(stride(from: 99, to: total, by: 100)))
                for letter in letters {
                    #expect(letter.headers.string(named: "sluice-attempts") == "2")
                    #expect(letter.headers.string(named: "sluice-error-type") == "SluiceCLI.SpinBatchHandler.Failure")
                }
                // Consumed once each, 2,970 handled and 30 dead-lettered, and committed to the end:
                // every message was handled (or dead-lettered) exactly once.
                let offsets = try broker.committedAndEnd(group: group, topic: topic, partitions: 4)
                #expect(offsets.end.values.reduce(0, +) == Int64(total))
                #expect(offsets.committed == offsets.end)
            }
        }

        /// An asynchronous batch handler in key order: every id reaches the output topic once,
        /// and each key's messages arrive in offset order.
        @Test func anAsyncBatchHandlerForwardsEveryIdOnceInKeyOrder() async throws {
            let topic = "events"
            let group = "g-\(UUID().uuidString.prefix(8))"
            let total = 2_000
            try await DevBroker.with(topic: topic, partitions: 4, otherTopics: ["events.out"]) { broker in
                try await broker.produce(topic: topic, count: total, keys: 20)
                let (code, run) = try await SluiceProcess.run(
                    ["run", "--brokers", broker.bootstrapServers, "--group", group, "--topic", topic,
                     "--handler", "forward-batch", "--output-topic", "events.out", "--ordering", "key", "--max-batch-size", "50",
                     "--max-messages", "\(total)", "--status-interval", "0"]
                        + embeddedBrokerConsumerProperties,
                    within: .seconds(120))
                #expect(code == 0, "\(run.transcript)")
                #expect(handledCount(in: run.stdout) == total, "\(run.transcript)")
                let forwarded = try broker.readAll(topic: "events.out", count: total)
                let ids = forwarded.compactMap { $0.headers.string(named: "sluice-id").flatMap(Int.init) }
                #expect(ids.count == total, "none lost, none twice: \(ids.count)")
                #expect(Set(ids) == Set(0..<total))
                var byKey: [String: [Int]] = [:]
                for (message, id) in zip(forwarded, ids) {
                    byKey[String(decoding: message.key ?? [], as: UTF8.self), default: []].append(id)
                }
                #expect(byKey.count == 20)
                for (key, keyIDs) in byKey {
                    #expect(keyIDs == keyIDs.sorted(), "key \(key) out of order: \(keyIDs.prefix(20))")
                }
                let offsets = try broker.committedAndEnd(group: group, topic: topic, partitions: 4)
                #expect(offsets.committed == offsets.end)
            }
        }

        /// A batch handler in worker processes traps on one message: the worker dies with the
        /// whole batch, its messages run once more on their own (even with one attempt), the
        /// others succeed, and only the trapping one, crashing its worker again, is dead-lettered.
        @Test func aBatchThatTrapsInAWorkerProcessCostsOnlyTheTrappingMessage() async throws {
            let topic = "risky"
            let group = "g-\(UUID().uuidString.prefix(8))"
            let total = 2_000
            let poison = 777
            try await DevBroker.with(topic: topic, partitions: 4, otherTopics: ["risky.dlq"]) { broker in
                try await broker.produce(topic: topic, count: total)
                let (code, run) = try await SluiceProcess.run(
                    ["run", "--brokers", broker.bootstrapServers, "--group", group, "--topic", topic,
                     "--handler", "spin-batch", "--handler-option", "trap-on=\(poison)", "--handler-option", "call-micros=50",
                     "--handler-option", "micros=2", "--isolation", "process", "--workers", "2", "--ordering", "unordered",
                     "--max-batch-size", "50", "--max-attempts", "1", "--retry-backoff", "10ms", "--on-failure", "dead-letter",
                     "--max-messages", "\(total)", "--status-interval", "0"]
                        + embeddedBrokerConsumerProperties,
                    within: .seconds(120))
                #expect(code == 0, "the consumer outlives its trapping batch handler\n\(run.transcript)")
                #expect(handledCount(in: run.stdout) == total, "\(run.transcript)")
                let consumed = Isolation.counts(in: Isolation.line("consumed ", in: run))
                #expect(consumed["consumed"] == total, "no message read twice: \(consumed)")
                #expect(consumed["failed"] == 1, "only the trapping message failed for good: \(consumed)")
                let failures = Isolation.counts(in: Isolation.line("failures ", in: run))
                // Every message of the crashed batch was retried once (the batch had 1 to 50 of them).
                let retried = failures["retried"] ?? 0
                #expect(retried >= 1 && retried <= 50, "\(failures)")
                #expect(failures["dead-lettered"] == 1, "\(failures)\n\(run.transcript)")
                let workers = Isolation.counts(in: Isolation.line("workers ", in: run))
                // The batch's crash, then the trapping message's own retry.
                #expect(workers["crashed"] == 2, "\(workers)\n\(run.transcript)")

                let letters = try broker.readAll(topic: "risky.dlq", count: 1)
                #expect(letters.compactMap { $0.headers.string(named: "sluice-id") } == ["\(poison)"])
                let error = letters.first?.headers.string(named: "sluice-error") ?? ""
                #expect(error.contains("crashed with signal SIGILL"), "\(error)")
                #expect(letters.first?.headers.string(named: "sluice-attempts") == "2")
                let offsets = try broker.committedAndEnd(group: group, topic: topic, partitions: 4)
                #expect(offsets.committed == offsets.end)
                #expect(Isolation.processes(containing: group).isEmpty, "no worker outlives the run")
            }
        }

        /// Routes in worker processes: each synchronous route's handler runs in the workers under
        /// its own job (a trap in one route's batch handler costs that message only), while an
        /// asynchronous route runs in the consumer.
        @Test func routesRunTheirSynchronousHandlersInWorkerProcessesUnderTheirOwnJobs() async throws {
            let group = "g-\(UUID().uuidString.prefix(8))"
            let (risky, plain, copied) = (1_000, 1_000, 500)
            try await DevBroker.with(
                topic: "risky", partitions: 4, otherTopics: ["risky.dlq", "plain", "plain.dlq", "copied", "copied.dlq", "copied.out"]
            ) { broker in
                try await broker.produce(topic: "risky", count: risky, firstID: 0)
                try await broker.produce(topic: "plain", count: plain, firstID: 10_000)
                try await broker.produce(topic: "copied", count: copied, firstID: 20_000)
                let total = risky + plain + copied
                let (code, run) = try await SluiceProcess.run(
                    ["run", "--brokers", broker.bootstrapServers, "--group", group,
                     "--route", "risky=spin-batch,ordering=unordered,max-batch-size=25", "--route-option", "risky:trap-on=555",
                     "--route", "plain=flaky", "--route-option", "plain:fail-every=250",
                     "--route", "copied=forward,output-topic=copied.out",
                     "--handler-option", "micros=2",
                     "--isolation", "process", "--workers", "2", "--max-attempts", "1", "--retry-backoff", "10ms",
                     "--on-failure", "dead-letter", "--max-messages", "\(total)", "--status-interval", "0"]
                        + embeddedBrokerConsumerProperties,
                    within: .seconds(120))
                #expect(code == 0, "\(run.transcript)")
                #expect(handledCount(in: run.stdout) == total, "\(run.transcript)")
                let workers = Isolation.counts(in: Isolation.line("workers ", in: run))
                #expect(workers["crashed"] == 2, "\(workers)\n\(run.transcript)")
                #expect(run.stderr.contains { $0.contains("route 'copied' has an asynchronous handler: it runs in this process") }, "\(run.transcript)")

                let riskyLetters = try broker.readAll(topic: "risky.dlq", count: 1)
                #expect(riskyLetters.compactMap { $0.headers.string(named: "sluice-id") } == ["555"])
                let plainLetters = try broker.readAll(topic: "plain.dlq", count: 4)
                #expect(plainLetters.compactMap { $0.headers.string(named: "sluice-id").flatMap(Int.init) }.sorted()
                    == [10_249, 10_499, 10_749, 10_999])
                #expect(plainLetters.allSatisfy { $0.headers.string(named: "sluice-error-type") == "SluiceCLI.FlakyHandler.Failure" })
                let out = try broker.readAll(topic: "copied.out", count: copied)
                #expect(Set(out.compactMap { $0.headers.string(named: "sluice-id").flatMap(Int.init) }) == Set(20_000..<20_500))
                for topic in ["risky", "plain", "copied"] {
                    let offsets = try broker.committedAndEnd(group: group, topic: topic, partitions: 4)
                    #expect(offsets.committed == offsets.end, "\(topic)")
                }
                #expect(Isolation.processes(containing: group).isEmpty, "no worker outlives the run")
            }
        }
    }
}
