//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// An executor with a fixed number of dedicated OS threads: Python's `ThreadPoolExecutor`, and, as a
/// `TaskExecutor`, the thread pool behind asyncio's `loop.run_in_executor`.
///
/// Use it for synchronous CPU-bound or blocking work. Its threads are its own (named `name-0`,
/// `name-1`, …), never Swift's cooperative pool, so long computations cannot starve async tasks, and
/// because Swift has no GIL, `workers` threads really run in parallel on `workers` cores.
///
/// ```swift
/// let pool = ThreadPoolExecutor(workers: ProcessInfo.processInfo.activeProcessorCount)
/// let futures = images.map { image in pool.submit { try thumbnail(image) } }
/// for future in asCompleted(futures) { … }
/// pool.shutdown()
/// ```
///
/// As a `TaskExecutor`, it also runs async code on its threads:
///
/// ```swift
/// let report = await withTaskExecutorPreference(pool) {
///     await buildReport()          // runs on a pool thread, resumes there after each await
/// }
/// ```
///
/// Work is queued in one FIFO queue behind one lock; each submission wakes at most one sleeping worker.
/// A worker that finds the queue empty yields the CPU a few dozen times before it sleeps, so bursts of
/// small items do not pay for a wake-up each, while an idle pool still uses no CPU.
/// Releasing the last reference without calling ``shutdown(wait:cancelPending:)`` shuts the pool down
/// without waiting; queued work still runs.
public final class ThreadPoolExecutor: Executor, TaskExecutor {
    private let core: ThreadPoolCore

    /// The number of worker threads.
    ///
    /// ```swift
    /// let window = 4 * pool.workers
    /// ```
    public let workers: Int

    /// The thread-name prefix; worker `i` is named `"\(name)-\(i)"`, truncated to 15 bytes on Linux.
    ///
    /// ```swift
    /// let pool = ThreadPoolExecutor(workers: 2, name: "resize")   // threads "resize-0", "resize-1"
    /// ```
    public let name: String

    /// Starts `workers` threads.
    ///
    /// ```swift
    /// let pool = ThreadPoolExecutor(workers: 4, name: "thumbnails")
    /// ```
    ///
    /// - Parameters:
    ///   - workers: the number of threads, at least 1. For CPU-bound work, the number of cores.
    ///   - name: the prefix of the thread names, visible in `top -H`, debuggers and crash reports.
    public init(workers: Int, name: String = "sluice-worker") {
        precondition(workers > 0, "ThreadPoolExecutor needs at least one worker, got \(workers)")
        self.workers = workers
        self.name = name
        self.core = ThreadPoolCore(workers: workers, name: name)
    }

    deinit {
        self.core.shutdown(wait: false, cancelPending: false)
    }

    /// Queues `work` for the next free worker (Python's `submit`).
    ///
    /// ```swift
    /// let future = pool.submit { try compress(chunk) }
    /// ```
    ///
    /// - Returns: a pending future, or one failed with ``FutureError/executorShutdown`` after shutdown.
    public func submit<T: Sendable>(_ work: @escaping @Sendable () throws -> T) -> Future<T> {
        let future = Future<T>(work: work)
        if self.core.submit(future) {
            return future
        }
        return .failed(FutureError.executorShutdown)
    }

    /// Stops accepting work (Python's `shutdown(wait, cancel_futures)`).
    ///
    /// Queued work still runs unless `cancelPending` is `true`; then queued futures are cancelled.
    /// Running work is never interrupted. Jobs of async tasks that prefer this executor are never dropped:
    /// queued ones still run here, later ones run on the global concurrent executor.
    ///
    /// ```swift
    /// pool.shutdown(wait: true, cancelPending: true)   // cancel the backlog, wait for running work
    /// ```
    ///
    /// - Parameters:
    ///   - wait: block until every worker has exited. Ignored when called from one of this pool's own
    ///     workers (it cannot wait for itself); the pool then terminates after that worker's current item.
    ///   - cancelPending: cancel work that has not started.
    public func shutdown(wait: Bool, cancelPending: Bool) {
        self.core.shutdown(wait: wait, cancelPending: cancelPending)
    }

    /// Shuts down and suspends, without blocking a thread, until every worker has exited.
    ///
    /// ```swift
    /// await pool.awaitShutdown(cancelPending: false)
    /// ```
    public func awaitShutdown(cancelPending: Bool) async {
        self.core.shutdown(wait: false, cancelPending: cancelPending)
        if !self.core.isCurrentThreadAWorker {
            await self.core.awaitTermination()
        }
    }

    /// The number of workers, so that ``Executor/map(_:lookAhead:_:)`` keeps them all busy.
    ///
    /// ```swift
    /// #expect(ThreadPoolExecutor(workers: 3).parallelism == 3)
    /// ```
    public var parallelism: Int { self.workers }

    /// Whether shutdown has been requested.
    ///
    /// ```swift
    /// guard !pool.isShutDown else { return }
    /// ```
    public var isShutDown: Bool { self.core.isShutDown }

    /// Whether every worker thread has exited after shutdown.
    ///
    /// ```swift
    /// pool.shutdown(wait: true)
    /// assert(pool.isTerminated)
    /// ```
    public var isTerminated: Bool { self.core.isTerminated }

    /// The number of queued items not yet picked up by a worker (a snapshot, for metrics).
    ///
    /// ```swift
    /// gauge.record(pool.queuedCount)
    /// ```
    public var queuedCount: Int { self.core.queuedCount }

    /// How long each worker thread has been running its current item (`nil` for an idle one), in
    /// worker order: a worker inside one item for long is stuck or slow.
    ///
    /// ```swift
    /// let stuck = pool.workerActivity.allSatisfy { ($0 ?? .zero) > .seconds(30) }
    /// ```
    public var workerActivity: [Duration?] { self.core.workerActivity }

    /// Whether the calling code runs on one of this pool's worker threads.
    ///
    /// ```swift
    /// precondition(!pool.isCurrentThreadAWorker, "blocking on the pool from inside the pool")
    /// ```
    public var isCurrentThreadAWorker: Bool { self.core.isCurrentThreadAWorker }

    // MARK: TaskExecutor

    /// Runs a job of a task that prefers this executor on a worker thread. Called by the Swift runtime.
    ///
    /// ```swift
    /// await withTaskExecutorPreference(pool) { await work() }   // the runtime calls enqueue
    /// ```
    public func enqueue(_ job: consuming ExecutorJob) {
        self.core.enqueue(job, on: self.asUnownedTaskExecutor())
    }
}
