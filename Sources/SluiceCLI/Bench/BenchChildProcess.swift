//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import Foundation
internal import Synchronization

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// Starts this executable as `… bench --scenario-spec JSON` for one scenario and reads the
/// result line it prints. Its standard error goes to ours.
struct BenchChildProcess: Sendable {
    /// The variable carrying a scenario process's spec: its private environment, not its command
    /// line, which every local user can read (the spec holds the `-X` properties).
    static let specVariable = "SLUICE_BENCH_SCENARIO_SPEC"

    /// The prefix of the one stdout line carrying a scenario process's result.
    static let resultPrefix = "sluice-bench-result: "

    var executable: URL
    var spec: BenchScenarioRunner.Spec

    /// Runs the scenario process to its end (killing it after the spec's timeout plus a margin
    /// for start-up and group join).
    func run() async -> BenchResult {
        var failed = BenchResult(
            name: spec.scenario.name, summary: spec.scenario.summary, messages: spec.scenario.messages, handled: 0)
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            let process = Process()
            process.executableURL = executable
            process.arguments = ["bench", "--scenario-process"]
            process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SLUICE_") }
                .merging([Self.specVariable: String(decoding: try encoder.encode(spec), as: UTF8.self)]) { $1 }
            let stdout = Pipe()
            process.standardOutput = stdout
            process.standardInput = FileHandle.nullDevice
            let output = OutputCollector()
            let reader = Thread { output.finish(stdout.fileHandleForReading.readDataToEndOfFile()) }
            try process.run()
            reader.start()
            let deadline = ContinuousClock.now.advanced(by: .seconds(spec.timeoutSeconds + 60))
            while process.isRunning {
                if ContinuousClock.now >= deadline {
                    kill(process.processIdentifier, SIGKILL)
                    process.waitUntilExit()
                    failed.error = "the scenario process was still running after \(Int(spec.timeoutSeconds + 60)) s; killed it"
                    return failed
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            let data = try await output.data()
            let line = String(decoding: data, as: UTF8.self).split(separator: "\n")
                .last { $0.hasPrefix(Self.resultPrefix) }
            guard let line else {
                failed.error = "the scenario process exited with status \(process.terminationStatus) and no result"
                return failed
            }
            return try JSONDecoder().decode(BenchResult.self, from: Data(line.dropFirst(Self.resultPrefix.count).utf8))
        } catch {
            failed.error = "running the scenario process failed: \(error)"
            return failed
        }
    }
}

/// The stdout of a scenario process, handed from the reader thread to the waiting task.
private final class OutputCollector: Sendable {
    private let state = Mutex<(data: Data?, waiter: CheckedContinuation<Data, Never>?)>((nil, nil))

    func finish(_ data: Data) {
        let waiter = state.withLock { state -> CheckedContinuation<Data, Never>? in
            state.data = data
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: data)
    }

    func data() async throws -> Data {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Data? in
                if let data = state.data { return data }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
