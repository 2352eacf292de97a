//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import DequeModule

/// The permits and FIFO wait queue of an ``InFlightLimiter``, as a value type that returns the waiters
/// to wake so that its owner can wake them after unlocking.
///
/// It is generic over the waiter so that tests can drive it with plain values.
///
/// A request for `weight` is granted when fewer than `maxCount` permits are held and the held weight plus
/// `weight` fits in `maxWeight`, or when nothing at all is held (so one oversized item cannot deadlock).
/// Requests are served strictly in arrival order: a large request at the head is not overtaken by
/// smaller ones behind it, so it cannot starve.
struct InFlightLimiterStateMachine<Waiter> {
    struct Entry {
        var id: UInt64
        var weight: Int
        var waiter: Waiter
    }

    private var budget: InFlightBudget
    var maxCount: Int { budget.maxCount }
    var maxWeight: Int { budget.maxWeight }
    var count: Int { budget.count }
    var weight: Int { budget.weight }
    private(set) var waiters = Deque<Entry>()
    private var nextID: UInt64 = 0

    init(maxCount: Int, maxWeight: Int) {
        precondition(maxCount > 0, "InFlightLimiter needs maxCount > 0, got \(maxCount)")
        precondition(maxWeight >= 0, "InFlightLimiter needs maxWeight >= 0, got \(maxWeight)")
        self.budget = InFlightBudget(maxCount: maxCount, maxWeight: maxWeight)
    }

    private func fits(_ weight: Int) -> Bool {
        self.budget.fits(weight)
    }

    private mutating func grant(_ weight: Int) {
        self.budget.take(weight)
    }

    mutating func makeID() -> UInt64 {
        defer { self.nextID &+= 1 }
        return self.nextID
    }

    /// Takes a permit if one is free now and nobody is queued ahead.
    mutating func tryAcquire(weight: Int) -> Bool {
        precondition(weight >= 0, "InFlightLimiter weights must not be negative, got \(weight)")
        guard self.waiters.isEmpty, self.fits(weight) else { return false }
        self.grant(weight)
        return true
    }

    enum AcquireAction {
        /// Granted at once: do not wait.
        case granted
        /// Queued: wait until the waiter is woken (granted) or cancel it with ``cancel(id:)``.
        case enqueued
    }

    mutating func acquire(id: UInt64, weight: Int, waiter: Waiter) -> AcquireAction {
        if self.tryAcquire(weight: weight) {
            return .granted
        }
        self.waiters.append(Entry(id: id, weight: weight, waiter: waiter))
        return .enqueued
    }

    /// Returns a permit and grants queued requests that now fit, in order.
    ///
    /// - Returns: the waiters granted, to wake after unlocking.
    mutating func release(weight: Int) -> [Waiter] {
        precondition(self.count > 0, "InFlightLimiter.release called with no permit held")
        precondition(
            weight >= 0 && weight <= self.weight,
            "InFlightLimiter.release(weight: \(weight)) does not match the held weight \(self.weight)"
        )
        self.budget.release(weight)
        return self.grantWaiters()
    }

    /// Removes a queued request (its task was cancelled or its wait timed out).
    ///
    /// - Returns: the removed waiter (`nil` if it was already granted) and any waiters granted because
    ///   the removed one no longer blocks the head of the queue.
    mutating func cancel(id: UInt64) -> (removed: Waiter?, granted: [Waiter]) {
        guard let index = self.waiters.firstIndex(where: { $0.id == id }) else {
            return (nil, [])
        }
        let removed = self.waiters.remove(at: index)
        return (removed.waiter, index == 0 ? self.grantWaiters() : [])
    }

    private mutating func grantWaiters() -> [Waiter] {
        var granted: [Waiter] = []
        while let head = self.waiters.first, self.fits(head.weight) {
            self.waiters.removeFirst()
            self.grant(head.weight)
            granted.append(head.waiter)
        }
        return granted
    }
}
