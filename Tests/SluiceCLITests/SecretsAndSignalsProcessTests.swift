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
    /// A consumer that runs for months: its credentials stay in the process that needs them, and
    /// a stop (a signal to it, to its workers, or to its process group) is never a handler failure.
    @Suite struct SecretsAndSignals {
        /// The pids of the live children of `parent` (read from `/proc/PID/stat`).
        static func children(of parent: Int32) -> [Int32] {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
            return entries.compactMap(Int32.init).filter { pid in
                guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                    let close = stat.lastIndex(of: ")")
                else { return false }
                let fields = stat[stat.index(after: close)...].split(separator: " ")
                return fields.count > 2 && fields[0] != "Z" && Int32(fields[1]) == parent
            }
        }

        /// `/proc/PID/<file>` with its NUL separators as spaces ("" when it cannot be read).
        static func read(_ pid: Int32, _ file: String) -> String {
            let data = FileManager.default.contents(atPath: "/proc/\(pid)/\(file)") ?? Data()
            return String(decoding: data.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
        }

        @Test func secretsReachNoCommandLineAndNoOutputAndTheRunWorks() async throws {
            let topic = "secured"
            let group = "g-\(UUID().uuidString.prefix(8))"
            let total = 200
            let secrets = ["S3cr3t;x", "K3y;P4ss", "H4ndl3r;K3y"]
            try await DevBroker.with(topic: topic, partitions: 2) { broker in
                try await broker.produce(topic: topic, count: total)
                let run = try SluiceProcess(
                    ["run", "--brokers", broker.bootstrapServers, "--group", group, "--topic", topic, "--handler", "spin",
                     "--isolation", "process", "--workers", "2", "--max-messages", "\(total)", "--status-interval", "200ms",
                     "--log-level", "debug"],
                    environment: [
                        // The documented ways: one variable per property, and `\;` inside a list.
                        "SLUICE_X_SASL_PASSWORD": "S3cr3t;x",
                        "SLUICE_KAFKA_PROPERTY":
                            #"fetch.wait.max.ms=10;session.timeout.ms=4000;heartbeat.interval.ms=250;debug=conf;ssl.key.password=K3y\;P4ss"#,
                        "SLUICE_HANDLER_OPTION": #"micros=20000;api-key=H4ndl3r\;K3y"#,
                    ])
                defer { run.terminate() }

                // The workers start before the consumer joins its group (about 3 s): look at them then.
                let clock = ContinuousClock()
                let deadline = clock.now.advanced(by: .seconds(30))
                var workers: [Int32] = []
                while workers.count < 2, clock.now < deadline, run.isRunning {
                    try await Task.sleep(for: .milliseconds(20))
                    workers = Self.children(of: run.pid).filter { Self.read($0, "cmdline").contains(" worker ") }
                }
                try #require(workers.count == 2, "no workers\n\(run.transcript)")
                for worker in workers {
                    #expect(Self.read(worker, "cmdline").hasSuffix("worker --group \(group) --handler spin "))
                    let environment = Self.read(worker, "environ")
                    #expect(!environment.contains("S3cr3t") && !environment.contains("K3y;P4ss"), "Kafka credentials reach no worker")
                    #expect(!environment.contains("SLUICE_KAFKA_PROPERTY") && !environment.contains("SLUICE_X_"))
                    #expect(environment.contains("SLUICE_WORKER_SETUP="), "the handler's setup travels privately")
                }
                let everyone = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(Int32.init)
                for pid in everyone {
                    let commandLine = Self.read(pid, "cmdline")
                    for secret in secrets + ["S3cr3t", "H4ndl3r"] {
                        #expect(!commandLine.contains(secret), "\(pid): \(commandLine)")
                    }
                }

                let code = try await run.exitCode(within: .seconds(90))
                #expect(code == 0, "\(run.transcript)")
                #expect(handledCount(in: run.stdout) == total, "\(run.transcript)")
                let output = (run.stdout + run.stderr).joined(separator: "\n")
                #expect(output.contains("sasl.password"), "librdkafka's configuration dump (debug=conf) is there")
                for secret in secrets + ["S3cr3t", "P4ss", "H4ndl3r"] {
                    #expect(!output.contains(secret), "\(secret) in the output")
                }
                let offsets = try broker.committedAndEnd(group: group, topic: topic, partitions: 2)
                #expect(offsets.committed == offsets.end)
            }
        }

        /// How a test stops the first run mid-run.
        enum Stop: String, CaseIterable, CustomTestStringConvertible {
            /// SIGTERM to every worker, then to the consumer: systemd's KillMode=control-group, `pkill`.
            case sigtermToEveryProcess
            /// SIGINT to the consumer's process group: Ctrl-C in a terminal.
            case sigintToTheProcessGroup
            /// SIGTERM to the consumer's process group.
            case sigtermToTheProcessGroup

            var testDescription: String { rawValue }
        }

        @Test(arguments: [
            (Stop.sigtermToEveryProcess, "skip"), (.sigtermToEveryProcess, "dead-letter"),
            (.sigintToTheProcessGroup, "skip"), (.sigtermToTheProcessGroup, "dead-letter"),
        ])
        func aStopIsNeverAHandlerFailureAndASecondRunHandlesExactlyTheRest(stop: Stop, policy: String) async throws {
            let topic = "slow"
            let group = "g-\(UUID().uuidString.prefix(8))"
            let total = 60
            let partitions = 2
            try await DevBroker.with(topic: topic, partitions: partitions, otherTopics: ["slow.dlq", "done"]) { broker in
                try await broker.produce(topic: topic, count: total)
                let common = ["run", "--brokers", broker.bootstrapServers, "--group", group, "--topic", topic]
                    + embeddedBrokerConsumerProperties + ["--commit-interval", "200ms", "--ordering", "unordered"]

                // 200 ms of CPU per message in two workers, four in flight: a stop finds some messages
                // done, some running, most not started. One attempt: a worker killed by the signal
                // would be skipped or dead-lettered at once.
                let first = try SluiceProcess(
                    common + [
                        "--handler", "spin", "--handler-option", "micros=200000", "--isolation", "process",
                        "--workers", "2", "--max-in-flight", "4", "--max-attempts", "1", "--on-failure", policy,
                        "--status-interval", "200ms",
                    ])
                defer { first.terminate() }
                let progress = try await first.line(onStderr: true, within: .seconds(60)) { line in
                    guard let range = line.range(of: "· handled ") else { return false }
                    return !line[range.upperBound...].hasPrefix("0 ")
                }
                try #require(progress != nil, "no progress from the first run\n\(first.transcript)")
                let workers = Self.children(of: first.pid)
                try #require(workers.count == 2, "\(workers)\n\(first.transcript)")
                switch stop {
                case .sigtermToEveryProcess:
                    for worker in workers { #expect(kill(worker, SIGTERM) == 0) }
                    // Long enough for a worker that died of it to be reported and its message failed.
                    try await Task.sleep(for: .milliseconds(500))
                    first.send(SIGTERM)
                case .sigintToTheProcessGroup, .sigtermToTheProcessGroup:
                    #expect(getpgid(first.pid) == first.pid, "the consumer leads its own process group")
                    #expect(kill(-first.pid, stop == .sigintToTheProcessGroup ? SIGINT : SIGTERM) == 0)
                }
                let firstCode = try await first.exitCode(within: .seconds(60))
                #expect(firstCode == 0, "\(first.transcript)")
                let firstHandled = try #require(handledCount(in: first.stdout), "\(first.transcript)")
                #expect(firstHandled > 0 && firstHandled < total, "stopped mid-run: \(firstHandled) of \(total)")
                let consumed = first.stdout.first { $0.hasPrefix("consumed ") } ?? ""
                #expect(consumed.contains("failed 0,"), "\(first.transcript)")
                #expect(!first.stdout.contains { $0.hasPrefix("failures ") }, "nothing skipped or dead-lettered\n\(first.transcript)")
                let workerLine = first.stdout.first { $0.hasPrefix("workers ") } ?? ""
                #expect(workerLine.contains("crashed 0,"), "\(workerLine)")
                for worker in workers { #expect(!TestProcess.isAlive(worker), "worker \(worker) outlived the consumer") }

                // Nothing committed past an unhandled message: exactly what the first run handled.
                let afterFirst = try broker.committedAndEnd(group: group, topic: topic, partitions: partitions)
                #expect(afterFirst.committed.values.reduce(0, +) == Int64(firstHandled), "\(afterFirst)")

                // The second run forwards exactly the rest; with the first run's, every id once.
                let rest = total - firstHandled
                let (secondCode, second) = try await SluiceProcess.run(
                    common + ["--handler", "forward", "--output-topic", "done", "--max-messages", "\(rest)", "--status-interval", "0"],
                    within: .seconds(90))
                #expect(secondCode == 0, "\(second.transcript)")
                let input = try broker.readAll(topic: topic, count: total)
                let forwarded = try broker.readAll(topic: "done", count: rest)
                func id(_ message: KafkaMessage) -> Int? { message.headers.string(named: "sluice-id").flatMap(Int.init) }
                let handledFirst = input.filter { $0.offset < afterFirst.committed[$0.partition] ?? 0 }.compactMap(id)
                let handledSecond = forwarded.compactMap(id)
                #expect(handledFirst.count == firstHandled && handledSecond.count == rest, "\(handledFirst.count) + \(handledSecond.count)")
                #expect((handledFirst + handledSecond).sorted() == Array(0..<total), "every id exactly once")
                #expect(try broker.readAll(topic: "slow.dlq", count: 0).isEmpty, "nothing dead-lettered")
                let afterSecond = try broker.committedAndEnd(group: group, topic: topic, partitions: partitions)
                #expect(afterSecond.committed == afterSecond.end)
            }
        }

        @Test func aMetricsPortInUseFailsTheRunAtStartNamingIt() async throws {
            // The embedded broker's own port is in use.
            try await DevBroker.with(topic: "t", partitions: 1) { broker in
                let port = try #require(broker.bootstrapServers.split(separator: ":").last.map(String.init))
                let clock = ContinuousClock()
                let started = clock.now
                let (code, run) = try await SluiceProcess.run(
                    ["run", "--brokers", broker.bootstrapServers, "--topic", "t", "--handler", "noop",
                     "--metrics-port", port, "--status-interval", "0"] + embeddedBrokerConsumerProperties,
                    within: .seconds(60))
                #expect(code == 1, "\(run.transcript)")
                let error = run.stderr.first { $0.hasPrefix("error: ") } ?? ""
                #expect(error.contains("error: cannot serve metrics and health on 127.0.0.1:\(port) (--metrics-port, --metrics-host)"), "\(run.transcript)")
                #expect(error.contains("in use"), "\(error)")
                #expect(handledCount(in: run.stdout) == nil, "it never ran: \(run.transcript)")
                #expect(clock.now - started < .seconds(10), "it failed at start, without joining the group")
            }
        }
    }
}

/// Process-table look-ups for the tests.
enum TestProcess {
    /// Whether `pid` runs (exists and is not a zombie).
    static func isAlive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        let state = stat[stat.index(after: close)...].split(separator: " ").first
        return state != "Z" && state != "X"
    }
}
