//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import ArgumentParser
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

    @Flag(name: .customLong("worker-backtraces"), help: "With --isolation process: let Swift's crash backtracer run in workers, with this process's SWIFT_BACKTRACE settings (off by default: it holds a trapping worker for seconds, which can count as a timeout). (env: SLUICE_WORKER_BACKTRACES=1)")
    var workerBacktraces = false

    mutating func validate() throws {
        if isolation == .thread, maxTasksPerWorker != nil || maxWorkerMemory != nil || workerBacktraces {
            throw ValidationError("--max-tasks-per-worker, --max-worker-memory and --worker-backtraces need --isolation process")
        }
        if let maxTasksPerWorker, maxTasksPerWorker < 1 {
            throw ValidationError("--max-tasks-per-worker must be at least 1, got \(maxTasksPerWorker)")
        }
    }

    /// The options of `arguments` (for tests, which do not import ArgumentParser).
    static func parsed(from arguments: [String]) throws -> IsolationOptions {
        try parse(arguments)
    }

    /// The process isolation: this same executable, started as a worker that builds the handler
    /// `setup` names.
    ///
    /// The setup travels in the workers' private environment (``WorkerSetup``); their command line
    /// (`sluice worker --group G --handler H`, or `--routes R1,R2` with routes: what `ps` shows) says whose workers they are and
    /// holds nothing secret. They do not inherit this process's `SLUICE_*` variables, which hold
    /// its configuration, credentials included.
    ///
    /// - Parameters:
    ///   - setup: the handler the workers build.
    ///   - group: the consumer group, to tell workers of different consumers apart in `ps`.
    ///   - environment: this process's environment (for `SWIFT_BACKTRACE`).
    func processIsolation(setup: WorkerSetup, group: String, environment: [String: String]) throws -> ProcessIsolation {
        var pool = ProcessPoolConfiguration(
            executable: ProcessPoolConfiguration.currentExecutablePath,
            arguments: ["worker", "--group", group]
                + (setup.routes.map { ["--routes", $0.map(\.name).joined(separator: ",")] } ?? ["--handler", setup.handler]))
        pool.withheldEnvironmentPrefixes = ["SLUICE_"]
        pool.environment[WorkerSetup.environmentVariable] = try setup.encoded()
        // Swift's crash backtracer symbolicates for seconds before the process dies: a trapping
        // worker would count as timed out, and hold its message that long. It is off in workers
        // whatever this process's SWIFT_BACKTRACE says (the Docker image turns it on for the
        // consumer), unless asked for.
        pool.environment["SWIFT_BACKTRACE"] = workerBacktraces ? environment["SWIFT_BACKTRACE"] ?? "enable=yes" : "enable=no"
        pool.maxTasksPerWorker = maxTasksPerWorker
        pool.maxMemoryBytes = maxWorkerMemory?.bytes
        return ProcessIsolation(pool: pool)
    }
}
