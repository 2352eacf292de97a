//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// A count bound and a weight budget on work in flight: the one implementation of the window that
/// both ``InFlightLimiter`` (which adds a FIFO of waiters) and the Sluice engine (which keeps it
/// under its own lock) use.
///
/// Something of `weight` fits when fewer than `maxCount` items are held and the held weight plus
/// `weight` stays within `maxWeight`, or when nothing at all is held, so that one oversized item
/// cannot wait forever.
///
/// ```swift
/// var budget = InFlightBudget(maxCount: 2, maxWeight: 100)
/// budget.fits(80)        // true
/// budget.take(80)
/// budget.fits(30)        // false: 110 bytes
/// budget.release(80)
/// ```
package struct InFlightBudget: Sendable, Hashable {
    /// The most items held at once (at least 1).
    package let maxCount: Int
    /// The weight budget (for example bytes); at least 0.
    package let maxWeight: Int
    /// Items held now.
    package private(set) var count = 0
    /// Weight held now.
    package private(set) var weight = 0

    /// A budget with nothing held.
    package init(maxCount: Int, maxWeight: Int) {
        precondition(maxCount > 0, "an in-flight budget needs maxCount > 0, got \(maxCount)")
        precondition(maxWeight >= 0, "an in-flight budget needs maxWeight >= 0, got \(maxWeight)")
        self.maxCount = maxCount
        self.maxWeight = maxWeight
    }

    /// Whether an item of `weight` fits now.
    package func fits(_ weight: Int) -> Bool {
        // Written as a subtraction so that `maxWeight: .max` and huge weights cannot overflow.
        count == 0 || (count < maxCount && weight <= maxWeight - self.weight)
    }

    /// Takes room for an item; the caller checked ``fits(_:)``.
    package mutating func take(_ weight: Int) {
        precondition(weight >= 0, "in-flight weights must not be negative, got \(weight)")
        count += 1
        self.weight += weight
    }

    /// Gives back the room of an item taken with the same weight.
    package mutating func release(_ weight: Int) {
        precondition(count > 0, "released more than was taken")
        precondition(weight >= 0 && weight <= self.weight, "released weight \(weight) does not match the held weight \(self.weight)")
        count -= 1
        self.weight -= weight
    }

    /// Whether both the count and the weight are down to `fraction` of their bounds (the resume and
    /// refill marks of a hysteresis).
    package func isAtOrBelow(_ fraction: Double) -> Bool {
        count <= Int(Double(maxCount) * fraction) && weight <= Int(Double(maxWeight) * fraction)
    }
}
