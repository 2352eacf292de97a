//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Sluice
import SluiceCLI
import SluiceDemoHandlers
import Synchronization
import Testing

struct JSONHandlerTests {
    /// Records the orders it is given.
    final class RecordingOrders: JSONMessageHandler {
        let seen = Mutex<[OrderEvent]>([])
        func handle(_ order: OrderEvent, message: KafkaMessage, context: HandlerContext) throws {
            seen.withLock { $0.append(order) }
        }
    }

    private let valid = #"{"id":"7","customer":"customer-7","items":[{"sku":"a","quantity":2,"unitPriceCents":150},{"sku":"b","quantity":1,"unitPriceCents":99}],"currency":"EUR","createdAt":1700000000000}"#

    private func message(_ json: String) -> KafkaMessage {
        KafkaMessage(topic: "orders", partition: 2, offset: 17, value: Array(json.utf8))
    }

    @Test func decodesThePayloadBeforeCallingTheHandler() throws {
        let handler = RecordingOrders()
        try handler.handle(message(valid), context: HandlerContext())
        let orders = handler.seen.withLock { $0 }
        #expect(orders.count == 1)
        #expect(orders.first?.id == "7")
        #expect(orders.first?.totalCents == 399)
        #expect(orders.first?.items.count == 2)
    }

    @Test func missingKeyNamesTheTypeTheMessageAndTheKey() {
        let handler = RecordingOrders()
        let withoutCurrency = valid.replacingOccurrences(of: #""currency":"EUR","#, with: "")
        var caught: PayloadDecodingError?
        do {
            try handler.handle(message(withoutCurrency), context: HandlerContext())
        } catch let error as PayloadDecodingError {
            caught = error
        } catch {
            Issue.record("unexpected error \(error)")
        }
        #expect(caught?.description == "cannot decode OrderEvent from orders[2]@17: missing key 'currency'")
        #expect(caught?.type == "OrderEvent")
        #expect(caught?.source == "orders[2]@17")
        #expect(handler.seen.withLock { $0.isEmpty })
    }

    @Test func wrongTypeAndBrokenJSONAreExplained() {
        let handler = RecordingOrders()
        let quantityAsText = valid.replacingOccurrences(of: #""quantity":2"#, with: #""quantity":"two""#)
        let description = decodingError(handler, message(quantityAsText))
        #expect(description?.contains("expected Int at items.[0].quantity") == true, "\(description ?? "no error")")
        let broken = decodingError(handler, message("{not json"))
        #expect(broken?.hasPrefix("cannot decode OrderEvent from orders[2]@17: invalid JSON") == true, "\(broken ?? "no error")")
    }

    @Test func orderScoringHandlerScoresValidOrdersAndRejectsOthers() throws {
        try OrderScoringHandler(rounds: 2).handle(message(valid), context: HandlerContext())
        let description = decodingError(OrderScoringHandler(rounds: 2), message("[]"))
        #expect(description?.hasPrefix("cannot decode OrderEvent from orders[2]@17") == true)
    }

    private func decodingError(_ handler: some MessageHandler, _ message: KafkaMessage) -> String? {
        do {
            try handler.handle(message, context: HandlerContext())
            return nil
        } catch {
            return "\(error)"
        }
    }
}
