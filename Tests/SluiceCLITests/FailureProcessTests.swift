//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Logging
import Sluice
import Testing

extension ProcessTests {
    /// `sluice run --on-failure …` with the built-in `flaky` handler, as separate processes.
    @Suite struct FailureHandling {
        @Test func deadLetterRunRetriesTransientFailuresAndDeadLettersEveryHundredthMessage() async throws {
            let topic = "orders"
            let group = "g-\(UUID().uuidString.prefix(8))"
            let total = 2_000
            try await DevBroker.with(topic: topic, partitions: 4, otherTopics: ["orders.dlq"]) { broker in
                try await broker.produce(topic: topic, count: total)
                let (code, run) = try await SluiceProcess.run(
                    ["run", "--brokers", broker.bootstrapServers, "--group", group, "--topic", topic,
                     "--handler", "flaky", "--handler-option", "fail-every=100", "--handler-option", "transient=1",
                     "--max-attempts", "3", "--retry-backoff", "10ms", "--on-failure", "dead-letter",
                     "--max-messages", "\(total)", "--status-interval", "0"]
                        + embeddedBrokerConsumerProperties,
                    within: .seconds(90))
                #expect(code == 0, "\(run.transcript)")
                #expect(handledCount(in: run.stdout) == total, "\(run.transcript)")
                let failures = run.stdout.first { $0.hasPrefix("failures ") } ?? ""
                // Every message fails once (transient=1); the 20 poison ones twice more.
                #expect(failures.contains("retried \(total + 20)"), "\(failures)\n\(run.transcript)")
                #expect(failures.contains("dead-lettered 20"), "\(failures)")

                let offsets = try broker.committedAndEnd(group: group, topic: topic, partitions: 4)
                #expect(offsets.committed == offsets.end)
                let letters = try broker.readAll(topic: "orders.dlq", count: 20)
                let ids = letters.compactMap { $0.headers.string(named: "sluice-id").flatMap(Int.init) }
                #expect(ids.sorted() == Array(stride(from: 99, to: total, by: 100)))
                for letter in letters {
                    #expect(letter.headers.string(named: "sluice-attempts") == "3")
                    #expect(letter.headers.string(named: "sluice-error")?.contains("fails on every attempt (fail-every=100)") == true)
                    #expect(letter.headers.string(named: "sluice-error-type") == "SluiceCLI.FlakyHandler.Failure")
                }
            }
        }

        @Test func stopRunExitsNonZeroNamingTheMessageAndCommitsUpToIt() async throws {
            let topic = "payments"
            let group = "g-\(UUID().uuidString.prefix(8))"
            try await DevBroker.with(topic: topic, partitions: 1) { broker in
                try await broker.produce(topic: topic, count: 1_000)
                let (code, run) = try await SluiceProcess.run(
                    ["run", "--brokers", broker.bootstrapServers, "--group", group, "--topic", topic,
                     "--handler", "flaky", "--handler-option", "fail-every=500", "--max-attempts", "2",
                     "--retry-backoff", "10ms", "--ordering", "partition", "--status-interval", "0"]
                        + embeddedBrokerConsumerProperties,
                    within: .seconds(90))
                #expect(code == 1, "\(run.transcript)")
                // Ids are offsets here: one partition, produced in order; id 499 fails.
                let error = run.stderr.first { $0.contains("error:") } ?? ""
                #expect(error.contains("the handler failed on payments[0]@499 after 2 attempts and the failure policy is stop"), "\(run.transcript)")
                #expect(error.contains("flaky: message 499 fails on every attempt"), "\(error)")
                let offsets = try broker.committedAndEnd(group: group, topic: topic, partitions: 1)
                #expect(offsets.committed[0] == 499, "committed up to the failed message: \(offsets.committed)")
            }
        }

        /// The check: a dead-letter write that can never succeed (each record is larger
        /// than the producer's `message.max.bytes`) ends the run with exit 1 and a message naming
        /// the dead-letter problem, and the source partition's committed offset stays 0.
        @Test func aDeadLetterThatCannotBeWrittenStopsTheRunNamingTheProblem() async throws {
            let group = "g-\(UUID().uuidString.prefix(8))"
            try await DevBroker.with(topic: "big", partitions: 1, otherTopics: ["big.dlq"]) { broker in
                let (produced, producer) = try await SluiceProcess.run(
                    ["produce", "--brokers", broker.bootstrapServers, "--topic", "big", "--count", "3", "--size", "999900", "--keys", "0"])
                #expect(produced == 0, "\(producer.transcript)")
                let started = ContinuousClock.now
                // One worker: the messages (keyless, so unordered) fail in offset order, and the
                // first dead-letter write to fail is big[0]@0's whether they were polled one by one
                // or together.
                let (code, run) = try await SluiceProcess.run(
                    ["run", "--brokers", broker.bootstrapServers, "--group", group, "--topic", "big", "--handler", "flaky",
                     "--handler-option", "fail-every=1", "--max-attempts", "1", "--on-failure", "dead-letter",
                     "--workers", "1", "--max-messages", "3", "--status-interval", "0"] + embeddedBrokerConsumerProperties,
                    within: .seconds(60))
                #expect(code == 1, "\(run.transcript)")
                #expect(started.duration(to: .now) < .seconds(60))
                let error = run.stderr.first { $0.hasPrefix("error:") } ?? ""
                #expect(error.contains("cannot write big[0]@0 to the dead-letter topic big.dlq"), "\(run.transcript)")
                #expect(error.contains("MSG_SIZE_TOO_LARGE"), "\(error)")
                let offsets = try broker.committedAndEnd(group: group, topic: "big", partitions: 1)
                #expect((offsets.committed[0] ?? 0) == 0, "\(offsets.committed)")
            }
        }

        @Test func deadLetterTopicThatDoesNotExistIsAClearError() async throws {
            try await DevBroker.with(topic: "events", partitions: 1) { broker in
                let (code, run) = try await SluiceProcess.run(
                    ["run", "--brokers", broker.bootstrapServers, "--topic", "events", "--handler", "noop",
                     "--on-failure", "dead-letter", "--status-interval", "0"] + embeddedBrokerConsumerProperties,
                    within: .seconds(60))
                #expect(code == 1, "\(run.transcript)")
                #expect(run.transcript.contains("dead-letter topic events.dlq does not exist"), "\(run.transcript)")
            }
        }

        @Test func deadLetterTopicWithoutTheDeadLetterPolicyIsAUsageError() async throws {
            let (code, run) = try await SluiceProcess.run(
                ["run", "--topic", "t", "--handler", "noop", "--dead-letter-topic", "t.dlq"], within: .seconds(30))
            #expect(code == 64, "\(run.transcript)")
            #expect(run.transcript.contains("--dead-letter-topic needs --on-failure dead-letter (it is stop)"), "\(run.transcript)")
        }
    }
}

extension DevBroker {
    /// Reads `topic` from the beginning until `count` messages arrived (30 s at most), then
    /// 500 ms more so that a duplicate would show.
    func readAll(topic: String, count: Int) throws -> [KafkaMessage] {
        try readTopic(bootstrapServers: bootstrapServers, topic: topic, count: count)
    }
}

/// Reads `topic` from the beginning with a fresh group until `count` messages arrived (30 s at
/// most), then `settle` more so that a duplicate would show.
func readTopic(
    bootstrapServers: String, topic: String, count: Int, settle: Duration = .milliseconds(500)
) throws -> [KafkaMessage] {
    var config = KafkaConsumerConfiguration(bootstrapServers: [bootstrapServers], groupID: "reader-\(UUID())")
    config.fetchWaitMax = .milliseconds(10)
    var quiet = Logger(label: "sluice.test.reader")
    quiet.logLevel = .warning
    let reader = try KafkaConsumer(configuration: config, logger: quiet)
    defer { try? reader.close(timeout: .seconds(5)) }
    try reader.subscribe(topics: [topic])
    let clock = ContinuousClock()
    var deadline = clock.now.advanced(by: .seconds(30))
    var messages: [KafkaMessage] = []
    var settling = false
    while clock.now < deadline {
        if let message = try reader.poll(timeout: .milliseconds(100)) { messages.append(message) }
        if !settling, messages.count >= count {
            settling = true
            deadline = clock.now.advanced(by: settle)
        }
    }
    return messages
}
