// Shared state of a handler: Sluice calls the handler from several threads at once, so anything it
// keeps between messages must be thread-safe (here a Mutex).

import Synchronization

/// Orders counted and their sum, safe to update from several worker threads.
public final class OrderTally: Sendable {
    private let state = Mutex<(orders: Set<String>, totalCents: Int)>(([], 0))

    public init() {}

    /// Counts one order (an order handled twice, as at-least-once allows, counts once).
    public func add(order id: String, totalCents: Int) {
        state.withLock { state in
            if state.orders.insert(id).inserted { state.totalCents += totalCents }
        }
    }

    /// Distinct orders seen.
    public var orders: Int { state.withLock { $0.orders.count } }

    /// The sum of their totals, in cents.
    public var totalCents: Int { state.withLock { $0.totalCents } }
}
