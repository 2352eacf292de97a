//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import _SluiceTime
import DequeModule

extension Executor {
    /// Applies `transform` to every element of `inputs` on this executor and delivers the results in input
    /// order, keeping at most `lookAhead` items submitted ahead of the consumer (Python's
    /// `Executor.map(fn, iterable, buffersize=…)`).
    ///
    /// Inputs are read lazily: at most `lookAhead` items are submitted but not yet delivered, so an endless
    /// or huge input sequence uses bounded memory. While the consumer waits for a slow item, the others in
    /// the window keep running, so one slow item does not idle the pool. The first failure is delivered in
    /// its position and cancels the items submitted after it; so does abandoning the iteration.
    ///
    /// ```swift
    /// // async: suspends between results
    /// for try await thumbnail in pool.map(images, { try makeThumbnail($0) }) {
    ///     try save(thumbnail)
    /// }
    ///
    /// // blocking: from a thread you own
    /// let sizes = try pool.map(files) { try fileSize($0) }.collect(timeout: .seconds(30))
    /// ```
    ///
    /// - Parameters:
    ///   - inputs: the items, read on the consuming side as results are taken.
    ///   - lookAhead: the most items submitted ahead of the consumer, at least 1.
    ///     Default: `4 * parallelism` (at least 2).
    ///   - transform: the work for one item; what it throws is delivered in that item's position.
    /// - Returns: a sequence of the results, iterated with `for try await` or a blocking iterator.
    public func map<Inputs: Sequence, Output: Sendable>(
        _ inputs: Inputs,
        lookAhead: Int? = nil,
        _ transform: @escaping @Sendable (Inputs.Element) throws -> Output
    ) -> ExecutorMapSequence<Inputs, Output> where Inputs.Element: Sendable {
        let lookAhead = lookAhead ?? max(2, 4 * self.parallelism)
        precondition(lookAhead > 0, "map(lookAhead:) must be at least 1, got \(lookAhead)")
        return ExecutorMapSequence(executor: self, inputs: inputs, lookAhead: lookAhead, transform: transform)
    }
}

/// The results of ``Executor/map(_:lookAhead:_:)``, in input order.
///
/// Iterate it asynchronously with `for try await`, or from a thread you own with
/// ``makeBlockingIterator(timeout:)`` or ``collect(timeout:)``. Each iteration submits the work afresh.
///
/// ```swift
/// let squares = pool.map(1...1_000, lookAhead: 16) { $0 * $0 }
/// for try await square in squares { total += square }
/// ```
public struct ExecutorMapSequence<Inputs: Sequence, Output: Sendable>: AsyncSequence
where Inputs.Element: Sendable {
    /// The type of the results.
    ///
    /// ```swift
    /// let sequence: ExecutorMapSequence<[Int], String> = pool.map([1, 2]) { "\($0)" }   // Element == String
    /// ```
    public typealias Element = Output
    /// Iteration throws the work's errors, ``FutureError``, and `CancellationError`.
    ///
    /// ```swift
    /// do { for try await _ in pool.map(items, work) {} } catch { print("item failed:", error) }
    /// ```
    public typealias Failure = any Error

    private let executor: any Executor
    private let inputs: Inputs
    private let lookAhead: Int
    private let transform: @Sendable (Inputs.Element) throws -> Output

    init(
        executor: any Executor,
        inputs: Inputs,
        lookAhead: Int,
        transform: @escaping @Sendable (Inputs.Element) throws -> Output
    ) {
        self.executor = executor
        self.inputs = inputs
        self.lookAhead = lookAhead
        self.transform = transform
    }

    private func makeWindow() -> MapWindow<Inputs.Iterator, Output> {
        let transform = self.transform
        let executor = self.executor
        return MapWindow(inputs: self.inputs.makeIterator(), lookAhead: self.lookAhead) { input in
            executor.submit { try transform(input) }
        }
    }

    /// Starts an asynchronous iteration; each `next` suspends until the next result in order is ready.
    ///
    /// ```swift
    /// var iterator = pool.map(items) { process($0) }.makeAsyncIterator()
    /// let first = try await iterator.next()
    /// ```
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(window: self.makeWindow())
    }

    /// Starts a blocking iteration for use on a thread you own (never in async code).
    ///
    /// ```swift
    /// var results = pool.map(lines) { parse($0) }.makeBlockingIterator(timeout: .seconds(5))
    /// while let record = try results.next() { store(record) }
    /// ```
    ///
    /// - Parameter timeout: a limit for the whole iteration, counted from this call, as in Python's
    ///   `map(timeout=)`; `nil` for none.
    public func makeBlockingIterator(timeout: Duration? = nil) -> BlockingIterator {
        BlockingIterator(window: self.makeWindow(), deadline: .after(timeout))
    }

    /// Blocks until every result is ready and returns them in input order.
    ///
    /// ```swift
    /// let hashes = try pool.map(chunks) { sha256($0) }.collect(timeout: .seconds(60))
    /// ```
    ///
    /// - Parameter timeout: a limit for the whole call; `nil` for none.
    /// - Throws: the first error in input order, or ``FutureError/timedOut``.
    public func collect(timeout: Duration? = nil) throws -> [Output] {
        var iterator = self.makeBlockingIterator(timeout: timeout)
        var results: [Output] = []
        while let result = try iterator.next() {
            results.append(result)
        }
        return results
    }

    /// The asynchronous iterator of an ``ExecutorMapSequence``.
    ///
    /// ```swift
    /// for try await result in pool.map(inputs, transform) { … }
    /// ```
    public struct AsyncIterator: AsyncIteratorProtocol {
        private let window: MapWindow<Inputs.Iterator, Output>

        init(window: MapWindow<Inputs.Iterator, Output>) {
            self.window = window
        }

        /// The next result in input order, or `nil` after the last one.
        ///
        /// ```swift
        /// let first = try await iterator.next(isolation: #isolation)
        /// ```
        ///
        /// - Throws: the work's error (then iteration ends and later items are cancelled), or
        ///   `CancellationError` if the task is cancelled while waiting.
        public mutating func next(isolation actor: isolated (any Actor)?) async throws(any Error) -> Output? {
            guard let future = self.window.next() else { return nil }
            do {
                return try await future.value
            } catch {
                self.window.finish()
                throw error
            }
        }

        /// The next result in input order, or `nil` after the last one.
        ///
        /// ```swift
        /// let first = try await iterator.next()
        /// ```
        public mutating func next() async throws -> Output? {
            try await self.next(isolation: nil)
        }
    }

    /// A blocking iterator of an ``ExecutorMapSequence``; see ``ExecutorMapSequence/makeBlockingIterator(timeout:)``.
    ///
    /// ```swift
    /// var iterator = pool.map(inputs, transform).makeBlockingIterator()
    /// while let value = try iterator.next() { use(value) }
    /// ```
    public struct BlockingIterator {
        private let window: MapWindow<Inputs.Iterator, Output>
        private let deadline: MonotonicInstant?

        init(window: MapWindow<Inputs.Iterator, Output>, deadline: MonotonicInstant?) {
            self.window = window
            self.deadline = deadline
        }

        /// Blocks until the next result in input order is ready; `nil` after the last one.
        ///
        /// ```swift
        /// while let value = try iterator.next() { use(value) }
        /// ```
        ///
        /// - Throws: the work's error or ``FutureError/timedOut``; iteration then ends and items submitted
        ///   after it are cancelled.
        public mutating func next() throws -> Output? {
            guard let future = self.window.next() else { return nil }
            do {
                let timeout: Duration? = self.deadline.map { .nanoseconds($0.remainingNanoseconds) }
                return try future.result(timeout: timeout)
            } catch {
                self.window.finish()
                throw error
            }
        }
    }
}

/// The submitted-but-not-delivered futures of one map iteration. Used by one consumer at a time.
final class MapWindow<Inputs: IteratorProtocol, Output: Sendable> {
    private var inputs: Inputs
    private let lookAhead: Int
    private let submit: (Inputs.Element) -> Future<Output>
    private var window = Deque<Future<Output>>()
    private var isFinished = false

    init(inputs: Inputs, lookAhead: Int, submit: @escaping (Inputs.Element) -> Future<Output>) {
        self.inputs = inputs
        self.lookAhead = lookAhead
        self.submit = submit
    }

    deinit {
        self.finish()
    }

    /// Tops the window up to `lookAhead` submitted items and takes the oldest, or `nil` when done.
    func next() -> Future<Output>? {
        guard !self.isFinished else { return nil }
        while self.window.count < self.lookAhead, let input = self.inputs.next() {
            self.window.append(self.submit(input))
        }
        guard let head = self.window.popFirst() else {
            self.isFinished = true
            return nil
        }
        return head
    }

    /// Ends the iteration and cancels the items that have not started.
    func finish() {
        self.isFinished = true
        while let future = self.window.popFirst() {
            future.cancel()
        }
    }
}
