//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Something that runs submitted work and hands back a ``Future`` for its result:
/// Python's `concurrent.futures.Executor`.
///
/// ```swift
/// let executor: any Executor = ThreadPoolExecutor(workers: 4)
/// let future = executor.submit { try resize(image, to: 256) }
/// let thumbnail = try future.result(timeout: .seconds(10))
/// executor.shutdown()
/// ```
///
/// Conforming types: ``ThreadPoolExecutor`` (dedicated OS threads, for CPU-bound and blocking work) and
/// ``InlineExecutor`` (runs work on the submitting thread, for tests). Extensions on this protocol add
/// ``map(_:lookAhead:_:)``, shutdown shorthands, and the scoped form ``withExecutor(_:_:)``.
///
/// ## Implementing an executor
///
/// `submit` must never throw or block for long; report problems through the returned future (a shut-down
/// executor returns a future failed with ``FutureError/executorShutdown``). `shutdown` must be idempotent.
///
/// - Note: This protocol shadows the standard library's `_Concurrency.Executor` in files that import
///   `SluiceFutures`; spell the other one `_Concurrency.Executor` if you need it.
public protocol Executor: Sendable {
    /// Schedules `work` and returns a future for its result (Python's `submit(fn)`).
    ///
    /// The work runs once, unless the future is cancelled before it starts. What it returns finishes the
    /// future; what it throws fails it.
    ///
    /// ```swift
    /// let future = pool.submit { () throws -> Int in
    ///     guard let n = Int(text) else { throw ParseError.notANumber(text) }
    ///     return n * n
    /// }
    /// ```
    ///
    /// - Parameter work: a synchronous closure; it may throw.
    /// - Returns: a pending future, or a failed one (``FutureError/executorShutdown``) after ``shutdown(wait:cancelPending:)``.
    func submit<T: Sendable>(_ work: @escaping @Sendable () throws -> T) -> Future<T>

    /// Stops accepting work (Python's `shutdown(wait, cancel_futures)`).
    ///
    /// Work submitted afterwards fails with ``FutureError/executorShutdown``. Queued work still runs unless
    /// `cancelPending` is `true`, in which case every queued future is cancelled. Calling it again is harmless.
    ///
    /// ```swift
    /// pool.shutdown(wait: true, cancelPending: false)   // drain the queue, then return
    /// pool.shutdown(wait: false, cancelPending: true)   // drop the queue, let running work finish alone
    /// ```
    ///
    /// - Parameters:
    ///   - wait: whether to block until all running and queued work has finished and the workers have exited.
    ///   - cancelPending: whether to cancel work that has not started yet.
    func shutdown(wait: Bool, cancelPending: Bool)

    /// How many work items can run at the same time, used for default look-ahead in ``map(_:lookAhead:_:)``.
    ///
    /// Default: `1`.
    ///
    /// ```swift
    /// let window = 4 * pool.parallelism
    /// ```
    var parallelism: Int { get }

    /// Shuts down like ``shutdown(wait:cancelPending:)`` with `wait: true`, but suspends the task instead of
    /// blocking its thread while the work drains.
    ///
    /// The default implementation calls the blocking `shutdown(wait: true, …)`;
    /// ``ThreadPoolExecutor`` suspends without blocking.
    ///
    /// ```swift
    /// await pool.awaitShutdown(cancelPending: false)
    /// ```
    func awaitShutdown(cancelPending: Bool) async
}

extension Executor {
    /// Default: `1`.
    ///
    /// ```swift
    /// #expect(InlineExecutor().parallelism == 1)
    /// ```
    public var parallelism: Int { 1 }

    /// Default: blocks in `shutdown(wait: true, cancelPending:)`.
    ///
    /// ```swift
    /// await InlineExecutor().awaitShutdown(cancelPending: false)
    /// ```
    public func awaitShutdown(cancelPending: Bool) async {
        self.shutdown(wait: true, cancelPending: cancelPending)
    }

    /// Stops accepting work, lets queued work run, and blocks until it has all finished
    /// (Python's `shutdown()`).
    ///
    /// ```swift
    /// defer { pool.shutdown() }
    /// ```
    public func shutdown() {
        self.shutdown(wait: true, cancelPending: false)
    }

    /// Stops accepting work and lets queued work run; blocks until it has finished if `wait` is `true`.
    ///
    /// ```swift
    /// pool.shutdown(wait: false)      // return at once; workers exit when the queue is empty
    /// ```
    public func shutdown(wait: Bool) {
        self.shutdown(wait: wait, cancelPending: false)
    }

    /// Runs `work` on the executor and suspends until it completes: asyncio's `loop.run_in_executor`.
    ///
    /// Cancelling the calling task cancels the work if it has not started.
    ///
    /// ```swift
    /// let digest = try await pool.run { sha256(bigFile) }
    /// ```
    ///
    /// - Throws: what `work` throws, ``FutureError/executorShutdown``, or `CancellationError`.
    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await self.submit(work).value(cancellingOnTaskCancellation: true)
    }
}
