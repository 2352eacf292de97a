//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import _SluiceTime
/// Delivers `futures` in the order they complete: Python's `as_completed(fs, timeout)`.
///
/// Futures that are already done come first. Duplicates are delivered once. Iterate asynchronously with
/// `for try await`, or block on a thread you own with ``AsCompletedSequence/makeBlockingIterator()``.
///
/// ```swift
/// let futures = urls.map { url in pool.submit { try download(url) } }
///
/// for try await future in asCompleted(futures, timeout: .seconds(30)) {
///     print(try future.result())          // already done: does not block
/// }
///
/// var blocking = asCompleted(futures).makeBlockingIterator()
/// while let future = try blocking.next() { … }
/// ```
///
/// - Parameters:
///   - futures: the futures to watch.
///   - timeout: a limit for the whole iteration, counted from this call; `nil` for none.
/// - Returns: a sequence of the futures in completion order.
public func asCompleted<T: Sendable>(
    _ futures: some Sequence<Future<T>>,
    timeout: Duration? = nil
) -> AsCompletedSequence<T> {
    AsCompletedSequence(futures: futures, timeout: timeout)
}

/// Futures in the order they complete; see ``asCompleted(_:timeout:)``.
///
/// ```swift
/// for try await future in asCompleted(futures) { handle(future) }
/// ```
public struct AsCompletedSequence<T: Sendable>: AsyncSequence, Sendable {
    /// Each element is a future that is done.
    ///
    /// ```swift
    /// for try await future in asCompleted(futures) { assert(future.isDone) }
    /// ```
    public typealias Element = Future<T>
    /// Iteration throws ``FutureError/timedOut`` and `CancellationError`.
    ///
    /// ```swift
    /// do { for try await _ in asCompleted(futures, timeout: .seconds(1)) {} } catch FutureError.timedOut { … }
    /// ```
    public typealias Failure = any Error

    private let futures: [Future<T>]
    var uniqueFutures: [Future<T>] { self.futures }
    private let deadline: MonotonicInstant?
    private let asyncDeadline: ContinuousClock.Instant?

    init(futures: some Sequence<Future<T>>, timeout: Duration?) {
        var seen = Set<Future<T>>()
        self.futures = futures.filter { seen.insert($0).inserted }
        self.deadline = .after(timeout)
        self.asyncDeadline = timeout.map { ContinuousClock.now.advanced(by: $0) }
    }

    /// Starts an asynchronous iteration.
    ///
    /// ```swift
    /// var iterator = asCompleted(futures).makeAsyncIterator()
    /// let first = try await iterator.next()
    /// ```
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(iteration: CompletionIteration(self.futures), deadline: self.asyncDeadline)
    }

    /// Starts a blocking iteration, for use on a thread you own (never in async code).
    ///
    /// ```swift
    /// var iterator = asCompleted(futures, timeout: .seconds(5)).makeBlockingIterator()
    /// while let future = try iterator.next() { handle(future) }
    /// ```
    public func makeBlockingIterator() -> BlockingIterator {
        BlockingIterator(iteration: CompletionIteration(self.futures), deadline: self.deadline)
    }

    /// The asynchronous iterator of an ``AsCompletedSequence``.
    ///
    /// ```swift
    /// for try await future in asCompleted(futures) { … }
    /// ```
    public struct AsyncIterator: AsyncIteratorProtocol {
        private let iteration: CompletionIteration<T>
        private let deadline: ContinuousClock.Instant?
        private var delivered = 0

        init(iteration: CompletionIteration<T>, deadline: ContinuousClock.Instant?) {
            self.iteration = iteration
            self.deadline = deadline
        }

        /// The next future to complete, or `nil` once all have been delivered.
        ///
        /// ```swift
        /// let first = try await iterator.next(isolation: #isolation)
        /// ```
        ///
        /// - Throws: ``FutureError/timedOut`` when the timeout passes first, `CancellationError` when the
        ///   task is cancelled while waiting.
        public mutating func next(isolation actor: isolated (any Actor)?) async throws(any Error) -> Future<T>? {
            guard self.delivered < self.iteration.futures.count else { return nil }
            let future = try await self.iteration.pop(deadline: self.deadline)
            self.delivered += 1
            return future
        }

        /// The next future to complete, or `nil` once all have been delivered.
        ///
        /// ```swift
        /// let first = try await iterator.next()
        /// ```
        public mutating func next() async throws -> Future<T>? {
            try await self.next(isolation: nil)
        }
    }

    /// A blocking iterator of an ``AsCompletedSequence``.
    ///
    /// Swift's `Sequence` cannot throw, and a timed-out iteration must be able to say so, so the blocking
    /// form is an iterator with a throwing ``next()``.
    ///
    /// ```swift
    /// var iterator = asCompleted(futures).makeBlockingIterator()
    /// while let future = try iterator.next() { handle(future) }
    /// ```
    public struct BlockingIterator {
        private let iteration: CompletionIteration<T>
        private let deadline: MonotonicInstant?
        private var delivered = 0

        init(iteration: CompletionIteration<T>, deadline: MonotonicInstant?) {
            self.iteration = iteration
            self.deadline = deadline
        }

        /// Blocks until the next future completes; `nil` once all have been delivered.
        ///
        /// ```swift
        /// while let future = try iterator.next() { handle(future) }
        /// ```
        ///
        /// - Throws: ``FutureError/timedOut`` when the timeout passes first.
        public mutating func next() throws -> Future<T>? {
            guard self.delivered < self.iteration.futures.count else { return nil }
            let future = try self.iteration.pop(until: self.deadline)
            self.delivered += 1
            return future
        }
    }
}
