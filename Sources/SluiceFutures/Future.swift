//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Synchronization

/// The eventual result of work submitted to an ``Executor``: Python's `concurrent.futures.Future`.
///
/// A future is pending until a worker starts it, running while the work runs, and then finished (a value),
/// failed (an error) or cancelled (``cancel()`` succeeded before the work started). It is a reference type
/// that any thread or task may hold and query.
///
/// ```swift
/// let pool = ThreadPoolExecutor(workers: 2)
/// let future = pool.submit { try expensiveChecksum(of: data) }
///
/// future.whenComplete { result in print("done:", result) }   // runs exactly once
/// let checksum = try future.result(timeout: .seconds(5))       // block this OS thread, or…
/// let same = try await future.value                            // …suspend this task
/// ```
///
/// - Important: ``result(timeout:)`` blocks the calling thread. Never call it from Swift's cooperative pool
///   (an `async` function without a task-executor preference); use ``value`` there. Calling it from a worker
///   of the same pool on a future queued behind you can deadlock, as in Python.
public final class Future<T: Sendable>: Sendable, Hashable {
    let box: Mutex<FutureStateMachine>

    /// A pending future that runs `work` when an executor calls ``run()``; `nil` work is a promise's future.
    init(work: (@Sendable () throws -> T)?) {
        var erased: FutureWork?
        if let work {
            erased = { FutureOutcome(catching: work) }
        }
        self.box = Mutex(FutureStateMachine(work: erased))
    }

    /// A future that is already done.
    init(result: Result<T, any Error>) {
        self.box = Mutex(FutureStateMachine(result: FutureOutcome(result)))
    }

    /// A future that has already finished with `value`.
    ///
    /// ```swift
    /// func cached(_ key: String) -> Future<Int> {
    ///     if let hit = cache[key] { return .succeeded(hit) }
    ///     return pool.submit { compute(key) }
    /// }
    /// ```
    public static func succeeded(_ value: T) -> Future<T> {
        Future(result: .success(value))
    }

    /// A future that has already failed with `error`.
    ///
    /// ```swift
    /// guard input.isValid else { return .failed(ValidationError()) }
    /// ```
    public static func failed(_ error: any Error) -> Future<T> {
        Future(result: .failure(error))
    }

    // MARK: State

    /// The current state: pending, running, finished, failed or cancelled.
    ///
    /// ```swift
    /// if future.state == .running { print("too late to cancel") }
    /// ```
    public var state: FutureState {
        self.box.withLock { $0.futureState }
    }

    /// Whether the future is finished, failed or cancelled (Python's `done()`).
    ///
    /// ```swift
    /// let unfinished = futures.filter { !$0.isDone }
    /// ```
    public var isDone: Bool {
        self.state.isDone
    }

    /// Whether the work is running right now (Python's `running()`).
    ///
    /// ```swift
    /// if future.isRunning { assert(!future.cancel()) }
    /// ```
    public var isRunning: Bool {
        self.state == .running
    }

    /// Whether ``cancel()`` succeeded (Python's `cancelled()`).
    ///
    /// ```swift
    /// if future.isCancelled { skipped += 1 }
    /// ```
    public var isCancelled: Bool {
        self.state == .cancelled
    }

    /// The outcome if the future is done, without blocking; `nil` while pending or running.
    ///
    /// A cancelled future reports `.failure(FutureError.cancelled)`.
    ///
    /// ```swift
    /// if case .success(let value)? = future.completedResult { use(value) }
    /// ```
    public var completedResult: Result<T, any Error>? {
        self.box.withLock { $0.outcome }?.result(as: T.self)
    }

    /// The error the future completed with, without blocking (Python's `exception()` with `timeout=0`).
    ///
    /// `nil` while pending or running and after success; ``FutureError/cancelled`` when cancelled.
    ///
    /// ```swift
    /// for future in done where future.error != nil { log(future.error!) }
    /// ```
    public var error: (any Error)? {
        guard case .failure(let error)? = self.box.withLock({ $0.outcome }) else { return nil }
        return error
    }

    // MARK: Cancellation

    /// Cancels the future if its work has not started yet (Python's `cancel()`).
    ///
    /// A pending future becomes ``FutureState/cancelled``: its work will never run, its callbacks run at once
    /// (on this thread) with ``FutureError/cancelled``, and waiters wake up. Running and completed futures
    /// are not affected. Cancellation and a worker starting the work race under one lock, so exactly one wins.
    ///
    /// ```swift
    /// let future = pool.submit { slowReport() }
    /// if future.cancel() {
    ///     print("never started")
    /// } else {
    ///     print("already running or done")
    /// }
    /// ```
    ///
    /// - Returns: `true` if the future is now cancelled (also when it was cancelled before), `false` if its
    ///   work is running or has completed.
    @discardableResult
    public func cancel() -> Bool {
        let action = self.box.withLock { $0.cancel() }
        switch action {
        case .runCallbacks(let callbacks):
            callbacks.run(with: .failure(FutureError.cancelled))
            return true
        case .alreadyCancelled:
            return true
        case .notCancellable:
            return false
        }
    }

    // MARK: Callbacks

    /// Registers a callback that runs exactly once when the future completes
    /// (Python's `add_done_callback`).
    ///
    /// The callback runs on the thread that completes the future (a worker thread, or the thread calling
    /// ``cancel()`` or ``Promise/succeed(_:)``), or immediately on this thread if the future is already done.
    /// Callbacks run in the order they were added. Keep them short and non-blocking: they delay the worker.
    ///
    /// ```swift
    /// future.whenComplete { result in
    ///     switch result {
    ///     case .success(let value): tracker.markDone(value)
    ///     case .failure(let error): tracker.markFailed(error)
    ///     }
    /// }
    /// ```
    public func whenComplete(_ callback: @escaping @Sendable (Result<T, any Error>) -> Void) {
        let erased: FutureCallback = { outcome in callback(outcome.result(as: T.self)) }
        let action = self.box.withLock { state in
            state.addCallback(id: state.makeCallbackID(), erased)
        }
        if case .runNow(let outcome) = action {
            erased(outcome)
        }
    }

    /// Registers a callback under a known identifier so that it can be removed again
    /// (by a timed-out or cancelled waiter).
    ///
    /// - Returns: `true` if registered, `false` if the future was done and the callback already ran.
    func addRemovableCallback(id: UInt64, _ callback: @escaping FutureCallback) -> Bool {
        let action = self.box.withLock { $0.addCallback(id: id, callback) }
        if case .runNow(let outcome) = action {
            callback(outcome)
            return false
        }
        return true
    }

    /// Reserves a callback identifier for ``addRemovableCallback(id:_:)``.
    func makeCallbackID() -> UInt64 {
        self.box.withLock { $0.makeCallbackID() }
    }

    /// Removes a callback that has not run yet and returns it, so the caller may run it instead.
    func removeCallback(id: UInt64) -> FutureCallback? {
        self.box.withLock { $0.removeCallback(id: id) }?.body
    }

    // MARK: Executor side

    /// Starts and runs the work if the future is still pending; does nothing if it was cancelled.
    /// Called by executors on the thread that should run the work.
    func run() {
        let action = self.box.withLock { $0.start() }
        guard case .run(let work) = action else { return }
        self.complete(work())
    }

    /// `pending → running` without running anything (for promises). `false` if cancelled or already started.
    func markRunning() -> Bool {
        let action = self.box.withLock { $0.start() }
        switch action {
        case .run, .started: return true
        case .notPending: return false
        }
    }

    /// Completes the future and runs its callbacks. `false` if it was already done (the result is dropped).
    @discardableResult
    func complete(_ result: Result<T, any Error>) -> Bool {
        self.complete(FutureOutcome(result))
    }

    @discardableResult
    private func complete(_ outcome: FutureOutcome) -> Bool {
        let action = self.box.withLock { $0.complete(outcome) }
        switch action {
        case .runCallbacks(let callbacks, let outcome):
            callbacks.run(with: outcome)
            return true
        case .alreadyDone:
            return false
        }
    }

    // MARK: Hashable

    /// Futures are equal only when they are the same object.
    ///
    /// ```swift
    /// assert(Future.succeeded(1) != Future.succeeded(1))
    /// ```
    public static func == (lhs: Future<T>, rhs: Future<T>) -> Bool {
        lhs === rhs
    }

    /// Hashes the identity of the future, so futures can be put in a `Set`, as ``wait(_:timeout:returnWhen:)-3xtd5`` does.
    ///
    /// ```swift
    /// var pending: Set<Future<Int>> = [future]
    /// ```
    public func hash(into hasher: inout Hasher) {
        hasher.combine(ObjectIdentifier(self))
    }
}
