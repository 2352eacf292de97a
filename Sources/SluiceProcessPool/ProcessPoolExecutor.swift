//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

public import Logging
public import SluiceFutures
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An executor whose work runs in supervised worker processes: Python's `ProcessPoolExecutor`, for
/// isolation rather than parallelism.
///
/// Swift has no GIL, so a ``SluiceFutures/ThreadPoolExecutor`` already runs CPU-bound work in parallel.
/// Choose processes when a job must not be able to take the caller down: a job that traps (a failed
/// precondition, an index out of range, `fatalError`), leaks, or hangs costs one task here, not the process.
///
/// - **Jobs are found by name.** Closures cannot cross a process boundary, so nothing is pickled: the worker
///   executable registers its jobs under names and serves them (``ProcessPoolWorker/serve(jobs:)``); the pool
///   sends a name and a payload.
/// - **What crosses is explicit:** raw bytes (``submit(job:payload:timeout:)``) or `Codable` values as JSON
///   (``submit(job:input:returning:timeout:)``). A value that cannot be encoded fails its future at once.
/// - **Supervision.** A worker that dies fails only the task it was running, with an error naming the signal
///   (`SIGILL`, `SIGSEGV`, `SIGKILL`…) or exit status; the tasks queued behind it go to other workers, and the
///   pool starts a replacement after a backoff (50 ms doubling to 5 s by default, reset by a healthy task).
/// - **Real timeouts.** A task past its deadline has its worker killed with `SIGKILL`; the task fails with
///   ``ProcessPoolError/Code/timedOut`` and a fresh worker takes over.
/// - **Recycling.** Workers are replaced between tasks after ``ProcessPoolConfiguration/maxTasksPerWorker``
///   tasks or above ``ProcessPoolConfiguration/maxMemoryBytes`` of resident memory, without failing anything.
///
/// ```swift
/// // One executable, two roles: the pool's process, and (started by the pool) its workers.
/// let jobs: [String: ProcessPoolWorker.Job] = [
///     "thumbnail": { bytes in try makeThumbnail(bytes) },
///     "score": ProcessPoolWorker.codableJob { (order: Order) in score(order) },
/// ]
/// if ProcessPoolWorker.isWorkerProcess {
///     try ProcessPoolWorker.serve(jobs: jobs)
///     exit(0)
/// }
///
/// let pool = try ProcessPoolExecutor(configuration: .init(executable: ProcessPoolConfiguration.currentExecutablePath, workers: 4))
/// let thumbnail = try pool.submit(job: "thumbnail", payload: imageBytes, timeout: .seconds(5)).result()
/// let score = try await pool.submit(job: "score", input: order, returning: Double.self).value
/// pool.shutdown()
/// ```
///
/// ## Costs
///
/// Every task pays for encoding its input and output, two socket writes and two reads, and a wake-up in each
/// process: tens of microseconds. Spawning a worker costs a few milliseconds plus whatever the executable does
/// before it serves. For jobs of a millisecond or more the overhead disappears; for jobs of 100 µs, keep
/// ``ProcessPoolConfiguration/tasksInFlightPerWorker`` at 2 or more so a worker never waits for the pool.
///
/// ## Threads
///
/// One supervisor thread per pool (not from Swift's cooperative pool) polls the workers' sockets. Futures
/// complete, and their callbacks run, on that thread: keep callbacks short. The initialiser blocks until
/// every worker has started (at most ``ProcessPoolConfiguration/startupTimeout``).
public final class ProcessPoolExecutor: Sendable {
    private let supervisor: ProcessPoolSupervisor

    /// The configuration the pool was started with.
    ///
    /// ```swift
    /// print(pool.configuration.executable)
    /// ```
    public let configuration: ProcessPoolConfiguration

    /// Starts the workers and waits until each one serves (sends its hello frame).
    ///
    /// ```swift
    /// var configuration = ProcessPoolConfiguration(executable: "/usr/local/bin/worker", workers: 2)
    /// configuration.defaultTimeout = .seconds(30)
    /// let pool = try ProcessPoolExecutor(configuration: configuration)
    /// ```
    ///
    /// - Parameters:
    ///   - configuration: the executable, the number of workers, limits and timeouts.
    ///   - logger: where worker starts, crashes, timeouts and recycling are logged.
    /// - Throws: ``ProcessPoolError/Code/spawnFailed`` if the executable cannot be started, a worker dies
    ///   before serving (``ProcessPoolError/Code/workerExited`` or ``ProcessPoolError/Code/workerCrashed``), or
    ///   the workers do not all serve within ``ProcessPoolConfiguration/startupTimeout``.
    public init(
        configuration: ProcessPoolConfiguration,
        logger: Logger = Logger(label: "sluice.process-pool")
    ) throws(ProcessPoolError) {
        guard access(configuration.executable, X_OK) == 0 else {
            throw ProcessPoolError(
                code: .spawnFailed,
                message:
                    "The worker executable \(configuration.executable) cannot be run: \(Posix.describe(errno: errno))"
            )
        }
        var environment = ProcessInfo.processInfo.environment.filter { variable in
            !configuration.withheldEnvironmentPrefixes.contains { variable.key.hasPrefix($0) }
        }
        environment.merge(configuration.environment) { $1 }
        // The value is this process's pid: the worker asks to be killed when it dies (Linux).
        environment[ProcessPoolWorker.environmentVariable] = "\(getpid())"
        let supervisor = try ProcessPoolSupervisor(
            configuration: configuration,
            environment: environment.map { "\($0.key)=\($0.value)" },
            logger: logger
        )
        self.supervisor = supervisor
        self.configuration = configuration
        supervisor.start()
        do {
            try supervisor.started.future.result(timeout: configuration.startupTimeout)
        } catch {
            supervisor.shutdown(cancelPending: true)
            _ = try? supervisor.terminated.future.result(timeout: configuration.shutdownGracePeriod + .seconds(1))
            if let error = error as? ProcessPoolError { throw error }
            throw ProcessPoolError(
                code: .spawnFailed,
                message:
                    "The workers of \(configuration.executable) did not all start serving within \(ProcessPoolSupervisor.format(configuration.startupTimeout)); does it call ProcessPoolWorker.serve(jobs:) when ProcessPoolWorker.isWorkerProcess is true?",
                underlying: error
            )
        }
    }

    /// Starts `workers` processes of `executable arguments…`, with the other settings at their defaults.
    ///
    /// ```swift
    /// let pool = try ProcessPoolExecutor(executable: ProcessPoolConfiguration.currentExecutablePath, workers: 2)
    /// ```
    public convenience init(executable: String, arguments: [String] = [], workers: Int) throws(ProcessPoolError) {
        try self.init(
            configuration: ProcessPoolConfiguration(executable: executable, arguments: arguments, workers: workers))
    }

    deinit {
        // Like a thread pool released without shutdown: stop, let what was submitted finish, do not wait.
        self.supervisor.shutdown(cancelPending: false)
    }

    /// The number of worker processes.
    ///
    /// ```swift
    /// let window = 4 * pool.workers
    /// ```
    public var workers: Int { self.configuration.workers }

    /// How many tasks run at the same time: ``workers``. Same meaning as ``SluiceFutures/Executor/parallelism``.
    ///
    /// ```swift
    /// let lookAhead = 2 * pool.parallelism
    /// ```
    public var parallelism: Int { self.configuration.workers }

    /// Sends `payload` to a worker, which runs the job registered as `job` on it (Python's `submit`).
    ///
    /// Never blocks and never throws: problems fail the returned future with a ``ProcessPoolError`` (the job
    /// threw, was not found, or its worker crashed, exited or timed out), or
    /// ``SluiceFutures/FutureError/executorShutdown`` after ``shutdown(wait:cancelPending:)``. The future can be
    /// cancelled while the task is still queued.
    ///
    /// ```swift
    /// let future = pool.submit(job: "sha256", payload: Array(data), timeout: .seconds(2))
    /// future.whenComplete { result in … }     // runs on the pool's supervisor thread
    /// ```
    ///
    /// - Parameters:
    ///   - job: the name the worker registered the job under.
    ///   - payload: the job's input.
    ///   - timeout: how long the job may run once its worker starts it; `nil` for
    ///     ``ProcessPoolConfiguration/defaultTimeout``.
    /// - Returns: a future for the job's output.
    public func submit(job: String, payload: [UInt8], timeout: Duration? = nil) -> Future<[UInt8]> {
        let promise = Promise<[UInt8]>()
        let accepted = self.enqueue(job: job, payload: payload, timeout: timeout, promise: promise) { result in
            promise.complete(with: result)
        }
        return accepted ? promise.future : .failed(FutureError.executorShutdown)
    }

    /// Runs a job in a worker and suspends until it completes; cancelling the calling task cancels the job
    /// if it has not been sent to a worker yet.
    ///
    /// ```swift
    /// let digest = try await pool.run(job: "sha256", payload: bytes)
    /// ```
    ///
    /// - Throws: a ``ProcessPoolError``, ``SluiceFutures/FutureError/executorShutdown`` or `CancellationError`.
    public func run(job: String, payload: [UInt8], timeout: Duration? = nil) async throws -> [UInt8] {
        try await self.submit(job: job, payload: payload, timeout: timeout).value(cancellingOnTaskCancellation: true)
    }

    /// Queues a task whose result `finish` turns into `promise`'s value. `false` after shutdown.
    func enqueue<T: Sendable>(
        job: String,
        payload: [UInt8],
        timeout: Duration?,
        promise: Promise<T>,
        finish: @escaping @Sendable (Result<[UInt8], any Error>) -> Void
    ) -> Bool {
        let timeout = timeout ?? self.configuration.defaultTimeout
        let timeoutNanoseconds = timeout.map(ProcessPoolSupervisor.nanoseconds)
        return self.supervisor.submit { id in
            PoolTask(
                id: id,
                job: job,
                payload: payload,
                timeoutNanoseconds: timeoutNanoseconds,
                timeout: timeout,
                start: { promise.markRunning() },
                finish: finish,
                cancel: { promise.future.cancel() }
            )
        }
    }

    /// Stops accepting work and stops the workers (Python's `shutdown(wait, cancel_futures)`).
    ///
    /// Work submitted afterwards fails with ``SluiceFutures/FutureError/executorShutdown``.
    /// - Without `cancelPending`, queued tasks still run (respecting their timeouts); then each worker's input
    ///   is closed, it exits, and one that has not exited after ``ProcessPoolConfiguration/shutdownGracePeriod``
    ///   is killed with `SIGKILL`.
    /// - With `cancelPending`, queued tasks are cancelled (``SluiceFutures/FutureError/cancelled``) and inputs
    ///   are closed at once; tasks already sent to a worker get the grace period to finish, after which their
    ///   worker is killed and they fail with ``ProcessPoolError/Code/shutDown``.
    ///
    /// Every worker is reaped: no process is left behind. Calling it again is harmless.
    ///
    /// ```swift
    /// pool.shutdown(wait: true, cancelPending: true)
    /// ```
    ///
    /// - Parameters:
    ///   - wait: block until every worker has been reaped. Ignored when called from a future's callback, which
    ///     runs on the pool's own supervisor thread.
    ///   - cancelPending: cancel the tasks that have not been sent to a worker yet.
    public func shutdown(wait: Bool = true, cancelPending: Bool = false) {
        self.supervisor.shutdown(cancelPending: cancelPending)
        // From a future's callback (the supervisor thread), waiting for the supervisor would deadlock.
        if wait && !self.supervisor.isCurrentThreadTheSupervisor {
            _ = try? self.supervisor.terminated.future.result()
        }
    }

    /// Shuts down like ``shutdown(wait:cancelPending:)`` and suspends, without blocking a thread, until every
    /// worker has been reaped.
    ///
    /// ```swift
    /// await pool.awaitShutdown(cancelPending: false)
    /// ```
    public func awaitShutdown(cancelPending: Bool = false) async {
        self.supervisor.shutdown(cancelPending: cancelPending)
        _ = try? await self.supervisor.terminated.future.value
    }

    /// Whether shutdown has been requested.
    ///
    /// ```swift
    /// guard !pool.isShutDown else { return }
    /// ```
    public var isShutDown: Bool {
        self.supervisor.shared.withLock { $0.isShutdown }
    }

    /// Whether every worker has been reaped after shutdown.
    ///
    /// ```swift
    /// pool.shutdown()
    /// assert(pool.isTerminated)
    /// ```
    public var isTerminated: Bool {
        self.supervisor.terminated.future.isDone
    }

    /// The process IDs of the live workers (a snapshot).
    ///
    /// ```swift
    /// for pid in pool.workerPIDs { print("worker", pid) }
    /// ```
    public var workerPIDs: [Int32] {
        self.supervisor.shared.withLock { $0.pids }
    }

    /// The number of tasks not yet sent to a worker (a snapshot, for metrics).
    ///
    /// ```swift
    /// gauge.record(pool.queuedCount)
    /// ```
    public var queuedCount: Int {
        self.supervisor.shared.withLock { $0.queue.count }
    }

    /// Counters of workers started, crashed, timed out and recycled, and of tasks (a snapshot).
    ///
    /// ```swift
    /// #expect(pool.statistics.workersCrashed == 1)
    /// ```
    public var statistics: ProcessPoolStatistics {
        self.supervisor.shared.withLock { $0.statistics }
    }
}
