//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Instrumentation
import ServiceContextModule
import Synchronization
import Tracing
import W3CTraceContext

/// A tracer that only propagates W3C trace context: each span continues its parent's trace with a
/// new span id, and `traceparent` is read from and written to carriers. It records nothing else;
/// it stands in for an OpenTelemetry tracer with a W3C propagator.
struct W3CTestTracer: Tracer {
    func startSpan<Instant: TracerInstant>(
        _ operationName: String, context: @autoclosure () -> ServiceContext, ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant, function: String, file fileID: String, line: UInt
    ) -> W3CTestSpan {
        var context = context()
        let parent = context.w3cTraceContext
        context.w3cTraceContext = TraceContext(
            traceID: parent?.traceID ?? .random(), spanID: .random(), flags: .sampled, state: TraceState())
        return W3CTestSpan(context: context, operationName: operationName)
    }

    func forceFlush() {}

    func inject<Carrier, Inject: Injector>(_ context: ServiceContext, into carrier: inout Carrier, using injector: Inject)
    where Inject.Carrier == Carrier {
        guard let traceContext = context.w3cTraceContext else { return }
        injector.inject(traceContext.traceParentHeaderValue, forKey: "traceparent", into: &carrier)
    }

    func extract<Carrier, Extract: Extractor>(_ carrier: Carrier, into context: inout ServiceContext, using extractor: Extract)
    where Extract.Carrier == Carrier {
        guard let value = extractor.extract(key: "traceparent", from: carrier) else { return }
        context.w3cTraceContext = try? TraceContext(traceParentHeaderValue: value)
    }

    /// Bootstraps this tracer once for the test process (swift-distributed-tracing takes one).
    static let bootstrap: Void = InstrumentationSystem.bootstrap(W3CTestTracer())

    /// A span that ended: its name, attributes, and the trace ids of its links.
    struct Ended: Sendable {
        var operationName: String
        var attributes: SpanAttributes
        var linkedTraceIDs: [TraceID]
    }

    /// Every span that ended in this process, oldest first.
    static let ended = Mutex<[Ended]>([])
}

/// A span of ``W3CTestTracer``: its context; its attributes and links are kept and reported to
/// ``W3CTestTracer/ended`` when it ends.
final class W3CTestSpan: Span {
    let context: ServiceContext
    private let state: Mutex<(name: String, attributes: SpanAttributes, links: [TraceID])>

    init(context: ServiceContext, operationName: String) {
        self.context = context
        self.state = Mutex((operationName, [:], []))
    }

    var operationName: String {
        get { state.withLock { $0.name } }
        set { state.withLock { $0.name = newValue } }
    }

    var attributes: SpanAttributes {
        get { state.withLock { $0.attributes } }
        set { state.withLock { $0.attributes = newValue } }
    }

    var isRecording: Bool { true }
    func setStatus(_ status: SpanStatus) {}
    func addEvent(_ event: SpanEvent) {}
    func recordError(_ error: any Error, attributes: SpanAttributes, at instant: @autoclosure () -> some TracerInstant) {}
    func addLink(_ link: SpanLink) {
        guard let traceID = link.context.w3cTraceContext?.traceID else { return }
        state.withLock { $0.links.append(traceID) }
    }
    func end(at instant: @autoclosure () -> some TracerInstant) {
        let ended = state.withLock { W3CTestTracer.Ended(operationName: $0.name, attributes: $0.attributes, linkedTraceIDs: $0.links) }
        W3CTestTracer.ended.withLock { $0.append(ended) }
    }
}

private enum W3CTraceContextKey: ServiceContextKey {
    typealias Value = TraceContext
}

extension ServiceContext {
    /// The W3C trace context of the current span.
    var w3cTraceContext: TraceContext? {
        get { self[W3CTraceContextKey.self] }
        set { self[W3CTraceContextKey.self] = newValue }
    }
}
