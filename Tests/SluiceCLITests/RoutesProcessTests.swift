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
    /// `sluice run --route …`: one consumer serving several topics, each with its own handler,
    /// ordering and failure policy, as a separate process against `sluice dev-broker`.
    @Suite struct Routes {
        /// The counts of a summary's `topic      NAME: consumed 500, handled 490, …` line.
        static func topicCounts(_ topic: String, in run: SluiceProcess) -> [String: Int] {
            let line = run.stdout.first { $0.hasPrefix("topic ") && $0.contains(" \(topic): ") } ?? ""
            return Isolation.counts(in: line.replacingOccurrences(of: "dead-lettered", with: "deadLettered"))
        }

        /// Three routes in one run: `orders` forwarded in batches in key order (the consumer's
        /// `stop` policy), `audit.*` (a pattern) on the per-message `flaky` handler with its own
        /// worker thread, window share, retries and dead-letter topics, and `clicks` on the
        /// `spin-batch` handler in partition order with the `skip` policy. Each topic's messages
        /// reach its handler only, the failing routes do not stop the others, and every topic is
        /// committed to its end.
        @Test func threeRoutesWithTheirOwnHandlersOrderingsAndFailurePoliciesInOneRun() async throws {
            let group = "g-\(UUID().uuidString.prefix(8))"
            let partitions = 4
            let audit = ["audit.eu": 10_000, "audit.us": 20_000]
            let (orders, perAudit, clicks) = (1_000, 500, 600)
            let total = orders + perAudit * audit.count + clicks
            try await DevBroker.with(
                topic: "orders", partitions: partitions,
                otherTopics: ["orders.out", "clicks", "audit.eu", "audit.us", "dlq.audit.eu", "dlq.audit.us"]
            ) { broker in
                try await broker.produce(topic: "orders", count: orders, firstID: 0, keys: 10)
                for (topic, firstID) in audit {
                    try await broker.produce(topic: topic, count: perAudit, firstID: firstID)
                }
                try await broker.produce(topic: "clicks", count: clicks, firstID: 30_000)

                let (code, run) = try await SluiceProcess.run(
                    ["run", "--brokers", broker.bootstrapServers, "--group", group,
                     "--route", "orders=forward-batch,ordering=key,output-topic=orders.out,max-batch-size=20",
                     "--route", "audit.*=flaky,name=audit,ordering=unordered,on-failure=dead-letter,dead-letter-topic=dlq.{topic},"
                        + "max-attempts=2,max-in-flight=100,workers=1",
                     "--route-option", "audit:fail-every=50",
                     "--route", "clicks=spin-batch,ordering=partition,on-failure=skip,max-attempts=1,max-batch-size=25",
                     "--route-option", "clicks:fail-every=100", "--route-option", "clicks:micros=20",
                     "--retry-backoff", "10ms", "--max-messages", "\(total)", "--status-interval", "0"]
                        + embeddedBrokerConsumerProperties,
                    within: .seconds(120))
                #expect(code == 0, "no route's failures stop the run\n\(run.transcript)")
                #expect(handledCount(in: run.stdout) == total, "\(run.transcript)")

                // Each topic counted on its own, with its own route's outcome.
                #expect(Self.topicCounts("orders", in: run) == [
                    "consumed": orders, "handled": orders, "failed": 0, "retried": 0, "skipped": 0, "deadLettered": 0,
                ], "\(run.transcript)")
                for topic in audit.keys {
                    // fail-every=50: 10 poison messages of 500, each tried twice, then dead-lettered.
                    #expect(Self.topicCounts(topic, in: run) == [
                        "consumed": perAudit, "handled": perAudit - 10, "failed": 10, "retried": 10, "skipped": 0, "deadLettered": 10,
                    ], "\(topic)\n\(run.transcript)")
                }
                // fail-every=100 of the batch handler: 6 messages of 600 skipped, the rest of their batches done.
                #expect(Self.topicCounts("clicks", in: run) == [
                    "consumed": clicks, "handled": clicks - 6, "failed": 6, "retried": 0, "skipped": 6, "deadLettered": 0,
                ], "\(run.transcript)")
                // The skipped messages failed in the batch handler, not in another route's.
                let log = run.stderr.joined(separator: "\n")
                for id in stride(from: 30_099, to: 30_000 + clicks, by: 100) {
                    #expect(log.contains("spin-batch: message \(id) fails on every attempt"), "\(id)\n\(run.transcript)")
                    #expect(!log.contains("flaky: message \(id) "))
                }

                // orders: every id forwarded, nothing of the other topics, each key in offset order.
                let forwarded = try broker.readAll(topic: "orders.out", count: orders)
                let ids = forwarded.compactMap { $0.headers.string(named: "sluice-id").flatMap(Int.init) }
                #expect(ids.count == forwarded.count)
                #expect(Set(ids) == Set(0..<orders), "\(Set(ids).symmetricDifference(Set(0..<orders)).sorted().prefix(20))")
                #expect(ids.count == orders, "none forwarded twice")
                var byKey: [String: [Int]] = [:]
                for message in forwarded {
                    let key = String(decoding: message.key ?? [], as: UTF8.self)
                    byKey[key, default: []].append(Int(message.headers.string(named: "sluice-id") ?? "") ?? -1)
                }
                #expect(byKey.count == 10)
                for (key, keyIDs) in byKey {
                    #expect(keyIDs == keyIDs.sorted(), "key \(key) out of order: \(keyIDs.prefix(20))")
                }

                // audit.*: each topic's poison messages in its own dead-letter topic, after 2 attempts of flaky.
                for (topic, firstID) in audit {
                    let letters = try broker.readAll(topic: "dlq.\(topic)", count: 10)
                    let ids = letters.compactMap { $0.headers.string(named: "sluice-id").flatMap(Int.init) }
                    #expect(ids.sorted() == Array(stride(from: firstID + 49, to: firstID + perAudit, by: 50)), "\(topic)")
                    for letter in letters {
                        #expect(letter.headers.string(named: "sluice-source-topic") == topic)
                        #expect(letter.headers.string(named: "sluice-attempts") == "2")
                        #expect(letter.headers.string(named: "sluice-error-type") == "SluiceCLI.FlakyHandler.Failure")
                    }
                }

                for topic in ["orders", "clicks"] + audit.keys.sorted() {
                    let offsets = try broker.committedAndEnd(group: group, topic: topic, partitions: partitions)
                    #expect(offsets.committed == offsets.end, "\(topic)")
                }
            }
        }

        /// Without `--brokers`, the embedded broker gets the routes' topics, their dead-letter
        /// topics and the output topics: a route dead-letters into a topic nobody created by hand.
        @Test func theEmbeddedBrokerCreatesTheRoutesTopicsAndDeadLetterTopics() async throws {
            let run = try SluiceProcess(
                ["run", "--route", "orders=flaky,on-failure=dead-letter,max-attempts=1", "--route-option", "orders:fail-every=10",
                 "--route", "copies=forward-batch,output-topic=copies.out", "--embedded-partitions", "2",
                 "--max-messages", "100", "--status-interval", "0"]
                    + embeddedBrokerConsumerProperties)
            defer { run.terminate() }
            let notice = try await run.line(onStderr: true, within: .seconds(30)) { $0.contains("no --brokers given: started an embedded broker at ") }
            let line = try #require(notice, "\(run.transcript)")
            let topics = try #require(line.range(of: "with topics ").map { line[$0.upperBound...] }?.split(separator: " (").first)
            #expect(Set(topics.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
                == ["orders", "orders.dlq", "copies", "copies.out"], "\(line)")
            #expect(line.contains("--topic orders"), "\(line)")
            let address = try #require(line.range(of: "started an embedded broker at ").map { line[$0.upperBound...].prefix { $0 != " " } })
            let (produced, producer) = try await SluiceProcess.run(
                ["produce", "--brokers", String(address), "--topic", "orders", "--count", "100"])
            #expect(produced == 0, "\(producer.transcript)")
            let code = try await run.exitCode(within: .seconds(90))
            #expect(code == 0, "\(run.transcript)")
            #expect(handledCount(in: run.stdout) == 100, "\(run.transcript)")
            #expect(Self.topicCounts("orders", in: run)["deadLettered"] == 10, "\(run.transcript)")
        }
    }
}
