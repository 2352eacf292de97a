//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

// An I/O-bound pipeline stage on Sluice: it reads JSON order events (as `sluice produce --json`
// writes them), computes each order's total and tier, and writes an enriched record to
// `--output-topic`. A message counts as done, and its offset may be committed, only once the
// broker has acknowledged the enriched record: nothing is committed that was not written.
import Foundation
import Sluice
import SluiceCLI

/// The record written to the output topic.
struct EnrichedOrder: Codable, Sendable {
    /// The order's id (also in the `sluice-id` header).
    var id: String
    var customer: String
    var currency: String
    /// Units over all lines.
    var itemCount: Int
    var totalCents: Int
    /// `bronze` under 100.00, `silver` under 500.00, `gold` from 500.00 on.
    var tier: String
    /// Where the order came from: `topic[partition]@offset`.
    var source: String

    init(_ order: OrderEvent, source: String) {
        id = order.id
        customer = order.customer
        currency = order.currency
        itemCount = order.items.reduce(0) { $0 + $1.quantity }
        totalCents = order.totalCents
        tier = switch totalCents {
        case ..<10_000: "bronze"
        case ..<50_000: "silver"
        default: "gold"
        }
        self.source = source
    }
}

/// Decodes each payload as an `OrderEvent`, enriches it and sends the result, waiting for the
/// broker's acknowledgement.
///
/// An ``AsyncMessageHandler`` rather than a ``JSONMessageHandler``: the work is mostly waiting for
/// the broker, so it suspends instead of holding a worker thread, and the in-flight window
/// (`--max-in-flight`) bounds how many writes are outstanding. It decodes the JSON itself and
/// reports an undecodable payload with the same ``PayloadDecodingError`` a JSONMessageHandler
/// throws.
struct EnrichOrdersHandler: AsyncMessageHandler {
    let producer: KafkaProducer
    let outputTopic: String

    func handle(_ message: KafkaMessage, context: HandlerContext) async throws {
        let order: OrderEvent
        do {
            order = try JSONDecoder().decode(OrderEvent.self, from: Data(message.value))
        } catch {
            throw PayloadDecodingError(type: "OrderEvent", message: message, underlying: error)
        }
        let enriched = try JSONEncoder().encode(EnrichedOrder(order, source: message.description))
        // Returns once the broker acknowledged the write; throws if it failed.
        _ = try await producer.send(KafkaProducerMessage(
            topic: outputTopic, key: message.key, value: Array(enriched), headers: message.headers))
    }
}

var handlers = HandlerRegistry.builtIn
handlers.register(
    "enrich-orders",
    summary: "adds totals and tiers to JSON order events and writes them to --output-topic; done when acknowledged"
) { setup in
    .async(EnrichOrdersHandler(producer: try setup.makeProducer(), outputTopic: try setup.requireOutputTopic(for: "enrich-orders")))
}
await SluiceApp(handlers: handlers).main()
