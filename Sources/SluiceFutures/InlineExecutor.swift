//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Synchronization

/// An executor that runs each work item immediately on the submitting thread: deterministic, for tests.
///
/// `submit` returns a future that is already done. Use it to test code written against ``Executor``
/// without threads, then switch to ``ThreadPoolExecutor`` in production.
///
/// ```swift
/// let executor = InlineExecutor()
/// let future = executor.submit { 2 + 2 }
/// assert(future.isDone)
/// assert(try future.result(timeout: .zero) == 4)
/// ```
public final class InlineExecutor: Executor {
    private let shutDownFlag = Atomic<Bool>(false)

    /// Creates an inline executor.
    ///
    /// ```swift
    /// let engine = Engine(executor: InlineExecutor())
    /// ```
    public init() {}

    /// Runs `work` now, on this thread, and returns its completed future.
    ///
    /// ```swift
    /// let future = InlineExecutor().submit { try JSONDecoder().decode(Order.self, from: bytes) }
    /// ```
    ///
    /// - Returns: a finished or failed future; failed with ``FutureError/executorShutdown`` after shutdown.
    public func submit<T: Sendable>(_ work: @escaping @Sendable () throws -> T) -> Future<T> {
        if self.shutDownFlag.load(ordering: .acquiring) {
            return .failed(FutureError.executorShutdown)
        }
        let future = Future<T>(work: work)
        future.run()
        return future
    }

    /// Rejects later submissions. Nothing is ever queued, so `wait` and `cancelPending` have nothing to do.
    ///
    /// ```swift
    /// executor.shutdown(wait: true, cancelPending: false)
    /// ```
    public func shutdown(wait: Bool, cancelPending: Bool) {
        self.shutDownFlag.store(true, ordering: .releasing)
    }

    /// Whether ``shutdown(wait:cancelPending:)`` has been called.
    ///
    /// ```swift
    /// #expect(executor.isShutDown)
    /// ```
    public var isShutDown: Bool {
        self.shutDownFlag.load(ordering: .acquiring)
    }
}
