internal import Foundation
internal import Logging
internal import SluiceFutures

/// The shared heart of a ``SluiceConsumer``: admits polled messages into the window, dispatches
/// handler calls, and records their completion in the offset tracker.
///
/// The poll thread calls ``admit(_:polledAt:)``; worker threads (or tasks) call
/// ``complete(_:result:)``. Both take one lock around ``EngineState`` and act (dispatch, release
/// window slots) after unlocking.
///
/// `@unchecked Sendable`: `state` is only touched with `condition` locked; everything else is
/// immutable or itself thread-safe (`InFlightLimiter`, the executor).
final class ConsumerEngine: @unchecked Sendable {
    let configuration: SluiceConfiguration
    let logger: Logger
    let window: InFlightLimiter
    private let handler: HandlerInvoker
    private let condition = NSCondition()
    private var state = EngineState()

    init(configuration: SluiceConfiguration, handler: HandlerInvoker, logger: Logger) {
        self.configuration = configuration
        self.handler = handler
        self.logger = logger
        self.window = InFlightLimiter(
            maxCount: configuration.maxInFlightMessages, maxWeight: configuration.maxInFlightBytes)
    }

    /// Runs `body` with the state locked. Never dispatch or block on the window inside it.
    func withState<T>(_ body: (inout EngineState) throws -> T) rethrows -> T {
        condition.lock()
        defer { condition.unlock() }
        return try body(&state)
    }

    /// Admits a message whose window slot (`weight`) the caller already acquired, and dispatches
    /// it if its lane is free. A refused message (revoked partition, redelivered offset) gives its
    /// slot back.
    func admit(_ message: KafkaMessage, weight: Int, polledAt: ContinuousClock.Instant) {
        let (work, refused) = withState {
            $0.admit(message, weight: weight, ordering: configuration.ordering, polledAt: polledAt)
        }
        if refused {
            window.release(weight: weight)
            logger.debug("dropped a message of an unassigned partition or an offset seen before",
                         metadata: message.loggingMetadata)
        }
        if let work { dispatch(work) }
    }

    /// Starts a handler call.
    private func dispatch(_ work: InFlightWork) {
        var context = HandlerContext(attempt: 1, logger: logger)
        context.logger[metadataKey: "kafka.topic"] = "\(work.message.topic)"
        context.logger[metadataKey: "kafka.partition"] = "\(work.message.partition)"
        context.logger[metadataKey: "kafka.offset"] = "\(work.message.offset)"
        handler.run(work.message, context: context) { result in
            self.complete(work, result: result)
        }
    }

    /// Records a finished handler call, applies the failure policy, and starts the next call of
    /// its lane.
    func complete(_ work: InFlightWork, result: Result<Void, any Error>) {
        var failureToLog: (any Error)?
        let next: InFlightWork? = withState { state in
            var done = true
            if case .failure(let error) = result {
                state.failed += 1
                failureToLog = error
                switch configuration.failurePolicy.kind {
                case .skip:
                    done = true
                case .stop:
                    done = false
                    if state.failure == nil {
                        state.failure = SluiceError(
                            code: .handlerFailed,
                            message: "the handler failed on \(work.message) and the failure policy is stop",
                            underlying: error, topic: work.message.topic, partition: work.message.partition,
                            offset: work.message.offset)
                    }
                    state.requestStop(.graceful)
                }
            }
            if done { state.completed += 1 }
            let next = state.finish(work, done: done)
            condition.broadcast()  // a drain may be waiting for this partition
            return next
        }
        window.release(weight: work.weight)
        if let error = failureToLog {
            logger.warning(
                "handler failed (policy: \(configuration.failurePolicy))",
                metadata: work.message.loggingMetadata.merging(["error": "\(error)"]) { $1 })
        }
        if let next { dispatch(next) }
    }

    /// Waits (on the poll thread) until no handler of `partitions` (all when `nil`) runs, the
    /// deadline passes, or an immediate stop is requested. Returns whether everything finished.
    func waitForRunning(of partitions: Set<TopicPartition>?, until deadline: ContinuousClock.Instant) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let clock = ContinuousClock()
        while true {
            let busy = partitions.map { state.isRunning(any: $0) } ?? (state.totalRunning > 0)
            if !busy { return true }
            if state.stopMode == .immediate { return false }
            let remaining = clock.now.duration(to: deadline)
            if remaining <= .zero { return false }
            // Wake at least every 100 ms to notice an immediate stop.
            let slice = min(remaining, .milliseconds(100))
            _ = condition.wait(until: Date(timeIntervalSinceNow: Double(slice.milliseconds) / 1_000))
        }
    }

    /// Drops queued work of these partitions (all when `nil`) and frees its window slots.
    func dropQueued(of partitions: Set<TopicPartition>?) {
        let dropped = withState { $0.dropQueued(of: partitions) }
        for work in dropped { window.release(weight: work.weight) }
    }

    /// Asks the poll loop to stop; it notices within a poll interval.
    func requestStop(_ mode: EngineState.StopMode) {
        withState { $0.requestStop(mode) }
    }

    /// Records a fatal error and asks for a graceful stop.
    func fail(_ error: SluiceError) {
        withState { state in
            if state.failure == nil { state.failure = error }
            state.requestStop(.graceful)
        }
    }
}

extension KafkaMessage {
    /// Topic, partition and offset as log metadata.
    var loggingMetadata: Logger.Metadata {
        ["kafka.topic": "\(topic)", "kafka.partition": "\(partition)", "kafka.offset": "\(offset)"]
    }
}
