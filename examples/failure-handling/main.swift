//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

// What happens when a handler fails. `validate-orders` decodes JSON order events and rejects
// those it cannot parse (and, optionally, those over a limit); run it with `--on-failure stop`
// (the default) or `--on-failure skip` to see what each policy commits.
import Sluice
import SluiceCLI

/// An order over the configured limit: a failure of the handler's own.
struct OrderOverLimit: Error, CustomStringConvertible {
    var id: String
    var totalCents: Int
    var limitCents: Int

    var description: String { "order \(id) totals \(totalCents) cents, over the limit of \(limitCents)" }
}

/// Validates order events. A payload that is not an `OrderEvent` fails before
/// ``handle(_:message:context:)`` is called (with a `PayloadDecodingError` naming the message and
/// the problem); an order over `limitCents` fails with ``OrderOverLimit``. Either failure follows
/// the consumer's `--on-failure` policy.
struct ValidateOrdersHandler: JSONMessageHandler {
    typealias Payload = OrderEvent

    /// Orders above this total fail; `nil` accepts every order that decodes.
    var limitCents: Int?

    func handle(_ order: OrderEvent, message: KafkaMessage, context: HandlerContext) throws {
        if let limitCents, order.totalCents > limitCents {
            throw OrderOverLimit(id: order.id, totalCents: order.totalCents, limitCents: limitCents)
        }
    }
}

var handlers = HandlerRegistry.builtIn
handlers.register(
    "validate-orders",
    summary: "fails on payloads that are not JSON order events, and on orders over max-total-cents=N if given"
) { setup in
    let limit = try setup.options.string("max-total-cents").map { _ in try setup.options.int("max-total-cents", default: 0) }
    return .sync(ValidateOrdersHandler(limitCents: limit))
}
await SluiceApp(handlers: handlers).main()
