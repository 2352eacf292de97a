//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Sluice
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The multi-process suites, nested here so that they run one test at a time: they share two
/// cores, and every consumer waits about 3 s for its group join on the embedded broker.
@Suite(.timeLimit(.minutes(5)), .serialized)
enum ProcessTests {}

/// A `sluice` process started by a test: its output collected line by line, signals, and an exit
/// awaited with a deadline. ``terminate()`` kills it if it still runs; every helper that starts
/// one calls it on the way out.
final class SluiceProcess: @unchecked Sendable {
    /// The built `sluice` executable: next to the test bundle in `.build/<configuration>/`.
    static let executable: URL = {
        var candidates: [URL] = []
        if let resolved = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: resolved).deletingLastPathComponent())
        }
        candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
        // macOS: …/sluicePackageTests.xctest/Contents/MacOS/sluicePackageTests.
        candidates.append(Bundle.main.bundleURL.deletingLastPathComponent())
        for directory in candidates {
            let url = directory.appendingPathComponent("sluice")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return candidates[0].appendingPathComponent("sluice")
    }()

    private let process: Process
    private let output: CollectedOutput
    private let readers: [Thread]
    let arguments: [String]

    /// Starts `sluice arguments…` with the test's environment minus every `SLUICE_*` variable
    /// (plus `environment`).
    init(_ arguments: [String], environment: [String: String] = [:]) throws {
        let executable = Self.executable
        #expect(FileManager.default.isExecutableFile(atPath: executable.path), "no sluice binary at \(executable.path); run swift build --build-tests")
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var childEnvironment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SLUICE_") }
        childEnvironment.merge(environment) { $1 }
        process.environment = childEnvironment
        let stdoutPipe = Pipe()
        let stderrPipe = Pipe()
        process.standardOutput = stdoutPipe
        process.standardError = stderrPipe
        process.standardInput = FileHandle.nullDevice
        self.process = process
        self.arguments = arguments
        let output = CollectedOutput()
        self.output = output
        func reader(_ handle: FileHandle, isStdout: Bool) -> Thread {
            Thread {
                var pending = Data()
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    pending.append(chunk)
                    var lines: [String] = []
                    while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                        lines.append(String(decoding: pending[pending.startIndex..<newline], as: UTF8.self))
                        pending.removeSubrange(pending.startIndex...newline)
                    }
                    if !lines.isEmpty {
                        output.append(lines, isStdout: isStdout)
                    }
                }
                if !pending.isEmpty {
                    let last = String(decoding: pending, as: UTF8.self)
                    output.append([last], isStdout: isStdout)
                }
            }
        }
        readers = [reader(stdoutPipe.fileHandleForReading, isStdout: true), reader(stderrPipe.fileHandleForReading, isStdout: false)]
        try process.run()
        for thread in readers { thread.start() }
    }

    deinit {
        terminate()
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }
    var stdout: [String] { output.lines.withLock { $0.stdout } }
    var stderr: [String] { output.lines.withLock { $0.stderr } }

    /// Sends `signal` (e.g. `SIGTERM`).
    func send(_ signal: Int32) {
        if process.isRunning { kill(process.processIdentifier, signal) }
    }

    /// Kills the process if it still runs and reaps it.
    func terminate() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// The exit status once the process has exited (a signal's number, negated, if one killed
    /// it), or `nil` after `timeout` — the process is then killed.
    func exitCode(within timeout: Duration) async throws -> Int32? {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while process.isRunning, clock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        guard !process.isRunning else {
            Issue.record("sluice \(arguments.joined(separator: " ")) still running after \(timeout); killed it.\n\(transcript)")
            terminate()
            return nil
        }
        // Let the readers drain the pipes (EOF follows the exit).
        for _ in 0..<100 where readers.contains(where: { !$0.isFinished }) {
            try await Task.sleep(for: .milliseconds(10))
        }
        return process.terminationReason == .uncaughtSignal ? -process.terminationStatus : process.terminationStatus
    }

    /// The first line matching `predicate` on stdout (or stderr), waiting at most `timeout`;
    /// `nil` when the process exits or the time runs out first.
    func line(onStderr: Bool = false, within timeout: Duration, where predicate: (String) -> Bool) async throws -> String? {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while true {
            let lines = onStderr ? stderr : stdout
            if let match = lines.first(where: predicate) { return match }
            if !process.isRunning && readers.allSatisfy(\.isFinished) || clock.now >= deadline { return nil }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// The command and everything it wrote, for failure messages.
    var transcript: String {
        let (out, err) = output.lines.withLock { ($0.stdout, $0.stderr) }
        return "$ sluice \(arguments.joined(separator: " "))\n--- stdout\n\(out.suffix(40).joined(separator: "\n"))\n--- stderr\n\(err.suffix(40).joined(separator: "\n"))"
    }

    /// Runs `sluice arguments…` to completion; returns the exit code (nil on timeout) and the process.
    static func run(_ arguments: [String], within timeout: Duration = .seconds(60)) async throws -> (code: Int32?, process: SluiceProcess) {
        let process = try SluiceProcess(arguments)
        defer { process.terminate() }
        let code = try await process.exitCode(within: timeout)
        return (code, process)
    }
}

/// What a process wrote, line by line.
private final class CollectedOutput: Sendable {
    let lines = Mutex<(stdout: [String], stderr: [String])>(([], []))

    func append(_ new: [String], isStdout: Bool) {
        lines.withLock { if isStdout { $0.stdout += new } else { $0.stderr += new } }
    }
}

/// Options every consumer against the embedded broker wants: short fetch waits, and a short
/// session so that the broker's rebalance hold (session timeout − 1 s) stays short.
let embeddedBrokerConsumerProperties = [
    "-X", "fetch.wait.max.ms=10", "-X", "session.timeout.ms=4000", "-X", "heartbeat.interval.ms=250",
]

/// A `sluice dev-broker` process and the address it printed.
struct DevBroker {
    let process: SluiceProcess
    let bootstrapServers: String
    let bootstrapFile: URL

    /// Starts `sluice dev-broker --topic topic:partitions --bootstrap-file F` (and `otherTopics`
    /// with as many partitions), runs `body` with it,
    /// then stops it with SIGTERM and checks that it exits 0 and removes the file. The broker is
    /// killed whatever happens.
    static func with<Result>(
        topic: String, partitions: Int, otherTopics: [String] = [], _ body: (DevBroker) async throws -> Result
    ) async throws -> Result {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-cli-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("bootstrap")
        let topics = ([topic] + otherTopics).flatMap { ["--topic", "\($0):\(partitions)"] }
        let process = try SluiceProcess(["dev-broker"] + topics + ["--bootstrap-file", file.path])
        defer { process.terminate() }

        let line = try await process.line(within: .seconds(30)) { $0.hasPrefix("bootstrap: ") }
        let printed = try #require(line, "dev-broker printed no address\n\(process.transcript)").dropFirst("bootstrap: ".count)
        let written = try String(contentsOf: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(written == String(printed))
        #expect(written.hasPrefix("127.0.0.1:"))

        let result = try await body(DevBroker(process: process, bootstrapServers: written, bootstrapFile: file))

        process.send(SIGTERM)
        let code = try await process.exitCode(within: .seconds(30))
        #expect(code == 0, "dev-broker exit code after SIGTERM\n\(process.transcript)")
        #expect(!FileManager.default.fileExists(atPath: file.path), "dev-broker left its bootstrap file behind")
        return result
    }

    /// Writes `count` messages with `sluice produce`, with ids from `firstID` and over `keys`
    /// keys (`key-(id % keys)`).
    func produce(topic: String, count: Int, firstID: Int = 0, keys: Int = 1_000) async throws {
        let (code, process) = try await SluiceProcess.run([
            "produce", "--brokers", bootstrapServers, "--topic", topic, "--count", "\(count)", "--first-id", "\(firstID)",
            "--keys", "\(keys)",
        ])
        #expect(code == 0, "\(process.transcript)")
        let line = try await process.line(within: .seconds(1)) { $0.hasPrefix("produced \(count) messages") }
        #expect(line != nil, "\(process.transcript)")
    }

    /// The group's committed offsets of `topic` with the finished offsets their metadata lists
    /// (``CommitMetadata``), by partition; partitions without a commit are absent, and `finished`
    /// is `nil` where the metadata is missing or not Sluice's.
    func committedWithFinished(group: String, topic: String, partitions: Int) throws -> [Int32: (offset: Int64, finished: FinishedOffsets?)] {
        let reader = try KafkaConsumer(configuration: KafkaConsumerConfiguration(bootstrapServers: [bootstrapServers], groupID: group))
        defer { try? reader.close(timeout: .seconds(5)) }
        let partitionList = (0..<Int32(partitions)).map { TopicPartition(topic: topic, partition: $0) }
        var result: [Int32: (offset: Int64, finished: FinishedOffsets?)] = [:]
        for entry in try reader.committed(partitionList, timeout: .seconds(10)) {
            guard let offset = entry.offset else { continue }
            result[entry.topicPartition.partition] = (offset, entry.metadata.flatMap { try? CommitMetadata.decode($0, committedOffset: offset) })
        }
        return result
    }

    /// The group's committed offsets and the log end offsets of each partition of `topic`, read
    /// from this process.
    func committedAndEnd(group: String, topic: String, partitions: Int) throws -> (committed: [Int32: Int64], end: [Int32: Int64]) {
        var config = KafkaConsumerConfiguration(bootstrapServers: [bootstrapServers], groupID: group)
        config.fetchWaitMax = .milliseconds(10)
        let reader = try KafkaConsumer(configuration: config)
        defer { try? reader.close(timeout: .seconds(5)) }
        let partitionList = (0..<Int32(partitions)).map { TopicPartition(topic: topic, partition: $0) }
        var committed: [Int32: Int64] = [:]
        for entry in try reader.committed(partitionList, timeout: .seconds(10)) {
            if let offset = entry.offset { committed[entry.topicPartition.partition] = offset }
        }
        var end: [Int32: Int64] = [:]
        for partition in partitionList {
            end[partition.partition] = try reader.watermarks(of: partition, timeout: .seconds(10)).high
        }
        return (committed, end)
    }
}

/// The `N` of a run summary's `handled    N in …; run …` line.
func handledCount(in lines: [String]) -> Int? {
    guard let line = lines.first(where: { $0.hasPrefix("handled ") && $0.contains("; run ") }) else { return nil }
    return line.split(separator: " ").dropFirst().first.flatMap { Int($0.trimmingCharacters(in: [";"])) }
}
