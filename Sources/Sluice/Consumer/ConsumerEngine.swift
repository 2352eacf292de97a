//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import Foundation
internal import Logging
internal import SluiceFutures
internal import Synchronization
internal import _SluiceTime

/// The shared driver of a ``SluiceConsumer``: keeps the ``ConsumerStateMachine`` behind one lock,
/// turns handler completions and dead-letter answers into its events (on worker threads), and
/// carries out what it returns once the lock is released: starting handler calls, writing dead
/// letters, cancelling overrun tasks, logging, waking the poll thread.
///
/// The poll thread (``PollLoop``) feeds it the source's events and waits on its lock.
///
/// `@unchecked Sendable`: `storage` is only touched with `lock` held; everything else is immutable,
/// atomic, or behind its own lock.
final class ConsumerEngine: @unchecked Sendable {
    /// What the lock protects.
    struct Storage {
        var machine: ConsumerStateMachine
        /// Finished work, left for the poll thread to release (see ``releaseRetired()``): the
        /// calls' arrays as they are, each kept by one reference, not copied work by work.
        var retired: [[InFlightWork]] = []
    }

    let configuration: SluiceConfiguration
    let logger: Logger
    let clock: any EngineClock
    /// Each route's handler (one in all without routes), by ``InFlightWork/route``.
    let handlers: [HandlerInvoker]
    /// Writes dead letters (dead-letter policy only).
    let deadLetters: (any DeadLetterSink)?
    /// Metrics and traces of the handler calls.
    let observers: HandlerObservers
    /// Masks secrets in dead-letter headers and in the errors the engine logs.
    private let redactor: SecretRedactor
    var metrics: EngineMetrics { observers.metrics }
    let lock = ConditionLock()
    private var storage: Storage
    /// When the poll loop last turned (engine clock; 0: not yet), for liveness.
    private let lastTurn = Atomic<Int64>(0)
    /// The poll loop sleeps until then (engine clock): a stuck loop, for tests of liveness.
    private let stallUntil = Atomic<Int64>(0)
    /// Mean wall time of one handler call in nanoseconds, as last measured by a worker; sizes
    /// the chunks of messages handed to a worker at once (0: not measured yet).
    private let meanHandlerNanos = Atomic<Int64>(0)
    /// The same smoothed over many calls; sizes the lane runs, whose limit the machine keeps
    /// under the lock.
    private let handlerTime = HandlerTimeEstimate()
    /// The lane-run limit last given to the machine, from `handlerTime`.
    private let laneRunLimit = Atomic<Int>(maxChunk)
    /// Finished work taken from `storage.retired`; only the poll thread touches it.
    private var graveyard: [[InFlightWork]] = []
    /// Handler calls whose dispatch waits for the current one to return, when the executor runs
    /// them on the calling thread (tests): a trampoline instead of unbounded recursion.
    private let inlineDispatch = Mutex<(isDispatching: Bool, pending: [[InFlightWork]])>((false, []))
    /// Whether handler calls complete on the thread that starts them (an inline executor, in tests).
    private let runsInline: Bool

    /// A handler call (a chunk of cheap calls on a worker thread, a frame of them to a worker
    /// process, a lane run) should keep its worker busy for about this long. Each call costs a few
    /// microseconds around it (a pool task, a completion under the engine's lock; for a frame two
    /// socket round trips, ~12–15 µs of CPU): at 250 µs a 100 µs handler's chunks held 2 messages
    /// and those costs were 2 – 3 % of the workers' time; at 1 ms they hold 10 (BENCHMARKS.md,
    /// "Chunks of a millisecond").
    static let callTargetNanos: Int64 = 1_000_000
    /// The most messages handed to a worker at once.
    static let maxChunk = 128

    init(
        configuration: SluiceConfiguration, handlers: [HandlerInvoker], deadLetters: (any DeadLetterSink)?,
        clock: any EngineClock, seed: UInt64, runsInline: Bool, logger: Logger
    ) {
        self.configuration = configuration
        self.handlers = handlers
        self.deadLetters = deadLetters
        self.clock = clock
        self.logger = logger
        self.redactor = configuration.redactor
        self.observers = HandlerObservers(
            tracing: MessageTracing(groupID: configuration.groupID),
            metrics: EngineMetrics(
                topics: configuration.namedTopics,
                routes: configuration.routes.isEmpty ? ["consumer"] : configuration.routes.map(\.name)))
        // Worker processes have real deadlines: the pool kills an overrunning worker.
        var settings = ConsumerStateMachine.Settings(configuration, handlers: handlers.map { ($0.handlesBatches, $0.isIsolated) })
        // Not under a deadline (which threads enforce per message and worker processes per frame).
        for index in settings.routes.indices where handlers[index].runsLanes && configuration.handlerTimeout == nil {
            settings.routes[index].runsLanes = true
        }
        var machine = ConsumerStateMachine(settings: settings, seed: seed)
        // Until a handler time is measured (and always with the inline executor of tests).
        machine.setLaneRunLimit(Self.maxChunk)
        self.storage = Storage(machine: machine)
        self.runsInline = runsInline
    }

    // MARK: - The machine

    /// Runs `body` with the machine locked. Never dispatch or wait inside it.
    func withMachine<T>(_ body: (inout ConsumerStateMachine) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&storage.machine)
    }

    /// Feeds the machine an event and carries out what it returns (those actions a worker thread
    /// may carry out; the poll thread handles the rest itself).
    @discardableResult
    func handle(_ event: (inout ConsumerStateMachine) -> EngineActions) -> EngineActions {
        let actions = withMachine(event)
        perform(actions)
        return actions
    }

    /// Carries out the actions that need no source: logs, handler calls, dead-letter writes,
    /// cancellations, waking the poll thread.
    func perform(_ actions: EngineActions) {
        for entry in actions.logs { log(entry) }
        for work in actions.cancel { handlers[work.route].cancel(work.call) }
        if actions.wakePoller { lock.broadcast() }
        for request in actions.deadLetters { writeDeadLetter(request) }
        dispatch(actions.dispatch)
        dispatch(laneRuns: actions.laneRuns)
        for batch in actions.batches { dispatch(batch: batch) }
    }

    /// Hands the work finished since the last call to the poll thread's allocator. A message is
    /// allocated on the poll thread; freed on a worker thread, its memory goes back to the poll
    /// thread's malloc arena under that arena's lock, which the poll thread takes to allocate the
    /// next ones: on two cores, nine in ten of the poll thread's waits were for that lock (`perf
    /// record -e sched:sched_switch` of the no-op bench). Freed here, it goes to the thread's own
    /// cache. Poll thread only.
    func releaseRetired() {
        lock.lock()
        swap(&graveyard, &storage.retired)
        lock.unlock()
        graveyard.removeAll(keepingCapacity: true)
    }

    // MARK: - Waiting (poll thread)

    /// How often a waiting poll thread wakes at least: to show the loop alive and notice a stop.
    static let waitSlice: Int64 = 100_000_000

    /// Waits until `done` holds for the machine or `deadline` (asked of the machine each time, as
    /// a stop may shorten it) passes, running due timers meanwhile (their actions go to `serve`).
    /// Completions wake it when ``ConsumerStateMachine/shouldWakePoller()`` says `what` may be over.
    ///
    /// - Returns: whether `done` came true.
    func wait(
        for what: ConsumerStateMachine.PollerWait,
        until deadline: (ConsumerStateMachine) -> Int64,
        done: (ConsumerStateMachine) -> Bool,
        serve: (EngineActions) -> Void
    ) -> Bool {
        lock.lock()
        storage.machine.pollerWait = what
        defer {
            storage.machine.pollerWait = nil
            lock.unlock()
        }
        var lastBeat = clock.now()
        while true {
            if done(storage.machine) { return true }
            let now = clock.now()
            if now - lastBeat >= Self.waitSlice {
                lock.unlock()
                beat()
                lock.lock()
                lastBeat = clock.now()
                continue
            }
            let end = deadline(storage.machine)
            if now >= end { return false }
            if let due = storage.machine.nextDue, due <= now {
                let actions = storage.machine.tick(now: now)
                lock.unlock()
                serve(actions)
                lock.lock()
                continue
            }
            _ = clock.wait(lock, until: min(end, storage.machine.nextDue ?? .max, lastBeat + Self.waitSlice))
        }
    }

    // MARK: - Health

    /// The poll loop turned: it is alive. Sleeps first while a test stalls the loop on purpose.
    func beat() {
        while clock.now() < stallUntil.load(ordering: .relaxed) {
            usleep(10_000)
        }
        lastTurn.store(clock.now(), ordering: .relaxed)
    }

    /// Makes the poll loop stop turning for `duration`, as a stuck loop would (for tests of the
    /// liveness probe).
    func stallPollLoop(for duration: Duration) {
        stallUntil.store(clock.now() + duration.nanoseconds, ordering: .relaxed)
    }

    /// Liveness and readiness, judged against `ttl`: live while the poll loop turns within it and
    /// not every worker thread has been inside one call for longer.
    func health(livenessTTL ttl: Duration) -> SluiceHealth {
        let turn = lastTurn.load(ordering: .relaxed)
        let since: Duration? = turn == 0 ? nil : .nanoseconds(clock.now() - turn)
        let (lifecycle, assigned, count) = withMachine { ($0.lifecycle, $0.hasAssignment, $0.partitions.count) }
        let phase: SluiceHealth.Phase
        switch lifecycle {
        case .idle, .starting: phase = .starting
        case .stopped, .stoppedBeforeStart: phase = .stopped
        case .draining, .closing: phase = .stopping
        case .running: phase = turn == 0 ? .starting : (assigned ? .consuming : .joining)
        }
        var health = SluiceHealth(phase: phase, sinceLastTurn: since, livenessTTL: ttl, assignedPartitions: count)
        let activity = handlers.compactMap(\.workerActivity).flatMap { $0 }
        if !activity.isEmpty {
            let stuck = activity.allSatisfy { busy in busy.map { $0 > ttl } ?? false }
            if stuck { health.stuckWorkers = activity.count }
        }
        return health
    }

    /// Stops the helpers once the poll loop has ended: the workers, then the dead-letter sink
    /// (after waiting up to `timeout` for its writes).
    func shutDownHelpers(immediately: Bool, timeout: Duration) {
        for handler in handlers { handler.shutdown(immediately: immediately) }
        deadLetters?.close(timeout: timeout)
    }

    // MARK: - Dispatch

    /// Starts handler calls. Cheap synchronous handlers go to a worker in chunks (one task, one
    /// completion lock for many messages); expensive ones one by one, spread over the workers.
    func dispatch(_ ready: [InFlightWork]) {
        guard !ready.isEmpty else { return }
        if runsInline {
            inline(ready.map { [$0] })
            return
        }
        let timeout = configuration.handlerTimeout
        // Without routes every work has route 0; with them, each run of one route's works goes
        // to its handler.
        var start = 0
        while start < ready.count {
            let route = ready[start].route
            var end = start + 1
            while end < ready.count, ready[end].route == route { end += 1 }
            let handler = handlers[route]
            guard handler.takesChunks, timeout == nil else {
                // One call at a time: async handlers, and sync ones under a deadline (a chunk would
                // leave the messages behind an overrunning call stuck on its thread, and a worker
                // process's deadline is per frame).
                for work in ready[start..<end] { self.start([work], on: handler) }
                start = end
                continue
            }
            let chunk = chunkLimit(sharing: end - start)
            var pending: [InFlightWork] = []
            pending.reserveCapacity(min(chunk, end - start))
            // By index: one copy of each work (into its chunk), not two.
            for index in start..<end {
                if ready[index].alone {
                    // Isolated after its chunk's worker crashed: it runs by itself.
                    self.start([ready[index]], on: handler)
                    continue
                }
                pending.append(ready[index])
                if pending.count == chunk {
                    self.start(pending, on: handler)
                    pending.removeAll(keepingCapacity: true)
                }
            }
            if !pending.isEmpty { self.start(pending, on: handler) }
            start = end
        }
    }

    /// Starts lane runs: each goes whole to one worker (its members must run in order, one after
    /// the other); runs of one route share a chunk while it has room.
    func dispatch(laneRuns runs: [[InFlightWork]]) {
        guard !runs.isEmpty else { return }
        if runsInline {
            inline(runs)
            return
        }
        let chunk = chunkLimit(sharing: runs.reduce(0) { $0 + $1.count })
        var pending: [InFlightWork] = []
        for run in runs {
            if !pending.isEmpty, pending.count + run.count > chunk || pending[0].route != run[0].route {
                start(pending, on: handlers[pending[0].route])
                pending.removeAll(keepingCapacity: true)
            }
            pending.append(contentsOf: run)
        }
        if !pending.isEmpty { start(pending, on: handlers[pending[0].route]) }
    }

    /// Starts a batch handler call on a batch the machine formed.
    func dispatch(batch: [InFlightWork]) {
        guard let first = batch.first else { return }
        metrics.recordBatch(route: first.route, size: batch.count)
        if runsInline {
            inline([batch])
            return
        }
        start(batch, on: handlers[first.route])
    }

    /// Calls run on this thread and complete inside `run`: queue what their completions start,
    /// and run it here, one call after the other (a trampoline instead of unbounded recursion).
    private func inline(_ calls: [[InFlightWork]]) {
        let first = inlineDispatch.withLock { state -> Bool in
            state.pending.append(contentsOf: calls)
            defer { state.isDispatching = true }
            return !state.isDispatching
        }
        guard first else { return }
        while let next = inlineDispatch.withLock({ state -> [[InFlightWork]]? in
            guard !state.pending.isEmpty else {
                state.isDispatching = false
                return nil
            }
            defer { state.pending.removeAll() }
            return state.pending
        }) {
            for call in next { start(call, on: handlers[call[0].route]) }
        }
    }

    private func start(_ works: [InFlightWork], on handler: HandlerInvoker) {
        let started: @Sendable ([InFlightWork]) -> Void = { [self] works in handle { $0.callStarted(works, now: clock.now()) } }
        if handler.handlesBatches {
            handler.runBatch(works, logger: logger, timeout: configuration.handlerTimeout, observers: observers, started: started) {
                self.complete($0, results: $1, wholeBatch: $2)
            }
            return
        }
        handler.run(
            works, context: context(for:), timeout: configuration.handlerTimeout, observers: observers,
            started: started, measure: recordHandlerTime
        ) {
            self.complete($0, results: $1, wholeBatch: $2)
        }
    }

    private func context(for work: InFlightWork) -> HandlerContext {
        HandlerContext(attempt: work.attempt, logger: logger, message: work.message)
    }

    /// The most messages of one call when `count` wait to start: a call's worth
    /// (``callTargetNanos``), but never so many that fewer calls than workers share `count`.
    private func chunkLimit(sharing count: Int) -> Int {
        let chunk = chunkSize(mean: meanHandlerNanos.load(ordering: .relaxed))
        return min(chunk, max(1, (count + configuration.workers - 1) / configuration.workers))
    }

    /// Messages a call of about ``callTargetNanos`` holds when a message takes `mean`, from 1 to
    /// ``maxChunk``; 1 until a handler time is measured.
    private func chunkSize(mean: Int64) -> Int {
        mean == 0 ? 1 : Int(min(Int64(Self.maxChunk), max(1, Self.callTargetNanos / mean)))
    }

    private func recordHandlerTime(_ nanosPerMessage: Int64) {
        meanHandlerNanos.store(max(1, nanosPerMessage), ordering: .relaxed)
        handlerTime.record(nanosPerMessage)
        // Lane runs sized like chunks. The machine's limit is set under the engine's lock, so it
        // changes only when the size moved by more than a quarter.
        let size = chunkSize(mean: handlerTime.nanos)
        let current = laneRunLimit.load(ordering: .relaxed)
        guard abs(size - current) * 4 > current else { return }
        if laneRunLimit.exchange(size, ordering: .relaxed) != size {
            withMachine { $0.setLaneRunLimit(size) }
        }
    }

    // MARK: - Completion (worker threads, tasks)

    /// Records finished handler calls; the machine applies the retry and failure policies and
    /// hands back the next call of each freed lane.
    func complete(_ works: [InFlightWork], results: [Result<Void, any Error>], wholeBatch: Bool) {
        let now = clock.now()
        lock.lock()
        storage.retired.append(works)  // released by the poll thread
        let actions = storage.machine.finished(works, results: results, wholeBatch: wholeBatch, now: now)
        lock.unlock()
        perform(actions)
    }

    // MARK: - Dead letters

    /// Writes a failed message to its dead-letter topic; the answer goes back to the machine.
    private func writeDeadLetter(_ request: DeadLetterRequest) {
        let message = request.work.message
        guard let deadLetters else {
            // Cannot happen: the consumer creates the sink for the dead-letter policy.
            handle { $0.deadLetterFailed(request.work.key, error: SluiceError.configuration("no dead-letter sink"), isRetriable: false, now: clock.now()) }
            return
        }
        var record = DeadLetterRecord.make(
            for: message, topic: request.topic, error: request.error, attempts: request.work.attempt, failedAt: Date(),
            redactor: redactor)
        observers.tracing.injectDeadLetter(&record, for: message)
        if request.writeAttempt == 1 {
            logger.warning(
                "handler failed after \(request.work.attempt) attempt\(request.work.attempt == 1 ? "" : "s"): writing it to \(request.topic)",
                metadata: message.loggingMetadata.merging(["error": "\(shown(request.error))"]) { $1 })
        }
        let key = request.work.key
        deadLetters.write(record) { [self] result in
            switch result {
            case .success:
                handle { $0.deadLetterAcknowledged(key, now: clock.now()) }
            case .failure(let error):
                let retriable = (error as? KafkaError)?.isRetriable ?? true
                handle { $0.deadLetterFailed(key, error: error, isRetriable: retriable, now: clock.now()) }
            }
        }
    }

    // MARK: - Logging

    /// An error's text with secrets masked.
    private func shown(_ error: any Error) -> String {
        redactor.isEmpty ? "\(error)" : redactor.redact("\(error)")
    }

    private func log(_ entry: EngineLog) {
        switch entry {
        case .retrying(let message, let attempt, let delay, let error):
            logger.debug(
                "handler failed; retrying in \(delay)",
                metadata: message.loggingMetadata.merging(["error": "\(shown(error))", "sluice.attempt": "\(attempt)"]) { $1 })
        case .failed(let message, let attempts, let outcome, let error):
            logger.warning(
                "handler failed after \(attempts) attempt\(attempts == 1 ? "" : "s"): \(outcome)",
                metadata: message.loggingMetadata.merging(["error": "\(shown(error))"]) { $1 })
        case .interrupted(let message, let attempt, let error):
            logger.warning(
                "the worker process running attempt \(attempt) was stopped from outside; running it again (not counted as an attempt)",
                metadata: message.loggingMetadata.merging(["error": "\(shown(error))"]) { $1 })
        case .deadLetterRetrying(let message, let topic, let writeAttempt, let delay, let error):
            logger.warning(
                "writing to the dead-letter topic failed; trying again in \(delay)",
                metadata: message.loggingMetadata.merging([
                    "sluice.dead-letter.topic": "\(topic)", "sluice.dead-letter.attempt": "\(writeAttempt)", "error": "\(shown(error))",
                ]) { $1 })
        case .deadLetterAbandoned(let message, let topic):
            logger.warning(
                "gave up writing to \(topic): the partition is no longer ours or the consumer stops; the message stays uncommitted",
                metadata: message.loggingMetadata)
        case .refused(let count):
            logger.debug("dropped \(count) messages of unassigned or revoking partitions, or offsets seen before")
        case .paused(let partitions, let inFlight):
            logger.info(
                "window full for \(configuration.pauseThreshold): paused \(partitions) partitions",
                metadata: ["sluice.inflight.messages": "\(inFlight)"])
        case .routePaused(let route, let partitions, let inFlight):
            logger.info(
                "route \(route) reached its share of the window (\(inFlight) messages in flight): paused its \(partitions) partitions; the other routes go on",
                metadata: ["sluice.route": "\(route)"])
        case .resumed(let partitions):
            logger.info("window below \(configuration.resumeFraction): resumed \(partitions) partitions")
        case .stopping(let failure):
            logger.warning("stopping the consumer: \(shown(failure))", metadata: failure.loggingMetadata)
        case .messageLimitReached(let count):
            logger.info("handled \(count) messages, the message limit: stopping")
        case .spanPaused(let tp, let commitPoint, let span):
            logger.warning(
                "\(tp) paused: \(span) offsets behind its commit point \(commitPoint) reached the uncommitted-span bound; it resumes when the commit point moves",
                metadata: tp.loggingMetadata.merging(["kafka.offset": "\(commitPoint)"]) { $1 })
        case .spanResumed(let tp, let commitPoint):
            logger.info("\(tp) resumed: its commit point moved to \(commitPoint)", metadata: tp.loggingMetadata)
        case .stuck(let tp, let offset, let attempt, let state, let age, let finishedAbove):
            logger.warning(
                "\(tp)@\(offset) has held the partition's commit point for \(Int(age.inSeconds)) s (attempt \(attempt), \(state)) while \(finishedAbove) later offsets are done",
                metadata: tp.loggingMetadata.merging([
                    "kafka.offset": "\(offset)", "sluice.attempt": "\(attempt)", "sluice.age.seconds": "\(Int(age.inSeconds))",
                ]) { $1 })
        case .restored(let tp, let committed, let finished):
            logger.info(
                "\(tp): the last commit (\(committed)) lists \(finished) later offsets as finished; they are skipped",
                metadata: tp.loggingMetadata)
        case .metadataIgnored(let tp, let committed, let reason):
            logger.warning(
                "\(tp): ignoring the commit metadata of offset \(committed) (\(reason)); handling everything from the committed offset",
                metadata: tp.loggingMetadata)
        }
    }
}

extension TopicPartition {
    /// Topic and partition as log metadata.
    var loggingMetadata: Logger.Metadata {
        ["kafka.topic": "\(topic)", "kafka.partition": "\(partition)"]
    }
}

extension KafkaMessage {
    /// Topic, partition and offset as log metadata.
    var loggingMetadata: Logger.Metadata {
        ["kafka.topic": "\(topic)", "kafka.partition": "\(partition)", "kafka.offset": "\(offset)"]
    }
}

extension SluiceError {
    /// The message concerned, where there is one, as log metadata.
    var loggingMetadata: Logger.Metadata {
        var metadata: Logger.Metadata = [:]
        if let topic { metadata["kafka.topic"] = "\(topic)" }
        if let partition { metadata["kafka.partition"] = "\(partition)" }
        if let offset { metadata["kafka.offset"] = "\(offset)" }
        return metadata
    }
}
