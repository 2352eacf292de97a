//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Sluice
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension ProcessTests {
    /// The README's delivery promise after a crash, in processes: one message stuck in its retry
    /// backoff while 29,999 behind it finish, the consumer killed with SIGKILL, and a second run
    /// that handles the stuck message alone.
    @Suite struct BoundedReplay {
        static let topic = "replay"
        static let count = 30_000

        /// The group's committed offset of partition 0 and the finished offsets its metadata lists.
        static func committed(_ broker: DevBroker, group: String) throws -> (offset: Int64?, finished: FinishedOffsets?) {
            let entry = try broker.committedWithFinished(group: group, topic: topic, partitions: 1)[0]
            return (entry?.offset, entry?.finished)
        }

        static func scrape(_ port: String) async throws -> String {
            let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/metrics")!)
            return String(decoding: data, as: UTF8.self)
        }

        @Test func aKilledConsumerIsFollowedByARunThatHandlesOnlyTheUnfinishedMessage() async throws {
            let group = "g-\(UUID().uuidString.prefix(8))"
            try await DevBroker.with(topic: Self.topic, partitions: 1) { broker in
                // Ids 999999, 1000000, …: with fail-every=1000000 only the first message fails, on every attempt.
                let (produced, producer) = try await SluiceProcess.run(
                    ["produce", "--brokers", broker.bootstrapServers, "--topic", Self.topic, "--count", "\(Self.count)", "--first-id", "999999"])
                #expect(produced == 0, "\(producer.transcript)")

                let first = try SluiceProcess(
                    ["run", "--brokers", broker.bootstrapServers, "--group", group, "--topic", Self.topic,
                     "--handler", "flaky", "--handler-option", "fail-every=1000000", "--ordering", "unordered",
                     "--max-attempts", "1000", "--retry-backoff", "1h", "--retry-backoff-max", "1h",
                     "--max-uncommitted-span", "50000", "--stuck-warning", "1s", "--metrics-port", "0", "--status-interval", "0"]
                        + embeddedBrokerConsumerProperties)
                defer { first.terminate() }
                let serving = try await first.line(onStderr: true, within: .seconds(30)) { $0.contains("metrics and health on http://") }
                let port = try #require(serving?.split(separator: ":").last.map { String($0.prefix { $0.isNumber }) }, "\(first.transcript)")

                // The rest finishes; the stuck message is reported; the commit lists the rest.
                let stuck = try await first.line(onStderr: true, within: .seconds(120)) { $0.contains("29999 later offsets are done") }
                #expect(stuck?.contains("replay[0]@0 has held the partition's commit point for") == true, "\(first.transcript)")
                let clock = ContinuousClock()
                let deadline = clock.now.advanced(by: .seconds(30))
                var state = try Self.committed(broker, group: group)
                while state.finished?.count != 29_999, clock.now < deadline {
                    try await Task.sleep(for: .milliseconds(200))
                    state = try Self.committed(broker, group: group)
                }
                #expect(state.offset == 0, "nothing past the stuck message is committed")
                #expect(state.finished == FinishedOffsets(commitPoint: 0, offsets: 1..<Int64(Self.count)))
                let metrics = try await Self.scrape(port)
                let age = metrics.split(separator: "\n").first { $0.hasPrefix("sluice_oldest_unfinished_age_seconds{") && $0.contains("topic=\"replay\"") }
                #expect(age.flatMap { $0.split(separator: " ").last.flatMap { Double($0) } }.map { $0 >= 1 } == true, "\(metrics)")
                #expect(metrics.contains("sluice_uncommitted_span{partition=\"0\",topic=\"replay\"} 30000") || metrics.contains("sluice_uncommitted_span{topic=\"replay\",partition=\"0\"} 30000"), "\(metrics)")

                first.send(SIGKILL)
                _ = try await first.exitCode(within: .seconds(10))

                let second = try SluiceProcess(
                    ["run", "--brokers", broker.bootstrapServers, "--group", group, "--topic", Self.topic,
                     "--handler", "noop", "--status-interval", "0"] + embeddedBrokerConsumerProperties)
                defer { second.terminate() }
                let caughtUp = clock.now.advanced(by: .seconds(60))
                var after = try broker.committedAndEnd(group: group, topic: Self.topic, partitions: 1)
                while after.committed[0] != Int64(Self.count), clock.now < caughtUp {
                    try await Task.sleep(for: .milliseconds(200))
                    after = try broker.committedAndEnd(group: group, topic: Self.topic, partitions: 1)
                }
                #expect(after.committed[0] == Int64(Self.count), "\(second.transcript)")
                second.send(SIGTERM)
                #expect(try await second.exitCode(within: .seconds(30)) == 0, "\(second.transcript)")
                let lines = second.transcript.split(separator: "\n").map(String.init)
                #expect(handledCount(in: lines) == 1, "only the stuck message runs again, not 30,000\n\(second.transcript)")
                #expect(lines.contains { $0.contains("skipped 29999 finished before the restart") }, "\(second.transcript)")
            }
        }
    }
}
