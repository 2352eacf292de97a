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

/// One scale-out run: `sluice dev-broker`, a rate-limited `sluice produce`, three `sluice run
/// --handler forward` instances in one group, one of them stopped with a signal mid-run, a fourth
/// started once the survivors took its partitions over, then the rest of the messages.
///
/// Instance `x` forwards to topic `out-x`, so that each output copy names its writer. Every
/// process is stopped on the way out, whatever happens; every wait is bounded.
struct ScaleOutScenario {
    /// The partition assignment strategy, and the commit interval that goes with it.
    enum Assignment: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case eager
        case cooperativeSticky = "cooperative-sticky"

        var testDescription: String { rawValue }

        /// `sluice run --commit-interval`, in milliseconds. With cooperative-sticky, librdkafka
        /// 2.0.2 takes a commit refused during a rebalance (`ILLEGAL_GENERATION`) for a lost
        /// assignment and rejoins (librdkafka#4059); every rejoin starts another rebalance, which
        /// the embedded broker holds open for `session.timeout.ms` − 1 s. Committing every 200 ms
        /// turned that into an endless storm (hundreds of thousands of duplicates, no convergence);
        /// committing every 5 s, the group usually settles within seconds, though not always.
        var commitIntervalMilliseconds: Int {
            switch self {
            case .eager: 200
            case .cooperativeSticky: 5_000
            }
        }
    }

    var assignment: Assignment
    /// `SIGKILL` or `SIGTERM`, sent to instance `a`.
    var signal: Int32

    /// The most a killed instance can have handled and not committed: its window, and what it
    /// handles in a commit interval and a second of slack at the producer's full rate.
    var uncommittedBound: Int {
        Self.maxInFlight + Self.rate * (assignment.commitIntervalMilliseconds + 1_000) / 1_000
    }

    static let partitions = 16
    static let outputPartitions = 32
    /// Written at `rate` while the group forms and loses a member.
    static let firstBatch = 150_000
    /// Written at once after the fourth instance got partitions, so that it has work.
    static let secondBatch = 50_000
    static let rate = 12_000
    static let maxInFlight = 500

    /// What the run left behind.
    struct Result {
        var outcome: ScaleOutOutcome
        var stoppedExitCode: Int32?
        /// Whether the first producer still ran when the signal went out (it does unless forming
        /// the group took longer than writing the first batch).
        var producingAtStop: Bool
        /// The membership changes after which the group did not settle in time (see `settled`).
        var unsettledChanges: [String]
        var survivorExitCodes: [Int32?]
        var committed: [Int32: Int64]
        var end: [Int32: Int64]
        var fourthHandled: Int
        var elapsed: Duration

        /// The line a test prints: what ran, how long it took, and the outcome.
        func report(_ label: String) -> String {
            "scale-out \(label) in \(elapsed), producing at the stop: \(producingAtStop): \(outcome)"
        }
    }

    func run() async throws -> Result {
        let started = ContinuousClock.now
        let instances = ["a", "b", "c", "d"]
        // Output topics get more partitions: duplicates must fit the embedded broker's retention too.
        let topics = [(name: "in", partitions: Self.partitions)]
            + instances.map { (name: "out-\($0)", partitions: Self.outputPartitions) }
        return try await DevBroker.with(topics: topics) { broker in
            let group = "scale-out-\(UUID().uuidString.prefix(8))"
            func consumer(_ name: String) throws -> SluiceProcess {
                try SluiceProcess(
                    ["run", "--brokers", broker.bootstrapServers, "--group", group, "--topic", "in",
                     "--handler", "forward", "--output-topic", "out-\(name)", "--workers", "1",
                     "--max-in-flight", "\(Self.maxInFlight)",
                     "--commit-interval", "\(assignment.commitIntervalMilliseconds)ms",
                     "--status-interval", "250ms", "--assignment", assignment.rawValue,
                     "-X", "fetch.wait.max.ms=10", "-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=500"])
            }
            var processes: [SluiceProcess] = []
            var consumers: [String: SluiceProcess] = [:]
            defer {
                saveLogs(consumers)
                for process in processes { process.terminate() }
            }

            let producer = try SluiceProcess(
                ["produce", "--brokers", broker.bootstrapServers, "--topic", "in", "--count", "\(Self.firstBatch)",
                 "--rate", "\(Self.rate)", "--size", "100"])
            processes.append(producer)
            let (a, b, c) = (try consumer("a"), try consumer("b"), try consumer("c"))
            processes += [a, b, c]
            consumers = ["a": a, "b": b, "c": c]

            /// Waits until the live members hold every partition exactly once between them (the
            /// rebalance is over), then until the group committed the end offsets of that moment,
            /// and returns those: the end of the change's window. When that takes longer than 45 s,
            /// notes the change as unsettled and returns the end offsets then.
            var unsettled: [String] = []
            func settled(after change: String, members: [SluiceProcess]) async throws -> [Int32: Int64] {
                let settled = try await eventually(within: .seconds(45)) {
                    let held = members.map { $0.currentAssignment() }
                    let all = held.reduce(into: Set<Int32>()) { $0.formUnion($1) }
                    return all.count == Self.partitions && held.map(\.count).reduce(0, +) == Self.partitions
                }
                let end = settled
                    ? try await broker.endOffsetsOnceCommitted(
                        group: group, topic: "in", partitions: Self.partitions, within: .seconds(45))
                    : nil
                if let end { return end }
                unsettled.append(change)
                return try broker.committedAndEnd(group: group, topic: "in", partitions: Self.partitions).end
            }

            // Mid-run: the three share the partitions and every member's commits are accepted.
            let formed = try await eventually(within: .seconds(60)) {
                a.assignmentCount() > 0 && b.assignmentCount() > 0 && c.assignmentCount() > 0
            }
            try #require(formed, "the group of three never formed\n\(a.transcript)\n\(b.transcript)\n\(c.transcript)")
            let afterFormation = try await settled(after: "the group formed", members: [a, b, c])
            let survivorAssignments = (b.assignmentCount(), c.assignmentCount())
            let beforeStop = try broker.committed(group: group, topic: "in", partitions: Self.partitions)
            let producingAtStop = producer.isRunning
            a.send(signal)
            let stoppedExitCode = try await a.exitCode(within: .seconds(60))
            let atStop = try broker.committedWithFinished(group: group, topic: "in", partitions: Self.partitions)
            let committedAtStop = atStop.mapValues(\.offset)
            let finishedAtStop = atStop.compactMapValues(\.finished)

            // The survivors take `a`'s partitions over (after the session timeout for SIGKILL).
            let tookOver = try await eventually(within: .seconds(60)) {
                b.assignmentCount() > survivorAssignments.0 || c.assignmentCount() > survivorAssignments.1
            }
            try #require(tookOver, "nobody took the stopped instance's partitions over\n\(b.transcript)\n\(c.transcript)")
            let afterStop = try await settled(after: "the stop", members: [b, c])

            let beforeJoin = try broker.committed(group: group, topic: "in", partitions: Self.partitions)
            let d = try consumer("d")
            processes.append(d)
            consumers["d"] = d
            let joined = try await eventually(within: .seconds(60)) { d.assignmentCount() > 0 }
            try #require(joined, "the fourth instance got no partitions\n\(d.transcript)")
            let afterJoin = try await settled(after: "the fourth joined", members: [b, c, d])
            let windows = [
                ScaleOutOutcome.Window(name: "formation", from: [:], to: afterFormation),
                ScaleOutOutcome.Window(name: "stop", from: beforeStop, to: afterStop),
                ScaleOutOutcome.Window(name: "join", from: beforeJoin, to: afterJoin),
            ]

            let firstCode = try await producer.exitCode(within: .seconds(120))
            try #require(firstCode == 0, "\(producer.transcript)")
            let (secondCode, second) = try await SluiceProcess.run(
                ["produce", "--brokers", broker.bootstrapServers, "--topic", "in", "--count", "\(Self.secondBatch)",
                 "--first-id", "\(Self.firstBatch)", "--size", "100"])
            try #require(secondCode == 0, "\(second.transcript)")

            let total = Int64(Self.firstBatch + Self.secondBatch)
            var offsets = try broker.committedAndEnd(group: group, topic: "in", partitions: Self.partitions)
            let caughtUp = try await eventually(within: .seconds(120)) {
                offsets = try broker.committedAndEnd(group: group, topic: "in", partitions: Self.partitions)
                return offsets.end.values.reduce(0, +) == total && offsets.committed == offsets.end
            }
            #expect(caughtUp, "the group never committed the end offsets\n\(b.transcript)\n\(c.transcript)\n\(d.transcript)")

            for survivor in [b, c, d] { survivor.send(SIGTERM) }
            var survivorExitCodes: [Int32?] = []
            for survivor in [b, c, d] { survivorExitCodes.append(try await survivor.exitCode(within: .seconds(60))) }
            let fourthHandled = handledCount(in: d.stdout) ?? 0

            var readBack = ["in": Self.partitions]
            for name in instances { readBack["out-\(name)"] = Self.outputPartitions }
            let records = try broker.readAll(topics: readBack)
            var outputs: [String: [IDRecord]] = [:]
            for name in instances { outputs[name] = records["out-\(name)"] ?? [] }
            let outcome = ScaleOutOutcome(
                input: records["in"] ?? [], outputs: outputs, expectedIDs: 0..<Int(total), stopped: "a",
                committedAtStop: committedAtStop, finishedAtStop: finishedAtStop, windows: windows)
            return Result(
                outcome: outcome, stoppedExitCode: stoppedExitCode, producingAtStop: producingAtStop,
                unsettledChanges: unsettled,
                survivorExitCodes: survivorExitCodes,
                committed: offsets.committed, end: offsets.end,
                fourthHandled: fourthHandled, elapsed: started.duration(to: .now))
        }
    }

    /// With `SLUICE_SCALE_OUT_LOGS=DIR` in the environment, writes each instance's output to
    /// `DIR/<assignment>-<signal>-<instance>.log` for a closer look.
    private func saveLogs(_ processes: [String: SluiceProcess]) {
        guard let directory = ProcessInfo.processInfo.environment["SLUICE_SCALE_OUT_LOGS"] else { return }
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for (name, process) in processes {
            let path = "\(directory)/\(assignment.rawValue)-\(signal)-\(name).log"
            try? Data(((process.stderr + process.stdout).joined(separator: "\n") + "\n").utf8)
                .write(to: URL(fileURLWithPath: path))
        }
    }
}
