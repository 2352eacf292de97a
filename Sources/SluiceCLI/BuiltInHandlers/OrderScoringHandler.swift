//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import Logging
public import Sluice

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

/// The demo's CPU-bound handler: decodes an order and computes a risk score with `rounds` of
/// SHA-256 (standing in for a model evaluation).
public struct OrderScoringHandler: JSONMessageHandler {
    /// The payload type.
    public typealias Payload = OrderEvent
    /// SHA-256 rounds per order.
    public var rounds: Int

    /// Creates the handler.
    public init(rounds: Int = 20) {
        self.rounds = rounds
    }

    /// Scores one order.
    public func handle(_ order: OrderEvent, message: KafkaMessage, context: HandlerContext) throws {
        let digest = SHA256Handler.digest(message.value, rounds: rounds)
        let score = (Int(digest[0]) + order.totalCents) % 100
        if score > 98 {
            context.logger.debug("order flagged", metadata: ["order": "\(order.id)", "score": "\(score)"])
        }
    }
}
