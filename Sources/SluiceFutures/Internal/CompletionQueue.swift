//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import _SluiceTime
import DequeModule

/// Futures in the order they completed, for ``asCompleted(_:timeout:)`` and ``wait(_:timeout:returnWhen:)-3xtd5``.
///
/// Completion callbacks ``push(_:)`` futures; one consumer takes them with the blocking ``pop(until:)``
/// or the async ``pop(deadline:)``.
///
/// ```swift
/// let queue = CompletionQueue<Int>()
/// future.whenComplete { _ in queue.push(future) }
/// let first = try queue.pop(until: .after(.seconds(1)))
/// ```
// @unchecked Sendable: every stored property is only accessed with `lock` held.
final class CompletionQueue<T: Sendable>: @unchecked Sendable {
    private typealias Continuation = CheckedContinuation<Future<T>, any Error>

    private let lock = ConditionLock()
    private var ready = Deque<Future<T>>()
    private var asyncWaiter: (id: UInt64, continuation: Continuation)?
    /// A failure (timeout, cancellation) that arrived for a waiter before it was installed.
    private var earlyFailure: (id: UInt64, error: any Error)?
    private var nextWaiterID: UInt64 = 0

    init() {}

    /// Adds a completed future, handing it straight to a suspended consumer if there is one.
    func push(_ future: Future<T>) {
        self.lock.lock()
        if let waiter = self.asyncWaiter {
            self.asyncWaiter = nil
            self.lock.unlock()
            waiter.continuation.resume(returning: future)
            return
        }
        self.ready.append(future)
        self.lock.unlock()
        self.lock.signal()
    }

    /// Blocks until a future is ready.
    ///
    /// - Throws: ``FutureError/timedOut`` if `deadline` passes first.
    func pop(until deadline: MonotonicInstant?) throws -> Future<T> {
        self.lock.lock()
        defer { self.lock.unlock() }
        while self.ready.isEmpty {
            if !self.lock.wait(until: deadline), self.ready.isEmpty {
                throw FutureError.timedOut
            }
        }
        return self.ready.removeFirst()
    }

    /// Suspends until a future is ready.
    ///
    /// - Throws: ``FutureError/timedOut`` if `deadline` passes first, `CancellationError` if the task is
    ///   cancelled.
    func pop(deadline: ContinuousClock.Instant?) async throws -> Future<T> {
        let id: UInt64
        do {
            self.lock.lock()
            defer { self.lock.unlock() }
            if let future = self.ready.popFirst() { return future }
            id = self.nextWaiterID
            self.nextWaiterID &+= 1
        }
        try Task.checkCancellation()

        var timer: Task<Void, Never>?
        if let deadline {
            guard deadline > .now else { throw FutureError.timedOut }
            timer = Task { [self] in
                do {
                    try await Task.sleep(until: deadline, clock: .continuous)
                    self.fail(waiter: id, with: FutureError.timedOut)
                } catch {
                    // Cancelled because the wait ended first.
                }
            }
        }
        defer { timer?.cancel() }

        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: Continuation) in
                self.lock.lock()
                if let future = self.ready.popFirst() {
                    self.lock.unlock()
                    continuation.resume(returning: future)
                } else if let failure = self.earlyFailure, failure.id == id {
                    self.earlyFailure = nil
                    self.lock.unlock()
                    continuation.resume(throwing: failure.error)
                } else {
                    self.asyncWaiter = (id, continuation)
                    self.lock.unlock()
                }
            }
        } onCancel: {
            self.fail(waiter: id, with: CancellationError())
        }
    }

    /// Fails the async waiter `id`, or remembers the failure if it is not installed yet.
    private func fail(waiter id: UInt64, with error: any Error) {
        self.lock.lock()
        if let waiter = self.asyncWaiter, waiter.id == id {
            self.asyncWaiter = nil
            self.lock.unlock()
            waiter.continuation.resume(throwing: error)
            return
        }
        if id == self.nextWaiterID &- 1 {
            self.earlyFailure = (id, error)
        }
        self.lock.unlock()
    }
}

/// One pass over a set of futures in completion order: registers a callback on each, and removes the
/// callbacks still registered when it is released, so abandoned iterations leave nothing behind.
final class CompletionIteration<T: Sendable>: Sendable {
    let futures: [Future<T>]
    private let queue = CompletionQueue<T>()
    private let registrations: [(future: Future<T>, id: UInt64)]

    init(_ futures: [Future<T>]) {
        self.futures = futures
        var registrations: [(future: Future<T>, id: UInt64)] = []
        registrations.reserveCapacity(futures.count)
        let queue = self.queue
        for future in futures {
            let id = future.makeCallbackID()
            if future.addRemovableCallback(id: id, { _ in queue.push(future) }) {
                registrations.append((future, id))
            }
        }
        self.registrations = registrations
    }

    deinit {
        for registration in self.registrations {
            _ = registration.future.removeCallback(id: registration.id)
        }
    }

    func pop(until deadline: MonotonicInstant?) throws -> Future<T> {
        try self.queue.pop(until: deadline)
    }

    func pop(deadline: ContinuousClock.Instant?) async throws -> Future<T> {
        try await self.queue.pop(deadline: deadline)
    }
}
