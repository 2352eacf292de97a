//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

public import Instrumentation

/// Reads trace context (e.g. W3C `traceparent`) from Kafka headers, for
/// `InstrumentationSystem.instrument.extract`.
public struct KafkaHeadersExtractor: Extractor {
    /// Creates the extractor.
    public init() {}

    /// The last header named `key`, as a string.
    public func extract(key: String, from carrier: [KafkaHeader]) -> String? {
        carrier.last { $0.name == key }?.stringValue
    }
}

/// Writes trace context into Kafka headers, replacing headers of the same name, for
/// `InstrumentationSystem.instrument.inject`.
public struct KafkaHeadersInjector: Injector {
    /// Creates the injector.
    public init() {}

    /// Sets header `key` to `value`.
    public func inject(_ value: String, forKey key: String, into carrier: inout [KafkaHeader]) {
        carrier.removeAll { $0.name == key }
        carrier.append(KafkaHeader(name: key, string: value))
    }
}

extension Array where Element == KafkaHeader {
    /// Writes `context` (by default the current one: inside a handler, the span of the message
    /// being handled) into these headers with the bootstrapped instrument, so that a message a
    /// handler produces continues the trace. Does nothing without a context or an instrument.
    ///
    /// ```swift
    /// var headers = message.headers
    /// headers.injectTraceContext()
    /// try producer.produce(KafkaProducerMessage(topic: "out", key: message.key, value: value, headers: headers)) { _ in }
    /// ```
    public mutating func injectTraceContext(_ context: ServiceContext? = ServiceContext.current) {
        guard let context else { return }
        InstrumentationSystem.instrument.inject(context, into: &self, using: KafkaHeadersInjector())
    }
}
