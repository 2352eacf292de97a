//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import CRdKafka

/// Owns one `rd_kafka_conf_t` until `rd_kafka_new` takes it.
///
/// Each property is set through `rd_kafka_conf_set`, so an unknown property or a bad value fails
/// here with librdkafka's own message, before any client exists.
final class RDKafkaConfig {
    /// `nil` once ownership has passed to an `rd_kafka_t`.
    private var pointer: OpaquePointer?

    /// Creates a configuration and sets each property (in key order, so the first error is stable).
    init(properties: [String: String]) throws {
        pointer = rd_kafka_conf_new()
        for key in properties.keys.sorted() {
            try set(key, properties[key]!)
        }
    }

    deinit {
        if let pointer { rd_kafka_conf_destroy(pointer) }
    }

    /// Sets one property.
    /// - Throws: ``KafkaError`` (``KafkaError/Code/configuration``) with librdkafka's message.
    func set(_ key: String, _ value: String) throws {
        guard let pointer else { throw KafkaError.closed("configuration") }
        var errorText = [CChar](repeating: 0, count: 512)
        let result = rd_kafka_conf_set(pointer, key, value, &errorText, errorText.count)
        guard result == RD_KAFKA_CONF_OK else {
            let text = errorText.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw KafkaError.configuration(text)
        }
    }

    /// Runs `body` with the configuration pointer to install callbacks. Do not escape the pointer.
    func withPointer<T>(_ body: (OpaquePointer) throws -> T) rethrows -> T {
        try body(pointer!)
    }

    /// Creates the client. `rd_kafka_new` takes ownership of the configuration only when it
    /// succeeds; on failure this object still owns it and frees it in `deinit`.
    func makeClient(type: rd_kafka_type_t) throws -> OpaquePointer {
        guard let conf = pointer else { throw KafkaError.closed("configuration") }
        var errorText = [CChar](repeating: 0, count: 512)
        guard let handle = rd_kafka_new(type, conf, &errorText, errorText.count) else {
            let text = errorText.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw KafkaError.configuration(text)
        }
        pointer = nil  // now owned by `handle`
        return handle
    }
}
