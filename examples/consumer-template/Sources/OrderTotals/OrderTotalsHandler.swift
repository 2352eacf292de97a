// The handler: what your consumer does with each message. Replace it with your own.

import Foundation
import Sluice

/// An order event as `sluice produce --json` writes them.
public struct Order: Codable, Sendable {
    /// One line of the order.
    public struct Item: Codable, Sendable {
        public var sku: String
        public var quantity: Int
        public var unitPriceCents: Int

        public init(sku: String, quantity: Int, unitPriceCents: Int) {
            self.sku = sku
            self.quantity = quantity
            self.unitPriceCents = unitPriceCents
        }
    }

    public var id: String
    public var customer: String
    public var items: [Item]

    public init(id: String, customer: String, items: [Item]) {
        self.id = id
        self.customer = customer
        self.items = items
    }
}

/// Adds up each order and counts what it saw: a synchronous, CPU-bound handler, run by Sluice on
/// its worker threads, several messages at once.
///
/// A payload that is not an `Order` throws `PayloadDecodingError` (a `NonRetryableError`): with
/// `--on-failure dead-letter` it goes to the dead-letter topic at once, without retries.
public struct OrderTotalsHandler: JSONMessageHandler {
    public typealias Payload = Order

    /// Totals seen so far, shared by the worker threads (for the test and the log line).
    public let tally: OrderTally

    public init(tally: OrderTally = OrderTally()) {
        self.tally = tally
    }

    public func handle(_ order: Order, message: KafkaMessage, context: HandlerContext) throws {
        let total = order.items.reduce(0) { $0 + $1.quantity * $1.unitPriceCents }
        tally.add(order: order.id, totalCents: total)
        if total > 100_000 {
            context.logger.debug("large order", metadata: ["order": "\(order.id)", "total": "\(total)"])
        }
    }
}
