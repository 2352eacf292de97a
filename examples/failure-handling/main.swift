//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

// What happens when a handler fails. `validate-orders` decodes JSON order events, checks each
// against a fraud service that sometimes times out (a transient failure: retried), and rejects
// orders over a limit (a permanent one: straight to the failure policy). Payloads that are not
// order events fail to decode, also permanently. Run it with `--on-failure dead-letter`, `skip`
// or `stop` (the default) to see what each policy commits; see README.md.
import Sluice
import SluiceCLI

/// An order over the configured limit. Retrying cannot change the total, so it skips the
/// remaining attempts (``NonRetryableError``).
struct OrderOverLimit: NonRetryableError, CustomStringConvertible {
    var id: String
    var totalCents: Int
    var limitCents: Int

    var description: String { "order \(id) totals \(totalCents) cents, over the limit of \(limitCents)" }
}

/// The fraud service did not answer in time: worth another attempt.
struct FraudCheckTimedOut: Error, CustomStringConvertible {
    var id: String
    var attempt: Int

    var description: String { "fraud check of order \(id) timed out (attempt \(attempt))" }
}

/// Validates order events. A payload that is not an `OrderEvent` fails before
/// ``handle(_:message:context:)`` is called (with a `PayloadDecodingError` naming the message and
/// the problem); the simulated fraud service times out on the first attempt of every
/// `flakyEvery`-th order; an order over `limitCents` fails with ``OrderOverLimit``.
struct ValidateOrdersHandler: JSONMessageHandler {
    typealias Payload = OrderEvent

    /// Orders above this total fail; `nil` accepts every order that decodes.
    var limitCents: Int?
    /// The first attempt of one order in this many times out; 0: never.
    var flakyEvery: Int

    func handle(_ order: OrderEvent, message: KafkaMessage, context: HandlerContext) throws {
        if flakyEvery > 0, context.attempt == 1, message.offset % Int64(flakyEvery) == 0 {
            throw FraudCheckTimedOut(id: order.id, attempt: context.attempt)
        }
        if let limitCents, order.totalCents > limitCents {
            throw OrderOverLimit(id: order.id, totalCents: order.totalCents, limitCents: limitCents)
        }
    }
}

var handlers = HandlerRegistry.builtIn
handlers.register(
    "validate-orders",
    summary: "fails on payloads that are not JSON order events, transiently on every flaky-every=N-th order (default 50), and on orders over max-total-cents=N if given"
) { setup in
    let limit = try setup.options.string("max-total-cents").map { _ in try setup.options.int("max-total-cents", default: 0) }
    let flakyEvery = try setup.options.int("flaky-every", default: 50)
    return .sync(ValidateOrdersHandler(limitCents: limit, flakyEvery: max(0, flakyEvery)))
}
await SluiceApp(handlers: handlers).main()
