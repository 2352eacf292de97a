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
internal import SluiceProcessPool

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

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
    /// Writes to the dead-letter topic (dead-letter policy only).
    private let deadLetters: DeadLetterWriter?
    /// Whether the dead-letter guard needs every outcome (dead-letter policy only).
    private var guardsDeadLetters: Bool { deadLetters != nil }
    /// Enforces the handler timeout, when there is one.
    private let deadlines: DeadlineWatchdog?
    /// Metrics and traces of the handler calls.
    let observers: HandlerObservers
    var metrics: EngineMetrics { observers.metrics }
    /// When the poll loop last turned (monotonic nanoseconds; 0: not yet), for liveness.
    private let lastTurn = Atomic<Int>(0)
    /// The poll loop sleeps until then (monotonic nanoseconds): a stuck loop, for tests.
    private let stallUntil = Atomic<Int>(0)
    /// 0 before `run()`, 1 while it runs, 2 once it returned.
    private let lifecycle = Atomic<Int>(0)
    private let condition = NSCondition()
    private var state: EngineState
    /// Mean wall time of one handler call in nanoseconds, as last measured by a worker; sizes
    /// the chunks of messages handed to a worker at once (0: not measured yet).
    private let meanHandlerNanos = Atomic<Int>(0)
    /// Finished work taken from `state.retired`, released by the poll thread; only ``admit(_:)``
    /// touches it.
    private var graveyard: [InFlightWork] = []

    /// A waiting poll thread is woken once the window is down to this share of its bounds, so it
    /// refills in bursts instead of waking for every completion. Half a window: at 0.9 the poll
    /// thread woke for every tenth of a window, and with cheap handlers those wake-ups, not the
    /// work, set the rate (no-op: 436k against 325k msg/s; spin 100 µs × 2: 0.93 against 0.88 of
    /// ideal, in one `sluice bench` run each). Half a window still queues hundreds of messages
    /// for the workers while the poll thread refills.
    static let refillFraction = 0.5
    /// A chunk of cheap handler calls should keep a worker busy for about this long.
    static let chunkTargetNanos = 250_000
    /// The most messages handed to a worker at once.
    static let maxChunk = 128

    init(configuration: SluiceConfiguration, handler: HandlerInvoker, deadLetters: DeadLetterWriter?, logger: Logger) {
        self.configuration = configuration
        self.handler = handler
        self.deadLetters = deadLetters
        // Worker processes have real timeouts: the pool kills an overrunning worker.
        if configuration.handlerTimeout != nil, !handler.isIsolated {
            self.deadlines = DeadlineWatchdog()
        } else {
            self.deadlines = nil
        }
        self.observers = HandlerObservers(
            tracing: MessageTracing(groupID: configuration.groupID), metrics: EngineMetrics(topics: configuration.topics))
        self.logger = logger
        self.state = EngineState(
            maxInFlightMessages: configuration.maxInFlightMessages, maxInFlightBytes: configuration.maxInFlightBytes,
            deadLetterGuard: configuration.deadLetterGuard)
    }

    /// The worker processes' counts, for a handler in worker processes.
    var workerProcesses: ProcessPoolStatistics? {
        if case .process(let pool) = handler { return pool.statistics }
        return nil
    }

    // MARK: - Health

    /// The poll loop turned: it is alive. Sleeps first while a test stalls the loop on purpose.
    func beat() {
        while monotonicNanos() < stallUntil.load(ordering: .relaxed) {
            usleep(10_000)
        }
        lastTurn.store(monotonicNanos(), ordering: .relaxed)
    }

    /// Makes the poll loop stop turning for `duration`, as a stuck loop would (for tests of the
    /// liveness probe).
    func stallPollLoop(for duration: Duration) {
        stallUntil.store(monotonicNanos() + Int(duration.components.seconds) * 1_000_000_000 + Int(duration.components.attoseconds / 1_000_000_000), ordering: .relaxed)
    }

    /// Marks `run()` started (1) or returned (2).
    func setLifecycle(_ value: Int) {
        lifecycle.store(value, ordering: .relaxed)
    }

    /// Liveness and readiness, judged against `ttl`.
    func health(livenessTTL ttl: Duration) -> SluiceHealth {
        let turn = lastTurn.load(ordering: .relaxed)
        let since: Duration? = turn == 0 ? nil : .nanoseconds(monotonicNanos() - turn)
        let (stopping, assigned, count) = withState { ($0.stopMode != nil, $0.hasAssignment, $0.epochs.count) }
        let phase: SluiceHealth.Phase
        switch lifecycle.load(ordering: .relaxed) {
        case 0: phase = .starting
        case 2: phase = .stopped
        default: phase = stopping ? .stopping : (turn == 0 ? .starting : (assigned ? .consuming : .joining))
        }
        return SluiceHealth(phase: phase, sinceLastTurn: since, livenessTTL: ttl, assignedPartitions: count)
    }

    /// Stops the helpers once the poll loop has ended: the workers, the deadline thread, and the
    /// dead-letter producer (after waiting up to the close timeout for its writes).
    func shutDownHelpers() {
        handler.shutdown()
        deadlines?.shutdown()
        deadLetters?.close(timeout: configuration.closeTimeout)
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
    ///
    /// It also releases the work finished since its last call. A message is allocated on the poll
    /// thread; freed on a worker thread, its memory goes back to the poll thread's malloc arena
    /// under that arena's lock, which the poll thread takes to allocate the next ones: on two
    /// cores, nine in ten of the poll thread's waits were for that lock (`perf record -e
    /// sched:sched_switch` of the no-op bench). Freed here, it goes to the thread's own cache.
    /// What waits here is what finished since the loop's last turn: at most a window of
    /// messages, for at most 100 ms while the loop turns (longer only while it drains for a
    /// revocation or a stop, which admit nothing).
    func admit(_ polled: inout Deque<PolledMessage>) {
        withState { swap(&graveyard, &$0.retired) }
        graveyard.removeAll(keepingCapacity: true)
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
        let timeout = configuration.handlerTimeout
        guard case .sync = handler, timeout == nil else {
            // One call at a time: async handlers, and sync ones under a deadline (a chunk would
            // leave the messages behind an overrunning call stuck on its thread).
            for work in ready {
                handler.run([work], context: context(for:), timeout: timeout, watchdog: deadlines, observers: observers, measure: { _ in }) {
                    self.complete($0, results: $1)
                }
            }
            return
        }
        let mean = meanHandlerNanos.load(ordering: .relaxed)
        var chunk = mean == 0 ? 1 : min(Self.maxChunk, max(1, Self.chunkTargetNanos / mean))
        // Never fewer chunks than workers when there is enough to share.
        chunk = min(chunk, max(1, (ready.count + configuration.workers - 1) / configuration.workers))
        var start = 0
        while start < ready.count {
            let end = min(start + chunk, ready.count)
            handler.run(
                Array(ready[start..<end]), context: context(for:), timeout: nil, watchdog: nil, observers: observers,
                measure: recordHandlerTime
            ) {
                self.complete($0, results: $1)
            }
            start = end
        }
    }

    private func context(for work: InFlightWork) -> HandlerContext {
        HandlerContext(attempt: work.attempt, logger: logger, message: work.message)
    }

    private func recordHandlerTime(_ nanosPerMessage: Int) {
        meanHandlerNanos.store(max(1, nanosPerMessage), ordering: .relaxed)
    }

    // MARK: - Completion (worker threads, tasks)

    /// What happens to a failed attempt.
    private enum FailureOutcome {
        /// Try again after the delay.
        case retry(after: Duration)
        /// Leave it uncommitted: the consumer is stopping, and the next owner reads it again.
        case abandon
        case skip
        case deadLetter
        /// Stop the consumer with this error.
        case stop(SluiceError)
    }

    /// What to do once the lock is released.
    private enum FollowUp {
        case retry(InFlightWork, after: Duration, error: any Error)
        case deadLetter(InFlightWork, error: any Error)
        case log(InFlightWork, outcome: String, error: any Error)
    }

    /// Records finished handler calls, applies the retry and failure policies, and starts the next
    /// call of each freed lane.
    func complete(_ works: [InFlightWork], results: [Result<Void, any Error>]) {
        var followUps: [FollowUp] = []
        let now = monotonicNanos()
        let next: [InFlightWork] = withState { state in
            state.retired.append(contentsOf: works)  // released by the poll thread, see `admit`
            var next: [InFlightWork] = []
            for (work, result) in zip(works, results) {
                guard case .failure(let error) = result else {
                    if guardsDeadLetters { state.deadLetterGuard.record(deadLettered: false) }
                    state.count(work.message.topic) { $0.handled += 1 }
                    recordDone(work, at: now, in: &state)
                    if let following = state.finish(work, done: true) { next.append(following) }
                    continue
                }
                if error is HandlerTimeoutError {
                    state.timedOut += 1
                    state.count(work.message.topic) { $0.timedOut += 1 }
                }
                switch failureOutcome(of: work, error: error, in: state) {
                case .retry(let delay):
                    state.holdForRetry(work)
                    followUps.append(.retry(work, after: delay, error: error))
                case .abandon:
                    if let following = state.finish(work, done: false) { next.append(following) }
                    followUps.append(.log(work, outcome: "left uncommitted, the consumer is stopping", error: error))
                case .skip:
                    state.failed += 1
                    state.skipped += 1
                    state.count(work.message.topic) {
                        $0.failed += 1
                        $0.skipped += 1
                    }
                    recordDone(work, at: now, in: &state)
                    if let following = state.finish(work, done: true) { next.append(following) }
                    followUps.append(.log(work, outcome: "skipped (policy: skip)", error: error))
                case .deadLetter:
                    if let following = state.beginDeadLetter(work) { next.append(following) }
                    followUps.append(.deadLetter(work, error: error))
                case .stop(let failure):
                    state.failed += 1
                    state.count(work.message.topic) { $0.failed += 1 }
                    if state.failure == nil { state.failure = failure }
                    state.requestStop(.graceful)
                    if let following = state.finish(work, done: false) { next.append(following) }
                    followUps.append(.log(work, outcome: "stopping the consumer (\(failure.message))", error: error))
                }
            }
            wakeWaiters(state)
            return next
        }
        for followUp in followUps {
            switch followUp {
            case .retry(let work, let delay, let error):
                logger.debug(
                    "handler failed; retrying in \(delay)",
                    metadata: work.message.loggingMetadata.merging(["error": "\(error)", "sluice.attempt": "\(work.attempt)"]) { $1 })
                scheduleRetry(work.retryKey, after: delay)
            case .deadLetter(let work, let error):
                writeDeadLetter(work, error: error)
            case .log(let work, let outcome, let error):
                logger.warning(
                    "handler failed after \(work.attempt) attempt\(work.attempt == 1 ? "" : "s"): \(outcome)",
                    metadata: work.message.loggingMetadata.merging(["error": "\(error)"]) { $1 })
            }
        }
        dispatch(next)
    }

    /// Decides a failed attempt's fate. Runs with the state locked.
    private func failureOutcome(of work: InFlightWork, error: any Error, in state: EngineState) -> FailureOutcome {
        if state.stopMode != nil || state.failure != nil { return .abandon }
        let message = work.message
        if let poolError = error as? ProcessPoolError, Self.isWorkerSetupError(poolError) {
            return .stop(SluiceError(
                code: .configuration, message: "the handler's worker processes cannot run \(message)",
                underlying: error, topic: message.topic, partition: message.partition, offset: message.offset))
        }
        if work.attempt < configuration.retry.maxAttempts, Self.isRetryable(error) {
            return .retry(after: configuration.retry.backoff(after: work.attempt))
        }
        switch configuration.failurePolicy.kind {
        case .skip:
            return .skip
        case .stop:
            return .stop(SluiceError(
                code: .handlerFailed,
                message: "the handler failed on \(message) after \(work.attempt) attempt\(work.attempt == 1 ? "" : "s") and the failure policy is stop",
                underlying: error, topic: message.topic, partition: message.partition, offset: message.offset))
        case .deadLetter:
            guard let refusal = state.deadLetterGuard.refusal() else { return .deadLetter }
            return .stop(SluiceError(
                code: .deadLetterLimit,
                message: "stopping instead of dead-lettering \(message): \(refusal)",
                underlying: error, topic: message.topic, partition: message.partition, offset: message.offset))
        }
    }

    /// Whether another attempt may help: not for a ``NonRetryableError``, here or in a worker.
    private static func isRetryable(_ error: any Error) -> Bool {
        if error is any NonRetryableError { return false }
        if let remote = error as? WorkerHandlerError { return remote.isRetryable }
        return true
    }

    /// Errors of the worker set-up rather than of a message: no message can succeed after them.
    private static func isWorkerSetupError(_ error: ProcessPoolError) -> Bool {
        [.jobNotFound, .spawnFailed, .protocolViolation, .encodingFailed].contains(error.code)
    }

    /// Counts a message done (handled, skipped or dead-lettered) for the statistics.
    private func recordDone(_ work: InFlightWork, at now: Int, in state: inout EngineState) {
        state.completed += 1
        state.latency.record(nanoseconds: now - work.polledAt)
        state.lastCompletedAt = now
    }

    /// Wakes the poll thread when the window has drained to its refill mark, and drain waiters.
    /// Runs with the state locked.
    private func wakeWaiters(_ state: EngineState) {
        let pollerMayGo = state.isPollerWaiting
            && (state.window.count == 0 || state.window.isAtOrBelow(Self.refillFraction))
        if pollerMayGo || state.drainWaiters > 0 { condition.broadcast() }
    }

    // MARK: - Retries and dead letters

    /// Runs the retry after `delay`, without holding a worker meanwhile.
    private func scheduleRetry(_ key: InFlightWork.RetryKey, after delay: Duration) {
        Task {
            try? await Task.sleep(for: delay)
            let (retry, next) = withState { state in
                defer { wakeWaiters(state) }
                return state.takeRetry(key)
            }
            dispatch([retry, next].compactMap { $0 })
        }
    }

    /// Writes `work` to its dead-letter topic; its offset becomes committable once acknowledged.
    private func writeDeadLetter(_ work: InFlightWork, error: any Error) {
        guard let deadLetters else {
            // Cannot happen: the consumer creates the writer for the dead-letter policy.
            withState { $0.endDeadLetter(work, acknowledged: false) }
            return
        }
        let message = work.message
        let topic = deadLetters.topic(for: message.topic)
        var record = DeadLetterWriter.record(for: message, topic: topic, error: error, attempts: work.attempt, failedAt: Date())
        observers.tracing.injectDeadLetter(&record, for: message)
        logger.warning(
            "handler failed after \(work.attempt) attempt\(work.attempt == 1 ? "" : "s"): writing it to \(topic)",
            metadata: message.loggingMetadata.merging(["error": "\(error)"]) { $1 })
        deadLetters.write(
            record, of: message,
            shouldGiveUp: { [self] in
                withState { $0.stopMode == .immediate || $0.epochs[work.topicPartition] != work.epoch }
            },
            completion: { [self] acknowledged in
                withState { state in
                    state.endDeadLetter(work, acknowledged: acknowledged)
                    if acknowledged { recordDone(work, at: monotonicNanos(), in: &state) }
                    wakeWaiters(state)
                }
                if !acknowledged {
                    logger.warning(
                        "gave up writing to \(topic): the partition is no longer ours; the message stays uncommitted",
                        metadata: message.loggingMetadata)
                }
            })
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
            // Wake at least every 100 ms to notice an immediate stop (and to show the loop alive).
            condition.unlock()
            beat()
            condition.lock()
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
