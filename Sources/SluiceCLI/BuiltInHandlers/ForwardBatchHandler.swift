//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

public import Sluice
internal import Synchronization

/// Writes each batch, message by message in the batch's order, to an output topic, and waits for
/// the broker's acknowledgements: a message the broker refuses is reported failed on its own (it
/// follows the retry and failure policy), the others are done. The batch counterpart of
/// ``ForwardHandler``, and an example of per-message outcomes from an asynchronous batch handler.
///
/// Within a batch, messages of one key keep their order in the output (they are written in
/// order, to the same partition).
public struct ForwardBatchHandler: AsyncBatchMessageHandler {
    private let producer: KafkaProducer
    /// Where messages go.
    public let topic: String

    /// Creates the handler writing through `producer`.
    public init(producer: KafkaProducer, topic: String) {
        self.producer = producer
        self.topic = topic
    }

    /// Queues every message of the batch, then waits for all their acknowledgements. A handler
    /// timeout does not withdraw what is queued: librdkafka still delivers it or fails it within
    /// its `message.timeout.ms`.
    public func handle(_ messages: [KafkaMessage], context: BatchContext) async throws -> BatchOutcome {
        let pending = PendingBatch(count: messages.count)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            pending.whenFinished { continuation.resume() }
            for (index, message) in messages.enumerated() {
                var headers = message.headers
                headers.injectTraceContext()
                let record = KafkaProducerMessage(
                    topic: topic, key: message.key, value: message.isTombstone ? nil : message.value, headers: headers)
                do {
                    try producer.produce(record) { result in
                        if case .failure(let error) = result { pending.finish(index, error) } else { pending.finish(index, nil) }
                    }
                } catch {
                    // Not queued (the local queue is full, the topic is unknown): this message fails alone.
                    pending.finish(index, error)
                }
            }
        }
        return .failed(pending.failures)
    }
}

/// The acknowledgements of one batch: each index finishes once, and the last one resumes the
/// waiting call.
private final class PendingBatch: Sendable {
    private struct State {
        var remaining: Int
        var failures: [Int: any Error] = [:]
        var onFinished: (@Sendable () -> Void)?
    }

    private let state: Mutex<State>

    init(count: Int) {
        state = Mutex(State(remaining: count))
    }

    /// Runs `body` once every message has finished (at once for an empty batch).
    func whenFinished(_ body: @escaping @Sendable () -> Void) {
        let now = state.withLock { state -> Bool in
            guard state.remaining > 0 else { return true }
            state.onFinished = body
            return false
        }
        if now { body() }
    }

    /// Message `index` is acknowledged (`error` nil) or failed.
    func finish(_ index: Int, _ error: (any Error)?) {
        let done = state.withLock { state -> (@Sendable () -> Void)? in
            if let error { state.failures[index] = error }
            state.remaining -= 1
            guard state.remaining == 0 else { return nil }
            defer { state.onFinished = nil }
            return state.onFinished
        }
        done?()
    }

    var failures: [Int: any Error] {
        state.withLock { $0.failures }
    }
}
