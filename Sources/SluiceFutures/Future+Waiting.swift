//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import _SluiceTime
extension Future {
    /// Blocks the calling OS thread until the future completes, and returns its value or throws its error
    /// (Python's `result(timeout)`).
    ///
    /// ```swift
    /// let future = pool.submit { try parse(payload) }
    /// do {
    ///     let record = try future.result(timeout: .seconds(2))
    /// } catch FutureError.timedOut {
    ///     future.cancel()          // gave up waiting; cancel if it has not started
    /// } catch {
    ///     print("parse failed:", error)
    /// }
    /// ```
    ///
    /// - Parameter timeout: how long to wait; `nil` waits forever, `.zero` only checks.
    /// - Returns: the value of a finished future.
    /// - Throws: the work's error if it failed, ``FutureError/cancelled`` if it was cancelled, or
    ///   ``FutureError/timedOut`` if it is still pending or running when the timeout expires.
    /// - Important: Blocks a thread. From `async` code use ``value``.
    public func result(timeout: Duration? = nil) throws -> T {
        if let result = self.completedResult {
            return try result.get()
        }
        let deadline = MonotonicInstant.after(timeout)
        if let deadline, deadline.hasPassed {
            throw FutureError.timedOut
        }

        let event = BlockingEvent()
        let id = self.makeCallbackID()
        if self.addRemovableCallback(id: id, { _ in event.set() }) {
            if !event.wait(until: deadline) {
                // Timed out. If the callback is still registered the future is not done: unregister it so
                // repeated polling does not pile up callbacks. If it is gone, the future just completed.
                if self.removeCallback(id: id) != nil {
                    throw FutureError.timedOut
                }
            }
        }
        guard let result = self.completedResult else {
            preconditionFailure("Future woke a waiter before it completed")
        }
        return try result.get()
    }

    /// Suspends the current task until the future completes, without blocking a thread
    /// (Python's `await asyncio.wrap_future(future)`).
    ///
    /// Cancelling the awaiting task stops the wait at once with `CancellationError`, and leaves the future
    /// itself alone (other holders may still want it). To cancel the work too, use
    /// ``value(cancellingOnTaskCancellation:)``.
    ///
    /// ```swift
    /// let future = pool.submit { render(page) }
    /// let html = try await future.value
    /// ```
    ///
    /// - Throws: the work's error, ``FutureError/cancelled`` if the future was cancelled, or
    ///   `CancellationError` if the awaiting task was cancelled.
    public var value: T {
        get async throws {
            try await self.value(cancellingOnTaskCancellation: false)
        }
    }

    /// Like ``value``, and optionally cancels the future when the awaiting task is cancelled, as asyncio's
    /// `wrap_future` does.
    ///
    /// ```swift
    /// let task = Task { try await pool.submit { crunch() }.value(cancellingOnTaskCancellation: true) }
    /// task.cancel()        // the work is cancelled too, if it has not started yet
    /// ```
    ///
    /// - Parameter cancellingOnTaskCancellation: whether task cancellation also calls ``cancel()`` on the future.
    /// - Throws: the work's error, ``FutureError/cancelled``, or `CancellationError`.
    public func value(cancellingOnTaskCancellation: Bool) async throws -> T {
        if let result = self.completedResult {
            return try result.get()
        }
        let id = self.makeCallbackID()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                let registered = self.addRemovableCallback(id: id) { outcome in
                    continuation.resume(with: outcome.result(as: T.self))
                }
                // The cancellation handler may have run before the callback existed: check again now.
                if registered, Task.isCancelled {
                    self.abandonWait(id: id, cancelling: cancellingOnTaskCancellation)
                }
            }
        } onCancel: {
            self.abandonWait(id: id, cancelling: cancellingOnTaskCancellation)
        }
    }

    /// Ends an async wait because its task was cancelled. Whoever removes the callback resumes it, so the
    /// continuation is resumed exactly once even when cancellation and completion race.
    private func abandonWait(id: UInt64, cancelling: Bool) {
        if let callback = self.removeCallback(id: id) {
            if cancelling { self.cancel() }
            callback(.failure(CancellationError()))
        }
    }
}
