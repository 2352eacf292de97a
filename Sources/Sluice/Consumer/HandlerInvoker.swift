//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import Logging
internal import SluiceFutures
internal import Tracing
internal import SluiceProcessPool
internal import Synchronization
internal import _SluiceTime

/// Runs a handler where it belongs: a synchronous one on an executor (the worker threads, or the
/// calling thread in tests), an asynchronous one under Swift concurrency, an isolated one in worker
/// processes. Either way each outcome reaches the completion callback exactly once.
///
/// Deadlines are the state machine's: a call it failed for its deadline still reports here, and
/// the machine drops that late outcome. Worker processes enforce their own deadline (the pool kills
/// the worker).
enum HandlerInvoker: Sendable {
    /// A synchronous handler on an executor; `activity` tells how long each worker thread has been
    /// inside its current call (for liveness), when the executor can.
    case sync(any MessageHandler, any Executor, activity: (@Sendable () -> [Duration?])?)
    /// A synchronous batch handler on an executor.
    case batch(any BatchMessageHandler, any Executor, activity: (@Sendable () -> [Duration?])?)
    case async(any AsyncMessageHandler, AsyncCallRegistry)
    case asyncBatch(any AsyncBatchMessageHandler, AsyncCallRegistry)
    /// A synchronous handler (per message or per batch) in worker processes (``ProcessIsolation``),
    /// served under `job`.
    case process(ProcessPoolExecutor, job: String, batches: Bool)

    /// What a handler call reports: the works, each one's result, and whether the whole batch
    /// failed as one (it threw, its worker crashed), so that nobody knows which message is at fault.
    typealias Completion = @Sendable (_ works: [InFlightWork], _ results: [Result<Void, any Error>], _ wholeBatch: Bool) -> Void

    /// The invokers of `handlers` (one per route): synchronous ones on the consumer's worker
    /// threads (a route with its own workers on its own threads), or on the calling thread when
    /// `inline` (tests); isolated ones on `pool`.
    /// - Throws: ``SluiceError`` when an isolated handler has no pool.
    static func make(_ handlers: [SluiceHandler], configuration: SluiceConfiguration, pool: ProcessPoolExecutor?, inline: Bool) throws -> [HandlerInvoker] {
        var shared: ThreadPoolExecutor?
        func executor(for index: Int) -> (any Executor, (@Sendable () -> [Duration?])?) {
            if inline { return (InlineExecutor(), nil) }
            let route = configuration.routes.indices.contains(index) ? configuration.routes[index] : nil
            let pool: ThreadPoolExecutor
            if let workers = route?.workers {
                pool = ThreadPoolExecutor(workers: workers, name: "sluice-\(route!.name)")
            } else {
                pool = shared ?? ThreadPoolExecutor(workers: configuration.workers, name: "sluice-worker")
                shared = pool
            }
            return (pool, { pool.workerActivity })
        }
        return try handlers.enumerated().map { index, handler in
            switch handler.kind {
            case .sync(let handler):
                let (executor, activity) = executor(for: index)
                return .sync(handler, executor, activity: activity)
            case .batch(let handler):
                let (executor, activity) = executor(for: index)
                return .batch(handler, executor, activity: activity)
            case .async(let handler):
                return .async(handler, AsyncCallRegistry())
            case .asyncBatch(let handler):
                return .asyncBatch(handler, AsyncCallRegistry())
            case .isolated(let job, let batches):
                guard let pool else {
                    let name = configuration.routes.indices.contains(index) ? "route '\(configuration.routes[index].name)'" : "the handler"
                    throw SluiceError.configuration(
                        "\(name) runs in worker processes: create the consumer with SluiceConsumer(configuration:isolation:)")
                }
                return .process(pool, job: job, batches: batches)
            }
        }
    }

    /// Whether it takes batches (``runBatch(_:context:timeout:observers:started:completion:)``)
    /// rather than messages.
    var handlesBatches: Bool {
        switch self {
        case .batch, .asyncBatch: true
        case .process(_, _, let batches): batches
        case .sync, .async: false
        }
    }

    /// Whether several messages go to one call of a per-message handler (``run(_:context:timeout:observers:started:measure:completion:)``):
    /// synchronous ones on threads, and in worker processes (one frame), unless the workers are
    /// recycled after a number of tasks, which counts messages.
    var takesChunks: Bool {
        switch self {
        case .sync: true
        case .process(let pool, _, let batches): !batches && pool.configuration.maxTasksPerWorker == nil
        case .batch, .async, .asyncBatch: false
        }
    }

    /// Whether it runs lane runs (``ConsumerStateMachine/startWithFollowers(_:into:)``): a
    /// synchronous per-message handler on threads, or in worker processes where it takes chunks
    /// (a frame's runs stop at their first failure in the worker, ``ProcessIsolation/handleChunk(_:with:logger:)``).
    /// Never under a deadline; the engine checks that.
    var runsLanes: Bool {
        switch self {
        case .sync: true
        case .process: takesChunks
        case .batch, .async, .asyncBatch: false
        }
    }

    /// The worker processes, for isolated handlers.
    var pool: ProcessPoolExecutor? {
        if case .process(let pool, _, _) = self { return pool }
        return nil
    }

    /// Runs the handler over `works`, in order, on one worker (sync) or one task per message
    /// (async), then reports all outcomes at once. `measure` receives the mean wall time per
    /// message of a synchronous chunk, in nanoseconds. With a `timeout` (one work at a time on
    /// threads and tasks), `started` is told when the call begins, which starts its deadline.
    func run(
        _ works: [InFlightWork],
        context: @escaping @Sendable (InFlightWork) -> HandlerContext,
        timeout: Duration?,
        observers: HandlerObservers,
        started: @escaping @Sendable ([InFlightWork]) -> Void,
        measure: @escaping @Sendable (Int64) -> Void,
        completion: @escaping Completion
    ) {
        switch self {
        case .sync(let handler, let executor, _):
            let future = executor.submit { () -> [Result<Void, any Error>] in
                if timeout != nil, let work = works.first { started([work]) }
                let start = MonotonicInstant.now
                var results: [Result<Void, any Error>] = []
                results.reserveCapacity(works.count)
                // Lanes of lane runs with a failed member: the rest of such a run does not run.
                var failedRuns: [OrderingLane] = []
                var callContext: HandlerContext?
                for work in works {
                    if let runLane = work.runLane, !failedRuns.isEmpty, failedRuns.contains(runLane) {
                        results.append(.failure(LaneRunSkipped()))
                        continue
                    }
                    // One context for the chunk, rebound to each message (see `rebind`).
                    if callContext == nil { callContext = context(work) } else { callContext!.rebind(attempt: work.attempt, message: work.message) }
                    let result = Result { try observers.run(work) { try handler.handle(work.message, context: callContext!) } }
                    if case .failure = result, let runLane = work.runLane { failedRuns.append(runLane) }
                    results.append(result)
                }
                measure((MonotonicInstant.now.nanoseconds - start.nanoseconds) / Int64(works.count))
                return results
            }
            future.whenComplete { outcome in
                switch outcome {
                case .success(let results): completion(works, results, false)
                // The executor refused or cancelled the chunk (shutdown): none of it ran.
                case .failure(let error): completion(works, Array(repeating: .failure(error), count: works.count), false)
                }
            }
        case .process(let pool, let job, _) where works.count > 1:
            runChunk(works, pool: pool, job: job, observers: observers, measure: measure, completion: completion)
        case .process(let pool, let job, _):
            for work in works {
                let startedAt = MonotonicInstant.now.nanoseconds
                let ahead = timeout == nil ? pool.queuedCount : 0
                let span = observers.tracing.startSpan(work.message, attempt: work.attempt)
                let future = pool.submit(job: job, payload: WireMessage.encode(work.message, attempt: work.attempt), timeout: timeout)
                future.whenComplete { outcome in
                    let elapsed = MonotonicInstant.now.nanoseconds - startedAt
                    // Sizes the frames of later messages (the engine chunks only without a deadline).
                    if timeout == nil { measure(Self.serviceTime(elapsed, queuedAhead: ahead, workers: pool.parallelism)) }
                    if observers.metrics.isEnabled {
                        observers.metrics.recordHandlerDuration(topic: work.message.topic, nanoseconds: elapsed)
                    }
                    let result = Self.result(of: outcome, attempt: work.attempt, timeout: timeout)
                    observers.tracing.end(span, result)
                    completion([work], [result], false)
                }
            }
        case .async(let handler, let registry):
            for work in works {
                guard timeout != nil else {
                    Task {
                        let result = await Result { try await observers.run(work) { try await handler.handle(work.message, context: context(work)) } }
                        completion([work], [result], false)
                    }
                    continue
                }
                let call = work.call
                started([work])
                let task = Task {
                    let result = await Result { try await observers.run(work) { try await handler.handle(work.message, context: context(work)) } }
                    registry.finish(call)
                    completion([work], [result], false)
                }
                registry.register(task, for: call)
            }
        case .batch, .asyncBatch:
            runBatch(works, logger: context(works[0]).logger, timeout: timeout, observers: observers, started: started, completion: completion)
        }
    }

    /// Sends several messages of a per-message handler to a worker process in one frame; each is
    /// handled on its own and has its own outcome, except that a lane run's failure skips the rest
    /// of its run. A crash of the worker fails the frame (`wholeBatch`: which message was running
    /// is unknown, so each runs once more alone): the first message of each lane run and every
    /// message outside one, while the rest of each run goes back to its lane un-run
    /// (``failedChunkResults(_:error:)``). Only without a deadline: the pool's deadline is per frame.
    private func runChunk(
        _ works: [InFlightWork], pool: ProcessPoolExecutor, job: String, observers: HandlerObservers,
        measure: @escaping @Sendable (Int64) -> Void, completion: @escaping Completion
    ) {
        let tracedFrom = observers.tracing.now()
        let startedAt = MonotonicInstant.now.nanoseconds
        let ahead = pool.queuedCount
        let payload = WireMessage.encode(chunk: works.map { ($0.message, $0.attempt) }, runLengths: Self.runLengths(works))
        pool.submit(job: ProcessIsolation.chunkJob(job), payload: payload, timeout: nil).whenComplete { outcome in
            let elapsed = MonotonicInstant.now.nanoseconds - startedAt
            var results: [Result<Void, any Error>]
            var whole = false
            switch outcome {
            case .success(let bytes):
                do {
                    results = try WireMessage.decodeOutcomes(bytes, expected: works.count).outcomes.map(Self.result(of:))
                } catch {
                    results = Self.failedChunkResults(works, error: error)
                    whole = true
                }
            case .failure(let error):
                // A crash, a stop from outside, or the pool's refusal: every message of the frame.
                results = Self.failedChunkResults(works, error: error)
                whole = true
            }
            // Members that a failure before them in their lane run skipped had no call: no span,
            // no duration, no share of the frame's time (they get theirs when they run).
            let ran = results.indices.filter { !(results[$0].error is LaneRunSkipped) }
            let perMessage = Self.serviceTime(elapsed, queuedAhead: ahead, workers: pool.parallelism) / Int64(max(1, ran.count))
            measure(perMessage)
            if observers.metrics.isEnabled {
                for index in ran { observers.metrics.recordHandlerDuration(topic: works[index].message.topic, nanoseconds: perMessage) }
            }
            if let tracedFrom {
                for index in ran {
                    observers.tracing.recordSpan(works[index].message, attempt: works[index].attempt, startedAt: tracedFrom, results[index])
                }
            }
            completion(works, results, whole)
        }
    }

    /// The lengths of the lane runs `works` begins with, in order (a run's members are
    /// consecutive and carry its lane as ``InFlightWork/runLane``).
    static func runLengths(_ works: [InFlightWork]) -> [Int] {
        var lengths: [Int] = []
        var index = works.startIndex
        while index < works.endIndex, let lane = works[index].runLane {
            var end = index + 1
            while end < works.endIndex, works[end].runLane == lane { end += 1 }
            lengths.append(end - index)
            index = end
        }
        return lengths
    }

    /// The results of a chunk that failed as a whole with `error`: each lane run's first member
    /// and every message outside a run fail with it; the rest of each run did not run (as far as
    /// anyone knows to blame them) and goes back to its lane, behind its first member.
    static func failedChunkResults(_ works: [InFlightWork], error: any Error) -> [Result<Void, any Error>] {
        works.indices.map { index in
            let inRun = works[index].runLane != nil && index > works.startIndex && works[index - 1].runLane == works[index].runLane
            return inRun ? .failure(LaneRunSkipped()) : .failure(error)
        }
    }

    /// A worker process's time for a task, from the task's time in the pool: a task submitted
    /// behind `queuedAhead` others waited for about `queuedAhead / workers` of them first.
    static func serviceTime(_ elapsed: Int64, queuedAhead: Int, workers: Int) -> Int64 {
        let workers = Int64(max(1, workers))
        return max(1, elapsed * workers / (Int64(queuedAhead) + workers))
    }

    /// Runs a batch handler once over `works` (a batch the state machine formed), then reports
    /// each message's outcome. A throw, a crash of the worker process or a bad answer fails every
    /// message (`wholeBatch`). With a `timeout`, `started` is told when the call begins: the
    /// deadline is the batch's.
    func runBatch(
        _ works: [InFlightWork],
        logger: Logger,
        timeout: Duration?,
        observers: HandlerObservers,
        started: @escaping @Sendable ([InFlightWork]) -> Void,
        completion: @escaping Completion
    ) {
        let messages = works.map(\.message)
        let context = BatchContext(attempts: works.map(\.attempt), logger: logger)
        @Sendable func finish(_ outcome: Result<BatchOutcome, any Error>, span: (any Span)?, startedAt: Int64?) {
            if let startedAt {
                observers.metrics.recordHandlerDuration(topic: messages[0].topic, nanoseconds: MonotonicInstant.now.nanoseconds - startedAt)
            }
            let results: [Result<Void, any Error>]
            var whole = false
            do {
                results = try outcome.get().results(count: works.count)
            } catch {
                results = Array(repeating: .failure(error), count: works.count)
                whole = true
            }
            observers.tracing.end(span, results)
            completion(works, results, whole)
        }
        switch self {
        case .batch(let handler, let executor, _):
            let future = executor.submit { () -> Result<BatchOutcome, any Error> in
                if timeout != nil { started(works) }
                let startedAt = observers.metrics.isEnabled ? MonotonicInstant.now.nanoseconds : nil
                let span = observers.tracing.startBatchSpan(messages)
                let outcome = Result { try handler.handle(messages, context: context) }
                finish(outcome, span: span, startedAt: startedAt)
                return outcome
            }
            future.whenComplete { outcome in
                // The executor refused or cancelled the batch (shutdown): none of it ran.
                if case .failure(let error) = outcome { completion(works, Array(repeating: .failure(error), count: works.count), false) }
            }
        case .asyncBatch(let handler, let registry):
            if timeout != nil { started(works) }
            let task = Task {
                let startedAt = observers.metrics.isEnabled ? MonotonicInstant.now.nanoseconds : nil
                let span = observers.tracing.startBatchSpan(messages)
                let outcome = await Result { try await handler.handle(messages, context: context) }
                if timeout != nil { for work in works { registry.finish(work.call) } }
                finish(outcome, span: span, startedAt: startedAt)
            }
            // The machine cancels a batch past its deadline by each member's call.
            if timeout != nil { for work in works { registry.register(task, for: work.call) } }
        case .process(let pool, let job, _):
            let startedAt = observers.metrics.isEnabled ? MonotonicInstant.now.nanoseconds : nil
            let span = observers.tracing.startBatchSpan(messages)
            let payload = WireMessage.encode(batch: works.map { ($0.message, $0.attempt) })
            pool.submit(job: job, payload: payload, timeout: timeout).whenComplete { outcome in
                let attempt = works.map(\.attempt).max() ?? 1
                switch outcome {
                case .success(let bytes):
                    do {
                        let (outcomes, whole) = try WireMessage.decodeOutcomes(bytes, expected: works.count)
                        let results = outcomes.map(Self.result(of:))
                        observers.tracing.end(span, results)
                        if let startedAt {
                            observers.metrics.recordHandlerDuration(topic: messages[0].topic, nanoseconds: MonotonicInstant.now.nanoseconds - startedAt)
                        }
                        completion(works, results, whole)
                    } catch {
                        finish(.failure(error), span: span, startedAt: startedAt)
                    }
                case .failure:
                    // A crash, a timeout or the pool's refusal: every message fails the same way.
                    finish(.failure(Self.result(of: outcome, attempt: attempt, timeout: timeout).error!), span: span, startedAt: startedAt)
                }
            }
        case .sync, .async:
            preconditionFailure("runBatch of a per-message handler")
        }
    }

    /// Cancels the task of an asynchronous call whose deadline passed (its outcome is dropped).
    func cancel(_ call: InFlightWork.Call) {
        switch self {
        case .async(_, let registry), .asyncBatch(_, let registry): registry.cancel(call)
        default: break
        }
    }

    /// Whether the handler runs in worker processes.
    var isIsolated: Bool { pool != nil }

    /// How long each worker thread has been inside its current call (`nil`: idle), when known.
    var workerActivity: [Duration?]? {
        switch self {
        case .sync(_, _, let activity?), .batch(_, _, let activity?): activity()
        default: nil
        }
    }

    /// Stops the worker threads or processes (after the engine has drained what it waits for).
    /// `immediately` does not wait for worker processes' running calls.
    func shutdown(immediately: Bool) {
        switch self {
        case .sync(_, let executor, _), .batch(_, let executor, _): executor.shutdown(wait: false, cancelPending: true)
        case .process(let pool, _, _): pool.shutdown(wait: !immediately, cancelPending: true)
        case .async, .asyncBatch: break
        }
    }

    /// A worker process's answer as a handler outcome: the handler's own error, a timeout (the
    /// pool killed the worker), or the pool's error naming the crash.
    static func result(of outcome: Result<[UInt8], any Error>, attempt: Int, timeout: Duration?) -> Result<Void, any Error> {
        switch outcome {
        case .success(let bytes):
            do {
                return result(of: try WireMessage.decodeOutcome(bytes))
            } catch {
                return .failure(error)
            }
        case .failure(let error as ProcessPoolError) where error.code == .timedOut:
            return .failure(HandlerTimeoutError(timeout: timeout ?? .zero, attempt: attempt))
        case .failure(let error):
            return .failure(error)
        }
    }
}

extension HandlerInvoker {
    /// A worker's outcome of one message as a handler result.
    static func result(of outcome: WireMessage.Outcome) -> Result<Void, any Error> {
        switch outcome {
        case .success: .success(())
        case .failure(let type, let description, let nonRetryable):
            .failure(WorkerHandlerError(typeName: type, description: description, isRetryable: !nonRetryable))
        case .skipped: .failure(LaneRunSkipped())
        }
    }
}

extension Result {
    /// The error of a failure.
    var error: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}

/// The tasks of asynchronous handler calls that have a deadline, so that the engine can cancel a
/// call whose deadline passed. A call cancelled before its task is registered is cancelled on
/// registration.
final class AsyncCallRegistry: Sendable {
    private struct State {
        var tasks: [InFlightWork.Call: Task<Void, Never>] = [:]
        var cancelledEarly: Set<InFlightWork.Call> = []
        var finished: Set<InFlightWork.Call> = []
    }

    private let state = Mutex(State())

    func register(_ task: Task<Void, Never>, for call: InFlightWork.Call) {
        let cancel = state.withLock { state -> Bool in
            if state.finished.remove(call) != nil { return false }
            if state.cancelledEarly.remove(call) != nil { return true }
            state.tasks[call] = task
            return false
        }
        if cancel { task.cancel() }
    }

    func finish(_ call: InFlightWork.Call) {
        state.withLock { state in
            if state.tasks.removeValue(forKey: call) == nil { state.finished.insert(call) }
        }
    }

    func cancel(_ call: InFlightWork.Call) {
        let task = state.withLock { state -> Task<Void, Never>? in
            if let task = state.tasks.removeValue(forKey: call) { return task }
            if state.finished.remove(call) == nil { state.cancelledEarly.insert(call) }
            return nil
        }
        task?.cancel()
    }
}

extension Result where Failure == any Error {
    /// The outcome of an async throwing call.
    init(catching body: () async throws -> Success) async {
        do {
            self = .success(try await body())
        } catch {
            self = .failure(error)
        }
    }
}
