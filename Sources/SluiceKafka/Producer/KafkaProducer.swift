//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import _SluiceTime
internal import CRdKafka
public import Logging
internal import Synchronization
internal import Foundation

/// A Kafka producer: writes messages with keys and headers and reports each delivery.
///
/// A thread of its own serves delivery reports, so results arrive without the caller polling.
///
/// ```swift
/// let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: [servers]))
/// let report = try await producer.send(KafkaProducerMessage(topic: "orders", value: Array("hi".utf8)))
/// try producer.close(timeout: .seconds(10))
/// ```
///
/// `@unchecked Sendable`: the librdkafka handle is thread-safe, and the running flag is a `Mutex`.
public final class KafkaProducer: @unchecked Sendable {
    private let client: RDKafkaClient
    private let poller: DeliveryReportPoller
    /// The configuration the producer was created with.
    public let configuration: KafkaProducerConfiguration

    /// Creates a producer and starts its delivery-report thread.
    /// - Throws: ``KafkaError`` with librdkafka's message for a bad property.
    public init(configuration: KafkaProducerConfiguration, logger: Logger = Logger(label: "sluice.kafka.producer")) throws {
        self.client = try RDKafkaClient(
            type: RD_KAFKA_PRODUCER, properties: configuration.librdkafkaProperties,
            context: RDKafkaClientContext(logger: logger, redactor: SecretRedactor(kafkaProperties: configuration.librdkafkaProperties))
        ) { config in
            config.withPointer { rd_kafka_conf_set_dr_msg_cb($0, deliveryReportCallback) }
        }
        self.configuration = configuration
        self.poller = DeliveryReportPoller(client: client)
    }

    deinit {
        poller.stop()
    }

    /// Queues a message; `onDelivery` runs once, on the delivery-report thread, with the outcome.
    ///
    /// - Parameters:
    ///   - message: The message (its bytes are copied before this returns).
    ///   - blockWhenQueueFull: Wait for room in librdkafka's local queue instead of throwing
    ///     `_QUEUE_FULL`. Blocks the calling thread: never pass `true` from Swift's cooperative pool.
    ///   - onDelivery: The broker's acknowledgement, or the error the message finally failed with.
    /// - Throws: ``KafkaError`` when the message cannot be queued (queue full, unknown topic, too large).
    public func produce(
        _ message: KafkaProducerMessage,
        blockWhenQueueFull: Bool = false,
        onDelivery: @escaping @Sendable (Result<KafkaDeliveryReport, KafkaError>) -> Void
    ) throws {
        guard poller.isRunning else { throw KafkaError.closed("producer") }
        // +1 for librdkafka; the delivery callback takes it back (or we do if queueing fails).
        let box = Unmanaged.passRetained(DeliveryCallbackBox(onDelivery))
        let error = message.withCArguments { names, values, sizes, count in
            message.key.withOptionalBytes { key in
                message.value.withOptionalBytes { value in
                    sluice_rd_kafka_produce(
                        client.handle, message.topic, message.partition ?? sluice_rd_kafka_partition_ua(),
                        key?.baseAddress, key?.count ?? 0, message.key == nil ? 0 : 1,
                        value?.baseAddress, value?.count ?? 0, message.value == nil ? 0 : 1,
                        names, values, sizes, count,
                        message.timestamp?.millisecondsSinceEpoch ?? 0, blockWhenQueueFull ? 1 : 0,
                        box.toOpaque())
                }
            }
        }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            box.release()  // librdkafka did not take the message, so no callback will consume the +1
            throw KafkaError.rdKafka(error, "producing", topic: message.topic, partition: message.partition)
        }
    }

    /// Writes a message and waits for the broker's acknowledgement.
    ///
    /// A full local queue is waited out (with a short backoff, honouring cancellation).
    /// - Throws: ``KafkaError`` when the message fails, or `CancellationError`.
    public func send(_ message: KafkaProducerMessage) async throws -> KafkaDeliveryReport {
        var backoff = Duration.milliseconds(1)
        while true {
            do {
                return try await withCheckedThrowingContinuation { continuation in
                    do {
                        try produce(message) { continuation.resume(with: $0.mapError { $0 }) }
                    } catch {
                        continuation.resume(throwing: error)
                    }
                }
            } catch let error as KafkaError where error.rdKafkaCode == Int32(RD_KAFKA_RESP_ERR__QUEUE_FULL.rawValue) {
                try await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .milliseconds(100))
            }
        }
    }

    /// Messages queued or in flight, not yet acknowledged.
    public var outstandingCount: Int { Int(rd_kafka_outq_len(client.handle)) }

    /// Waits until every queued message is acknowledged or failed.
    /// - Throws: ``KafkaError`` (``KafkaError/Code/timedOut``) with the count left when time runs out.
    public func flush(timeout: Duration) throws {
        let error = rd_kafka_flush(client.handle, Int32(timeout.milliseconds))
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            var failure = KafkaError.rdKafka(error)
            failure.message = "flush timed out after \(timeout) with \(outstandingCount) messages outstanding"
            throw failure
        }
    }

    /// Flushes, then stops the delivery-report thread. Further `produce` calls throw.
    public func close(timeout: Duration) throws {
        defer { poller.stop() }
        try flush(timeout: timeout)
    }
}

/// The thread that serves a producer's delivery reports (`rd_kafka_poll`) until stopped.
private final class DeliveryReportPoller: Sendable {
    private let running = Mutex(true)
    private let done = DispatchSemaphore(value: 0)

    init(client: RDKafkaClient) {
        let thread = Thread { [self] in
            // The 100 ms wait bounds how long `stop` waits for the loop to notice.
            while isRunning { rd_kafka_poll(client.handle, 100) }
            done.signal()
        }
        thread.name = "sluice-producer-poll"
        thread.start()
    }

    var isRunning: Bool { running.withLock { $0 } }

    /// Stops the loop and waits for it; idempotent.
    func stop() {
        let wasRunning = running.withLock { running in
            defer { running = false }
            return running
        }
        if wasRunning { done.wait() }
    }
}

/// Carries a delivery callback through librdkafka's per-message opaque pointer.
private final class DeliveryCallbackBox: Sendable {
    let callback: @Sendable (Result<KafkaDeliveryReport, KafkaError>) -> Void
    init(_ callback: @escaping @Sendable (Result<KafkaDeliveryReport, KafkaError>) -> Void) { self.callback = callback }
}

private func deliveryReportCallback(_ handle: OpaquePointer?, _ raw: UnsafePointer<rd_kafka_message_t>?,
                                    _ opaque: UnsafeMutableRawPointer?) {
    guard let raw, let boxPointer = raw.pointee._private else { return }
    // Takes back the +1 passed to produce: each message is reported exactly once.
    let box = Unmanaged<DeliveryCallbackBox>.fromOpaque(boxPointer).takeRetainedValue()
    let message = raw.pointee
    let topic = message.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
    if message.err == RD_KAFKA_RESP_ERR_NO_ERROR {
        box.callback(.success(KafkaDeliveryReport(
            topic: topic, partition: message.partition, offset: message.offset >= 0 ? message.offset : nil)))
    } else {
        box.callback(.failure(.rdKafka(message.err, "delivery failed", topic: topic, partition: message.partition)))
    }
}

extension KafkaProducerMessage {
    /// Lays header names (NUL-terminated) and values out in one buffer for the C call.
    fileprivate func withCArguments<R>(
        _ body: (UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<UnsafeRawPointer?>?, UnsafePointer<Int>?, Int) -> R
    ) -> R {
        if headers.isEmpty { return body(nil, nil, nil, 0) }
        let total = headers.reduce(0) { $0 + $1.name.utf8.count + 1 + ($1.value?.count ?? 0) }
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(total, 1), alignment: 1)
        let names = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: headers.count)
        let values = UnsafeMutablePointer<UnsafeRawPointer?>.allocate(capacity: headers.count)
        let sizes = UnsafeMutablePointer<Int>.allocate(capacity: headers.count)
        defer {
            storage.deallocate()
            names.deallocate()
            values.deallocate()
            sizes.deallocate()
        }
        var position = 0
        for (index, header) in headers.enumerated() {
            let nameStart = storage.baseAddress! + position
            for byte in header.name.utf8 {
                storage[position] = byte
                position += 1
            }
            storage[position] = 0
            position += 1
            names[index] = UnsafePointer(nameStart.assumingMemoryBound(to: CChar.self))
            if let value = header.value {
                let valueStart = storage.baseAddress! + position
                value.withUnsafeBytes { bytes in
                    if let base = bytes.baseAddress { valueStart.copyMemory(from: base, byteCount: bytes.count) }
                }
                position += value.count
                values[index] = UnsafeRawPointer(valueStart)
                sizes[index] = value.count
            } else {
                values[index] = nil
                sizes[index] = -1  // a header without a value
            }
        }
        return body(names, values, sizes, headers.count)
    }
}
