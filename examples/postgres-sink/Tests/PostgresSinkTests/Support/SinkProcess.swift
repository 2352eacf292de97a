// A `postgres-sink` process started by a test, so that the test can kill it with SIGKILL as a
// crash would: its output collected, signals, and an exit awaited with a deadline. It is killed
// when the test lets go of it, also when the test fails.

import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

final class SinkProcess {
    /// The built `postgres-sink`: next to the test bundle in `.build/<configuration>/`.
    static let executable: URL = {
        var candidates: [URL] = []
        if let resolved = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: resolved).deletingLastPathComponent())
        }
        candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
        // macOS: …/postgres-sinkPackageTests.xctest/Contents/MacOS/postgres-sinkPackageTests.
        candidates.append(Bundle.main.bundleURL.deletingLastPathComponent())
        for directory in candidates {
            let url = directory.appendingPathComponent("postgres-sink")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return candidates[0].appendingPathComponent("postgres-sink")
    }()

    private let process = Process()
    private let output = CollectedOutput()

    /// Starts `postgres-sink arguments…` with `environment` added to the test's.
    init(_ arguments: [String], environment: [String: String] = [:]) throws {
        let executable = Self.executable
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw ProcessFailure("no postgres-sink at \(executable.path): run swift build --build-tests first")
        }
        let pipe = Pipe()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // A thread of its own reads until end of file (the process and every copy of the pipe's
        // write end gone), so a full pipe never blocks the sink.
        let reader = pipe.fileHandleForReading
        let output = self.output
        Thread {
            while true {
                let chunk = reader.availableData
                if chunk.isEmpty { break }
                output.append(chunk)
            }
            output.finish()
        }.start()
    }

    deinit {
        killNow()
    }

    /// Everything it wrote so far, stdout and stderr interleaved.
    var transcript: String { output.text }

    /// Sends `signal` unless it has exited.
    func send(_ signal: Int32) {
        if process.isRunning { sendSignal(signal, to: process.processIdentifier) }
    }

    /// Kills it with SIGKILL unless it has exited, and reaps it.
    func killNow() {
        if process.isRunning {
            sendSignal(SIGKILL, to: process.processIdentifier)
            process.waitUntilExit()
        }
    }

    /// Its exit status once it exits (a signal's number, negated, if one killed it), with its
    /// whole output read.
    /// - Throws: when it still runs after `timeout`; it is then killed.
    func exitStatus(within timeout: Duration) async throws -> Int32 {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while process.isRunning || !output.isFinished {
            guard ContinuousClock.now < deadline else {
                killNow()
                throw ProcessFailure("postgres-sink still ran after \(timeout)\n\(transcript)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        process.waitUntilExit()
        let status = process.terminationStatus
        return process.terminationReason == .uncaughtSignal ? -status : status
    }

    /// The numbers in its summary's "rows" line, once it has exited.
    func rowsSummary() throws -> (inserted: Int, alreadyPresent: Int, rejected: Int) {
        guard let line = transcript.split(separator: "\n").first(where: { $0.hasPrefix("rows ") }) else {
            throw ProcessFailure("no summary in\n\(transcript)")
        }
        // "rows       20000 inserted, 0 already present, 0 rejected, in 212 batches (…)"
        let numbers = line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        guard numbers.count >= 3 else { throw ProcessFailure("cannot read \(line)") }
        return (numbers[0], numbers[1], numbers[2])
    }
}

/// Output collected by the reader thread.
private final class CollectedOutput: Sendable {
    private let state = Mutex<(data: Data, isFinished: Bool)>((Data(), false))

    var text: String { state.withLock { String(decoding: $0.data, as: UTF8.self) } }
    var isFinished: Bool { state.withLock { $0.isFinished } }

    func append(_ chunk: Data) { state.withLock { $0.data.append(chunk) } }
    func finish() { state.withLock { $0.isFinished = true } }
}

/// `kill(2)`, out of reach of the methods' names.
private func sendSignal(_ signal: Int32, to pid: Int32) {
    _ = kill(pid, signal)
}

struct ProcessFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
