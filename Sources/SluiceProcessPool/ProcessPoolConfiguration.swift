//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How a ``ProcessPoolExecutor`` starts, supervises and recycles its worker processes.
///
/// ```swift
/// var configuration = ProcessPoolConfiguration(executable: "/usr/local/bin/my-consumer", arguments: ["run"])
/// configuration.workers = 4
/// configuration.maxTasksPerWorker = 10_000            // like Python's max_tasks_per_child
/// configuration.maxMemoryBytes = 512 << 20            // recycle a worker that grows past 512 MiB
/// let pool = try ProcessPoolExecutor(configuration: configuration)
/// ```
public struct ProcessPoolConfiguration: Sendable {
    /// The absolute path of the worker executable. It must call ``ProcessPoolWorker/serve(jobs:)`` when
    /// ``ProcessPoolWorker/isWorkerProcess`` is `true`.
    ///
    /// Usually the running executable itself: ``currentExecutablePath``.
    public var executable: String

    /// The arguments the workers get (without the executable name). The environment variable
    /// ``ProcessPoolWorker/environmentVariable``, not an argument, tells a process that it is a worker.
    ///
    /// Default: `[]`.
    public var arguments: [String]

    /// Variables added to (or replacing those of) this process's environment for the workers.
    ///
    /// For example `["SWIFT_BACKTRACE": "enable=no"]` makes a crashing worker die at once instead of
    /// printing a symbolicated backtrace first (which can take seconds).
    /// Default: `[:]`.
    public var environment: [String: String]

    /// Variables of this process's environment that the workers do not inherit: those whose names start with
    /// one of these prefixes. ``environment`` is applied after, so a variable set there reaches the workers
    /// whatever its name.
    ///
    /// A worker's environment is readable by its user (`/proc/PID/environ`) and inherited by what its jobs
    /// start: keep configuration and credentials the jobs do not need out of it, e.g. `["MYAPP_"]`.
    /// Default: `[]` (the workers inherit the whole environment).
    public var withheldEnvironmentPrefixes: [String]

    /// The largest result a worker may send back for one task, in bytes: its output, or the error it threw.
    ///
    /// A worker whose reply would be larger is killed as soon as the pool reads the reply's length, before
    /// any of it is buffered, and the task fails with ``ProcessPoolError/Code/protocolViolation`` naming the
    /// limit; a fresh worker takes its place. This bounds what a misbehaving job can make the pool's process
    /// allocate. Errors a job throws are cut to fit by the worker (type name and description).
    /// Default: 64 MiB; at most 1 GiB.
    public var maximumResultBytes: Int {
        didSet {
            precondition(
                (1...Frame.maximumLength - Frame.replyOverhead).contains(self.maximumResultBytes),
                "maximumResultBytes must be between 1 and \(Frame.maximumLength - Frame.replyOverhead), got \(self.maximumResultBytes)")
        }
    }

    /// The number of worker processes.
    ///
    /// Default: the number of online processors.
    public var workers: Int {
        didSet {
            precondition(self.workers > 0, "ProcessPoolConfiguration.workers must be at least 1, got \(self.workers)")
        }
    }

    /// How many tasks may be sent to one worker before its previous ones have returned.
    ///
    /// `2` lets a worker start its next task the moment it finishes one, without waiting for the round trip
    /// through the pool. More saves a little CPU for tasks of a few microseconds to 100 µs (fewer
    /// wake-ups), at a price: tasks sent to a worker wait behind its slow task even when another worker
    /// is idle, and a worker due for recycling finishes them first. A task counts against its deadline
    /// only from when it reaches the head of its worker's queue; a worker that dies fails only that
    /// head task, and the others go back to the queue.
    /// Default: `2`.
    public var tasksInFlightPerWorker: Int {
        didSet {
            precondition(
                self.tasksInFlightPerWorker > 0,
                "tasksInFlightPerWorker must be at least 1, got \(self.tasksInFlightPerWorker)")
        }
    }

    /// Replace a worker after it has been given this many tasks (Python's `max_tasks_per_child`); `nil` for never.
    ///
    /// The worker finishes the tasks it has, exits, and a fresh one takes its place; no task fails.
    /// Default: `nil`.
    public var maxTasksPerWorker: Int? {
        didSet { precondition((self.maxTasksPerWorker ?? 1) > 0, "maxTasksPerWorker must be at least 1") }
    }

    /// Replace a worker, between tasks, when its resident memory (`/proc/PID/statm`) exceeds this many bytes;
    /// `nil` for never. Checked after every task. Linux only.
    ///
    /// Default: `nil`.
    public var maxMemoryBytes: Int?

    /// The timeout of tasks submitted without one; `nil` for none.
    ///
    /// Default: `nil`.
    public var defaultTimeout: Duration?

    /// The first delay before replacing a worker that crashed, exited or timed out; it doubles with each
    /// further failure in a row on the same worker slot, up to ``maximumRestartDelay``, and starts over after
    /// a task succeeds there. Planned replacements (recycling) are immediate.
    ///
    /// Default: `.milliseconds(50)`.
    public var initialRestartDelay: Duration

    /// The longest delay before replacing a failed worker.
    ///
    /// Default: `.seconds(5)`.
    public var maximumRestartDelay: Duration

    /// How long ``ProcessPoolExecutor/init(configuration:logger:)`` waits for every worker to say hello.
    ///
    /// Default: `.seconds(30)`.
    public var startupTimeout: Duration

    /// At shutdown, how long a worker gets to exit after its input is closed (and, with `cancelPending`, to
    /// finish the tasks it already has) before it is killed with `SIGKILL`.
    ///
    /// Default: `.seconds(5)`.
    public var shutdownGracePeriod: Duration

    /// Creates a configuration with the defaults documented on each property.
    ///
    /// ```swift
    /// let configuration = ProcessPoolConfiguration(executable: ProcessPoolConfiguration.currentExecutablePath)
    /// ```
    ///
    /// - Parameters:
    ///   - executable: the absolute path of the worker executable.
    ///   - arguments: the worker's arguments.
    ///   - workers: the number of worker processes; `nil` for the number of online processors.
    public init(executable: String, arguments: [String] = [], workers: Int? = nil) {
        self.executable = executable
        self.arguments = arguments
        self.environment = [:]
        self.withheldEnvironmentPrefixes = []
        self.maximumResultBytes = 64 << 20
        self.workers = max(1, workers ?? Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        self.tasksInFlightPerWorker = 2
        self.maxTasksPerWorker = nil
        self.maxMemoryBytes = nil
        self.defaultTimeout = nil
        self.initialRestartDelay = .milliseconds(50)
        self.maximumRestartDelay = .seconds(5)
        self.startupTimeout = .seconds(30)
        self.shutdownGracePeriod = .seconds(5)
        precondition(self.workers > 0, "ProcessPoolConfiguration needs at least one worker")
    }

    /// The path of the running executable (`/proc/self/exe` resolved on Linux), for pools whose workers
    /// are this same program in worker mode.
    ///
    /// ```swift
    /// if ProcessPoolWorker.isWorkerProcess { try ProcessPoolWorker.serve(jobs: jobs); exit(0) }
    /// let pool = try ProcessPoolExecutor(configuration: .init(executable: ProcessPoolConfiguration.currentExecutablePath))
    /// ```
    public static var currentExecutablePath: String {
        #if os(Linux)
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if length > 0 {
            return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        #endif
        return CommandLine.arguments[0]
    }
}
