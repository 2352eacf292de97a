//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import ArgumentParser
internal import Foundation
internal import Sluice
internal import SluiceProcessPool

/// Where a synchronous handler runs: on the consumer's threads, or in supervised worker
/// processes.
struct IsolationOptions: ParsableArguments {
    /// `thread` or `process`.
    enum Isolation: String, ExpressibleByArgument, CaseIterable {
        case thread
        case process
    }

    @Option(help: "thread | process: run a synchronous handler on worker threads, or in supervised worker processes (a trap or hang costs one message, not the consumer). (env: SLUICE_ISOLATION)")
    var isolation: Isolation = .thread

    @Option(name: .customLong("max-tasks-per-worker"), help: "With --isolation process: replace a worker after this many messages (default: never). (env: SLUICE_MAX_TASKS_PER_WORKER)")
    var maxTasksPerWorker: Int?

    @Option(name: .customLong("max-worker-memory"), help: "With --isolation process: replace a worker whose resident memory exceeds this, e.g. 512MiB (default: no limit). (env: SLUICE_MAX_WORKER_MEMORY)")
    var maxWorkerMemory: ByteSize?

    mutating func validate() throws {
        if isolation == .thread, maxTasksPerWorker != nil || maxWorkerMemory != nil {
            throw ValidationError("--max-tasks-per-worker and --max-worker-memory need --isolation process")
        }
        if let maxTasksPerWorker, maxTasksPerWorker < 1 {
            throw ValidationError("--max-tasks-per-worker must be at least 1, got \(maxTasksPerWorker)")
        }
    }

    /// The process isolation: this same executable, started as a worker with the same arguments
    /// (so it builds the same handler with the same options).
    func processIsolation(arguments: [String]) -> ProcessIsolation {
        var pool = ProcessPoolConfiguration(executable: ProcessPoolConfiguration.currentExecutablePath, arguments: arguments)
        // Swift's crash backtracer symbolicates for seconds before the process dies: a trapping
        // worker would count as timed out, and hold its message that long. SWIFT_BACKTRACE set by
        // the user (to read worker backtraces) wins.
        if ProcessInfo.processInfo.environment["SWIFT_BACKTRACE"] == nil {
            pool.environment["SWIFT_BACKTRACE"] = "enable=no"
        }
        pool.maxTasksPerWorker = maxTasksPerWorker
        pool.maxMemoryBytes = maxWorkerMemory?.bytes
        return ProcessIsolation(pool: pool)
    }
}
