//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Sluice
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension ProcessTests {
    /// `sluice dev-broker`, `sluice produce` and `sluice run` as separate processes, the way a
    /// developer uses them.
    @Suite struct EndToEnd {
        @Test func runWithMaxMessagesCommitsEverythingAndExitsZero() async throws {
            let topic = "t"
            let group = "g-\(UUID().uuidString.prefix(8))"
            try await DevBroker.with(topic: topic, partitions: 8) { broker in
                try await broker.produce(topic: topic, count: 20_000)

                let (code, run) = try await SluiceProcess.run(
                    ["run", "--brokers", broker.bootstrapServers, "--group", group, "--topic", topic,
                     "--handler", "noop", "--max-messages", "20000", "--status-interval", "0"]
                        + embeddedBrokerConsumerProperties,
                    within: .seconds(90))
                #expect(code == 0, "\(run.transcript)")
                #expect(handledCount(in: run.stdout) == 20_000, "\(run.transcript)")

                let offsets = try broker.committedAndEnd(group: group, topic: topic, partitions: 8)
                #expect(offsets.end.values.reduce(0, +) == 20_000)
                #expect(offsets.committed == offsets.end)
            }
        }

        /// `--max-messages` on a backlog much larger than it: exactly that many are handled and
        /// committed (not the window's worth more that librdkafka had fetched), and the next run
        /// of the group starts right after them.
        @Test func maxMessagesHandlesAndCommitsExactlyThatManyAndTheNextRunTheRest() async throws {
            let topic = "limit"
            let group = "g-\(UUID().uuidString.prefix(8))"
            let total = 6_000
            try await DevBroker.with(topic: topic, partitions: 8) { broker in
                try await broker.produce(topic: topic, count: total)
                let common = ["run", "--brokers", broker.bootstrapServers, "--group", group, "--topic", topic,
                              "--handler", "noop", "--status-interval", "0"] + embeddedBrokerConsumerProperties

                let (code, first) = try await SluiceProcess.run(common + ["--max-messages", "1000"], within: .seconds(90))
                #expect(code == 0, "\(first.transcript)")
                #expect(handledCount(in: first.stdout) == 1_000, "\(first.transcript)")
                let afterFirst = try broker.committedAndEnd(group: group, topic: topic, partitions: 8)
                #expect(afterFirst.committed.values.reduce(0, +) == 1_000)

                let (secondCode, second) = try await SluiceProcess.run(
                    common + ["--max-messages", "\(total - 1_000)"], within: .seconds(90))
                #expect(secondCode == 0, "\(second.transcript)")
                #expect(handledCount(in: second.stdout) == total - 1_000, "\(second.transcript)")
                let afterSecond = try broker.committedAndEnd(group: group, topic: topic, partitions: 8)
                #expect(afterSecond.committed == afterSecond.end)
            }
        }

        @Test func devBrokerExitsZeroOnSigtermAndRemovesItsBootstrapFile() async throws {
            // DevBroker.with checks the exit code and the file after its SIGTERM.
            let address = try await DevBroker.with(topic: "empty", partitions: 1) { broker in
                #expect(broker.process.isRunning)
                return broker.bootstrapServers
            }
            #expect(address.hasPrefix("127.0.0.1:"))
        }

        @Test func devBrokerStopsCleanlyOnASigtermSentTheMomentItsBootstrapFileAppears() async throws {
            // The file is written before the address is printed: a script that waits for it and
            // stops the broker at once must still get exit 0 and no file left behind. Five
            // starts, each watched every 50 µs, to land in the window before signals are trapped.
            for attempt in 1...5 {
                let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-sigterm-\(UUID().uuidString)")
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(at: directory) }
                let file = directory.appendingPathComponent("bootstrap").path
                let process = try SluiceProcess(["dev-broker", "--topic", "t:1", "--bootstrap-file", file])
                defer { process.terminate() }
                let deadline = ContinuousClock.now + .seconds(30)
                while !FileManager.default.fileExists(atPath: file), process.isRunning, ContinuousClock.now < deadline {
                    usleep(50)
                }
                try #require(FileManager.default.fileExists(atPath: file), "attempt \(attempt): no bootstrap file\n\(process.transcript)")
                process.send(SIGTERM)
                let code = try await process.exitCode(within: .seconds(30))
                #expect(code == 0, "attempt \(attempt): exit code after SIGTERM\n\(process.transcript)")
                #expect(!FileManager.default.fileExists(atPath: file), "attempt \(attempt): the bootstrap file was left behind")
            }
        }

        @Test func sigtermMidRunCommitsWhatIsDoneAndASecondRunHandlesExactlyTheRest() async throws {
            let topic = "slow"
            let group = "g-\(UUID().uuidString.prefix(8))"
            let total = 20_000
            let partitions = 4
            try await DevBroker.with(topic: topic, partitions: partitions) { broker in
                try await broker.produce(topic: topic, count: total)
                let common = ["run", "--brokers", broker.bootstrapServers, "--group", group, "--topic", topic]
                    + embeddedBrokerConsumerProperties + ["--commit-interval", "200ms"]

                // ~0.5 ms of CPU per message: several seconds for them all on two cores.
                let first = try SluiceProcess(
                    common + ["--handler", "spin", "--handler-option", "micros=500", "--status-interval", "200ms"])
                defer { first.terminate() }
                let progress = try await first.line(onStderr: true, within: .seconds(60)) { line in
                    guard let range = line.range(of: "· handled ") else { return false }
                    return !line[range.upperBound...].hasPrefix("0 ")
                }
                try #require(progress != nil, "no progress from the first run\n\(first.transcript)")
                first.send(SIGTERM)
                let firstCode = try await first.exitCode(within: .seconds(60))
                #expect(firstCode == 0, "\(first.transcript)")
                let firstHandled = try #require(handledCount(in: first.stdout), "\(first.transcript)")
                #expect(firstHandled > 0 && firstHandled < total, "stopped mid-run: \(firstHandled) of \(total)")

                let afterFirst = try broker.committedAndEnd(group: group, topic: topic, partitions: partitions)
                let committedFirst = afterFirst.committed.values.reduce(0, +)
                #expect(committedFirst > 0)
                #expect(committedFirst == Int64(firstHandled), "a graceful stop commits exactly what was handled")
                for (partition, end) in afterFirst.end {
                    #expect((afterFirst.committed[partition] ?? 0) <= end, "partition \(partition)")
                }

                let rest = total - firstHandled
                let (secondCode, second) = try await SluiceProcess.run(
                    common + ["--handler", "noop", "--max-messages", "\(rest)", "--status-interval", "0"],
                    within: .seconds(90))
                #expect(secondCode == 0, "\(second.transcript)")
                let secondHandled = try #require(handledCount(in: second.stdout), "\(second.transcript)")
                #expect(firstHandled + secondHandled == total, "first \(firstHandled) + second \(secondHandled)")

                let afterSecond = try broker.committedAndEnd(group: group, topic: topic, partitions: partitions)
                #expect(afterSecond.committed == afterSecond.end)
            }
        }

        @Test func demoRunsToCompletionAndCommitsEveryEvent() async throws {
            let (code, demo) = try await SluiceProcess.run(
                ["demo", "--count", "5000", "--partitions", "4", "--status-interval", "0"], within: .seconds(120))
            #expect(code == 0, "\(demo.transcript)")
            let summary = demo.stdout.first { $0.hasPrefix("committed ") }
            #expect(summary?.contains("committed  5000 = end offsets 5000") == true, "\(demo.transcript)")
            #expect(handledCount(in: demo.stdout) == 5_000)
        }
    }
}
