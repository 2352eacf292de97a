//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import Logging
public import Sluice
public import SluiceCLI

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
