//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

public import Sluice

/// Writes each message, with its key and headers, to an output topic. A message counts as done
/// only once the broker acknowledged the write, so nothing is committed that was not forwarded.
/// With a tracer bootstrapped, the written message carries the trace context of the span that
/// handled it (a W3C `traceparent` with a W3C propagator).
public struct ForwardHandler: AsyncMessageHandler {
    private let producer: KafkaProducer
    /// Where messages go.
    public let topic: String

    /// Creates the handler writing through `producer`.
    public init(producer: KafkaProducer, topic: String) {
        self.producer = producer
        self.topic = topic
    }

    /// Writes the message and waits for the acknowledgement.
    public func handle(_ message: KafkaMessage, context: HandlerContext) async throws {
        var headers = message.headers
        headers.injectTraceContext()
        _ = try await producer.send(KafkaProducerMessage(
            topic: topic, key: message.key, value: message.isTombstone ? nil : message.value, headers: headers))
    }
}
