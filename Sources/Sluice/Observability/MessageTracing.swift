//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import Instrumentation
internal import ServiceContextModule
internal import Tracing

/// A span per handler call, continuing the trace whose context the message carries (a W3C
/// `traceparent` header, with a W3C propagator bootstrapped), with the OpenTelemetry messaging
/// attributes. The handler runs with the span's context as `ServiceContext.current`, so what it
/// produces can continue the trace (``Swift/Array/injectTraceContext(_:)``).
///
/// With no tracer bootstrapped (swift-distributed-tracing's no-op default), nothing is done at all:
/// `isEnabled` is read once per consumer, so the hot path pays nothing.
struct MessageTracing: Sendable {
    let isEnabled: Bool
    let groupID: String

    init(groupID: String) {
        self.isEnabled = !(InstrumentationSystem.tracer is NoOpTracer)
        self.groupID = groupID
    }

    /// The trace context the message's headers carry.
    static func context(of message: KafkaMessage) -> ServiceContext {
        var context = ServiceContext.topLevel
        InstrumentationSystem.instrument.extract(message.headers, into: &context, using: KafkaHeadersExtractor())
        return context
    }

    /// Runs a synchronous handler call in a span.
    func run(_ message: KafkaMessage, attempt: Int, _ body: () throws -> Void) throws {
        guard isEnabled else { return try body() }
        try withSpan("\(message.topic) process", context: Self.context(of: message), ofKind: .consumer) { span in
            describe(span, message, attempt)
            try body()
        }
    }

    /// Runs an asynchronous handler call in a span.
    func run(_ message: KafkaMessage, attempt: Int, _ body: () async throws -> Void) async throws {
        guard isEnabled else { return try await body() }
        try await withSpan("\(message.topic) process", context: Self.context(of: message), ofKind: .consumer) { span in
            describe(span, message, attempt)
            try await body()
        }
    }

    /// Starts the span of a batch handler call: one span, linked to each message's trace
    /// context (a batch has no single parent). `nil` without a tracer.
    func startBatchSpan(_ messages: [KafkaMessage]) -> (any Span)? {
        guard isEnabled, let first = messages.first else { return nil }
        let span = Tracing.startSpan("\(first.topic) process", context: .topLevel, ofKind: .consumer)
        span.attributes["messaging.system"] = "kafka"
        span.attributes["messaging.operation.type"] = "process"
        span.attributes["messaging.destination.name"] = first.topic
        span.attributes["messaging.batch.message_count"] = messages.count
        span.attributes["messaging.consumer.group.name"] = groupID
        for message in messages {
            var attributes = SpanAttributes()
            attributes["messaging.destination.name"] = message.topic
            attributes["messaging.destination.partition.id"] = "\(message.partition)"
            attributes["messaging.kafka.offset"] = Int(message.offset)
            span.addLink(SpanLink(context: Self.context(of: message), attributes: attributes))
        }
        return span
    }

    /// Now, on the tracer's clock, when tracing (`nil` otherwise): where the spans of a frame's
    /// calls begin, recorded once the worker's answer says which calls ran
    /// (``recordSpan(_:attempt:startedAt:_:)``).
    func now() -> DefaultTracerClock.Instant? {
        isEnabled ? DefaultTracerClock.now : nil
    }

    /// Records the span of a call in a worker process that began at `start` and ended now.
    func recordSpan(_ message: KafkaMessage, attempt: Int, startedAt start: DefaultTracerClock.Instant, _ result: Result<Void, any Error>) {
        end(startSpan(message, attempt: attempt, at: start), result)
    }

    /// Starts the span of a handler call that completes elsewhere (in a worker process), begun
    /// at `start` (now by default).
    func startSpan(_ message: KafkaMessage, attempt: Int, at start: DefaultTracerClock.Instant = DefaultTracerClock.now) -> (any Span)? {
        guard isEnabled else { return nil }
        let span = Tracing.startSpan("\(message.topic) process", context: Self.context(of: message), ofKind: .consumer, at: start)
        describe(span, message, attempt)
        return span
    }

    /// Ends a span from ``startSpan(_:attempt:)`` with the call's outcome.
    func end(_ span: (any Span)?, _ result: Result<Void, any Error>) {
        guard let span else { return }
        if case .failure(let error) = result { span.recordError(error) }
        span.end()
    }

    /// Ends a batch span with its messages' outcomes: the errors of the failed ones are recorded.
    func end(_ span: (any Span)?, _ results: [Result<Void, any Error>]) {
        guard let span else { return }
        var failed = 0
        for case .failure(let error) in results {
            if failed == 0 { span.recordError(error) }
            failed += 1
        }
        span.attributes["sluice.batch.failed"] = failed
        span.end()
    }

    /// Adds a dead-lettered record's span, a child of the message's trace, and writes its context
    /// into the record's headers.
    func injectDeadLetter(_ record: inout KafkaProducerMessage, for message: KafkaMessage) {
        guard isEnabled else { return }
        withSpan("\(record.topic) publish", context: Self.context(of: message), ofKind: .producer) { span in
            span.attributes["messaging.system"] = "kafka"
            span.attributes["messaging.destination.name"] = record.topic
            span.attributes["messaging.operation.type"] = "publish"
            record.headers.injectTraceContext(span.context)
        }
    }

    private func describe(_ span: any Span, _ message: KafkaMessage, _ attempt: Int) {
        span.attributes["messaging.system"] = "kafka"
        span.attributes["messaging.operation.type"] = "process"
        span.attributes["messaging.destination.name"] = message.topic
        span.attributes["messaging.destination.partition.id"] = "\(message.partition)"
        span.attributes["messaging.kafka.offset"] = Int(message.offset)
        span.attributes["messaging.consumer.group.name"] = groupID
        span.attributes["sluice.attempt"] = attempt
    }
}
