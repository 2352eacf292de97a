//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// An order event, as `sluice produce --json` and `sluice demo` write them.
public struct OrderEvent: Codable, Sendable, Hashable {
    /// One line of an order.
    public struct Item: Codable, Sendable, Hashable {
        /// Stock-keeping unit.
        public var sku: String
        /// Units ordered.
        public var quantity: Int
        /// Price of one unit, in cents.
        public var unitPriceCents: Int
    }

    /// Unique id of the event (also in the `sluice-id` header).
    public var id: String
    /// The customer, also the message key.
    public var customer: String
    /// What was ordered.
    public var items: [Item]
    /// ISO 4217 currency code.
    public var currency: String
    /// Milliseconds since the epoch.
    public var createdAt: Int64

    /// The order total in cents.
    public var totalCents: Int { items.reduce(0) { $0 + $1.quantity * $1.unitPriceCents } }
}
