//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import _SluiceTime
import Synchronization

/// Bounds work in flight by a count and a weight budget: the window a consumer uses for backpressure.
///
/// Take a permit before starting an item and give it back when the item completes. `acquire` suspends
/// (async) or blocks (on a dedicated thread) while the window is full, and waiters are served in arrival
/// order. A request heavier than the whole weight budget is still granted when nothing else is held, so
/// one oversized item cannot deadlock the window.
///
/// ```swift
/// let window = InFlightLimiter(maxCount: 1_000, maxWeight: 64 << 20)   // 1000 items or 64 MiB
/// for message in messages {
///     try await window.acquire(weight: message.bytes.count)
///     let future = pool.submit { try handle(message) }
///     window.releaseWhenComplete(future, weight: message.bytes.count)
/// }
/// ```
///
/// - Important: Every successful acquire must be matched by exactly one ``release(weight:)`` with the
///   same weight.
public final class InFlightLimiter: Sendable {
    private enum Waiter {
        case continuation(CheckedContinuation<Void, any Error>)
        case thread(BlockingEvent)

        func grant() {
            switch self {
            case .continuation(let continuation): continuation.resume()
            case .thread(let event): event.set()
            }
        }
    }

    private let state: Mutex<InFlightLimiterStateMachine<Waiter>>

    /// The most permits that can be held at once.
    ///
    /// ```swift
    /// #expect(window.count <= window.maxCount)
    /// ```
    public let maxCount: Int

    /// The weight budget: held weight stays at or below it, except for a single oversized holder.
    ///
    /// ```swift
    /// #expect(window.weight <= window.maxWeight || window.count == 1)
    /// ```
    public let maxWeight: Int

    /// Creates a limiter with nothing held.
    ///
    /// ```swift
    /// let window = InFlightLimiter(maxCount: 500, maxWeight: 16 * 1024 * 1024)
    /// let countOnly = InFlightLimiter(maxCount: 8, maxWeight: .max)
    /// ```
    ///
    /// - Parameters:
    ///   - maxCount: the most permits held at once; at least 1.
    ///   - maxWeight: the weight budget (for example bytes); at least 0. Use `.max` to bound by count only.
    public init(maxCount: Int, maxWeight: Int) {
        self.state = Mutex(InFlightLimiterStateMachine(maxCount: maxCount, maxWeight: maxWeight))
        self.maxCount = maxCount
        self.maxWeight = maxWeight
    }

    /// The number of permits held now.
    ///
    /// ```swift
    /// gauge.record(window.count)
    /// ```
    public var count: Int {
        self.state.withLock { $0.count }
    }

    /// The total weight held now.
    ///
    /// ```swift
    /// bytesInFlight.record(window.weight)
    /// ```
    public var weight: Int {
        self.state.withLock { $0.weight }
    }

    /// The number of acquires waiting for a permit.
    ///
    /// ```swift
    /// if window.waitingCount > 0 { print("window full") }
    /// ```
    public var waitingCount: Int {
        self.state.withLock { $0.waiters.count }
    }

    /// Takes a permit if one is free now, without waiting.
    ///
    /// Fails while others are waiting, to keep the queue fair.
    ///
    /// ```swift
    /// if window.tryAcquire(weight: size) { dispatch(message) } else { holdBack(message) }
    /// ```
    ///
    /// - Returns: whether the permit was taken.
    public func tryAcquire(weight: Int) -> Bool {
        self.state.withLock { $0.tryAcquire(weight: weight) }
    }

    /// Takes a permit, suspending the task (never blocking its thread) until one is free.
    ///
    /// ```swift
    /// try await window.acquire(weight: message.count)
    /// defer { window.release(weight: message.count) }
    /// ```
    ///
    /// - Parameter weight: the item's weight, at least 0.
    /// - Throws: `CancellationError` if the task is cancelled before the permit is granted; then no permit
    ///   is held.
    public func acquire(weight: Int) async throws {
        try Task.checkCancellation()
        if self.tryAcquire(weight: weight) { return }

        let id = self.state.withLock { $0.makeID() }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let action = self.state.withLock {
                    $0.acquire(id: id, weight: weight, waiter: .continuation(continuation))
                }
                switch action {
                case .granted:
                    continuation.resume()
                case .enqueued:
                    // The cancellation handler may have run before the waiter was queued.
                    if Task.isCancelled { self.cancelWaiter(id: id) }
                }
            }
        } onCancel: {
            self.cancelWaiter(id: id)
        }
    }

    /// Takes a permit, blocking the calling OS thread on a condition (no spinning) until one is free or
    /// `timeout` passes. For dedicated threads such as a poll loop; never call it from async code.
    ///
    /// ```swift
    /// while !window.acquire(weight: size, timeout: .milliseconds(100)) {
    ///     serviceConsumer()            // keep the Kafka consumer alive while the window is full
    /// }
    /// ```
    ///
    /// - Parameters:
    ///   - weight: the item's weight, at least 0.
    ///   - timeout: how long to wait.
    /// - Returns: `true` if the permit was taken, `false` on timeout (then no permit is held).
    public func acquire(weight: Int, timeout: Duration) -> Bool {
        if self.tryAcquire(weight: weight) { return true }
        let deadline = MonotonicInstant.after(timeout)
        let event = BlockingEvent()
        let (id, action) = self.state.withLock { state in
            let id = state.makeID()
            return (id, state.acquire(id: id, weight: weight, waiter: .thread(event)))
        }
        if case .granted = action { return true }
        if event.wait(until: deadline) { return true }

        // Timed out. Unless a release granted the permit in the meantime, leave the queue.
        return !self.cancelWaiter(id: id)
    }

    /// Returns a permit taken with weight `weight`, waking waiters that now fit.
    ///
    /// ```swift
    /// future.whenComplete { _ in window.release(weight: size) }
    /// ```
    ///
    /// - Precondition: a permit is held and `weight` is at most the held weight.
    public func release(weight: Int) {
        let granted = self.state.withLock { $0.release(weight: weight) }
        for waiter in granted { waiter.grant() }
    }

    /// Releases the permit when `future` completes, whether it finishes, fails or is cancelled.
    ///
    /// ```swift
    /// try await window.acquire(weight: 1)
    /// window.releaseWhenComplete(pool.submit { work() }, weight: 1)
    /// ```
    public func releaseWhenComplete<T>(_ future: Future<T>, weight: Int) {
        future.whenComplete { _ in self.release(weight: weight) }
    }

    /// Removes a queued waiter, failing it; wakes waiters behind it that now fit.
    ///
    /// - Returns: whether the waiter was still queued (`false`: it had been granted).
    @discardableResult
    private func cancelWaiter(id: UInt64) -> Bool {
        let (removed, granted) = self.state.withLock { $0.cancel(id: id) }
        for waiter in granted { waiter.grant() }
        guard let removed else { return false }
        if case .continuation(let continuation) = removed {
            continuation.resume(throwing: CancellationError())
        }
        return true
    }
}
