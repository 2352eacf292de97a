//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import DequeModule
internal import Foundation
internal import Logging
internal import Synchronization

/// The shared heart of a ``SluiceConsumer``: admits polled messages into the window, dispatches
/// handler calls, and records their completion in the offset tracker.
///
/// The poll thread calls ``admit(_:)`` with a batch of polled messages; worker threads (or tasks)
/// call ``complete(_:results:)`` with a batch of finished ones. Both take one lock around
/// ``EngineState`` and act (dispatch, log) after unlocking. The poll thread is woken only when the
/// window has drained to its refill mark, not on every completion.
///
/// `@unchecked Sendable`: `state` is only touched with `condition` locked; everything else is
/// immutable or atomic.
final class ConsumerEngine: @unchecked Sendable {
    let configuration: SluiceConfiguration
    let logger: Logger
    private let handler: HandlerInvoker
    private let condition = NSCondition()
    private var state: EngineState
    /// Mean wall time of one handler call in nanoseconds, as last measured by a worker; sizes
    /// the chunks of messages handed to a worker at once (0: not measured yet).
    private let meanHandlerNanos = Atomic<Int>(0)

    /// A waiting poll thread is woken once the window is down to this share of its bounds, so it
    /// refills in bursts instead of waking for every completion.
    static let refillFraction = 0.9
    /// A chunk of cheap handler calls should keep a worker busy for about this long.
    static let chunkTargetNanos = 250_000
    /// The most messages handed to a worker at once.
    static let maxChunk = 128

    init(configuration: SluiceConfiguration, handler: HandlerInvoker, logger: Logger) {
        self.configuration = configuration
        self.handler = handler
        self.logger = logger
        self.state = EngineState(
            maxInFlightMessages: configuration.maxInFlightMessages, maxInFlightBytes: configuration.maxInFlightBytes)
    }

    /// Runs `body` with the state locked. Never dispatch or wait inside it.
    func withState<T>(_ body: (inout EngineState) throws -> T) rethrows -> T {
        condition.lock()
        defer { condition.unlock() }
        return try body(&state)
    }

    // MARK: - Admission (poll thread)

    /// Admits messages from the front of `polled` while the window has room, and starts those
    /// whose lane is free. What does not fit stays in `polled`, in order.
    func admit(_ polled: inout Deque<PolledMessage>) {
        guard !polled.isEmpty else { return }
        var ready: [InFlightWork] = []
        let (taken, refused) = withState { $0.admit(polled, ordering: configuration.ordering, into: &ready) }
        polled.removeFirst(taken)
        if refused > 0 {
            logger.debug("dropped \(refused) messages of unassigned partitions or offsets seen before")
        }
        dispatch(ready)
    }

    /// Waits until a message of `weight` bytes fits and the window has drained to its refill
    /// mark, a stop is requested, or `timeout` passes. Returns whether it fits.
    func waitForRoom(weight: Int, timeout: Duration) -> Bool {
        let deadline = Date(timeIntervalSinceNow: Double(timeout.milliseconds) / 1_000)
        condition.lock()
        defer { condition.unlock() }
        state.isPollerWaiting = true
        defer { state.isPollerWaiting = false }
        while true {
            let window = state.window
            if window.hasRoom(for: weight), window.count == 0 || window.isAtOrBelow(Self.refillFraction) {
                return true
            }
            if state.stopMode != nil || !condition.wait(until: deadline) {
                return state.window.hasRoom(for: weight)
            }
        }
    }

    // MARK: - Dispatch

    /// Starts handler calls. Cheap synchronous handlers go to a worker in chunks (one task, one
    /// completion lock for many messages); expensive ones one by one, spread over the workers.
    private func dispatch(_ ready: [InFlightWork]) {
        guard !ready.isEmpty else { return }
        guard case .sync = handler else {
            for work in ready { handler.run([work], context: context(for:), measure: { _ in }) { self.complete($0, results: $1) } }
            return
        }
        let mean = meanHandlerNanos.load(ordering: .relaxed)
        var chunk = mean == 0 ? 1 : min(Self.maxChunk, max(1, Self.chunkTargetNanos / mean))
        // Never fewer chunks than workers when there is enough to share.
        chunk = min(chunk, max(1, (ready.count + configuration.workers - 1) / configuration.workers))
        var start = 0
        while start < ready.count {
            let end = min(start + chunk, ready.count)
            handler.run(Array(ready[start..<end]), context: context(for:), measure: recordHandlerTime) {
                self.complete($0, results: $1)
            }
            start = end
        }
    }

    private func context(for work: InFlightWork) -> HandlerContext {
        HandlerContext(attempt: 1, logger: logger, message: work.message)
    }

    private func recordHandlerTime(_ nanosPerMessage: Int) {
        meanHandlerNanos.store(max(1, nanosPerMessage), ordering: .relaxed)
    }

    // MARK: - Completion (worker threads, tasks)

    /// Records finished handler calls, applies the failure policy, and starts the next call of
    /// each freed lane.
    func complete(_ works: [InFlightWork], results: [Result<Void, any Error>]) {
        var failures: [(InFlightWork, any Error)] = []
        let now = ContinuousClock.now
        let next: [InFlightWork] = withState { state in
            var next: [InFlightWork] = []
            for (work, result) in zip(works, results) {
                var done = true
                if case .failure(let error) = result {
                    state.failed += 1
                    failures.append((work, error))
                    if configuration.failurePolicy.kind == .stop {
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
                if done {
                    state.completed += 1
                    state.latency.record(work.polledAt.duration(to: now))
                    state.lastCompletedAt = now
                }
                if let following = state.finish(work, done: done) { next.append(following) }
            }
            let pollerMayGo = state.isPollerWaiting
                && (state.window.count == 0 || state.window.isAtOrBelow(Self.refillFraction))
            if pollerMayGo || state.drainWaiters > 0 { condition.broadcast() }
            return next
        }
        for (work, error) in failures {
            logger.warning(
                "handler failed (policy: \(configuration.failurePolicy))",
                metadata: work.message.loggingMetadata.merging(["error": "\(error)"]) { $1 })
        }
        dispatch(next)
    }

    // MARK: - Draining and stopping (poll thread)

    /// Waits until no handler of `partitions` (all when `nil`) runs, the deadline passes, or an
    /// immediate stop is requested. Returns whether everything finished.
    func waitForRunning(of partitions: Set<TopicPartition>?, until deadline: ContinuousClock.Instant) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        state.drainWaiters += 1
        defer { state.drainWaiters -= 1 }
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
        withState { _ = $0.dropQueued(of: partitions) }
    }

    /// Asks the poll loop to stop; it notices within a poll interval.
    func requestStop(_ mode: EngineState.StopMode) {
        withState { $0.requestStop(mode) }
        condition.broadcast()
    }

    /// Records a fatal error and asks for a graceful stop.
    func fail(_ error: SluiceError) {
        withState { state in
            if state.failure == nil { state.failure = error }
            state.requestStop(.graceful)
        }
        condition.broadcast()
    }
}

extension KafkaMessage {
    /// Topic, partition and offset as log metadata.
    var loggingMetadata: Logger.Metadata {
        ["kafka.topic": "\(topic)", "kafka.partition": "\(partition)", "kafka.offset": "\(offset)"]
    }
}
