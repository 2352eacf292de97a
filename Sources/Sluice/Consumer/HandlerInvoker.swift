//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import SluiceFutures
internal import SluiceProcessPool
internal import Synchronization

/// Runs a handler where it belongs: a synchronous one on the worker threads, an asynchronous one
/// under Swift concurrency. Either way each outcome reaches the completion callback exactly once.
enum HandlerInvoker: Sendable {
    case sync(any MessageHandler, ThreadPoolExecutor)
    case async(any AsyncMessageHandler)
    /// A synchronous handler in worker processes (``ProcessIsolation``).
    case process(ProcessPoolExecutor)

    /// Runs the handler over `works`, in order, on one worker (sync) or one task per message
    /// (async), then reports all outcomes at once. `measure` receives the mean wall time per
    /// message of a synchronous chunk, in nanoseconds.
    ///
    /// With a `timeout` (one work at a time), a call that overruns it is reported as failed with
    /// ``HandlerTimeoutError``: on threads and tasks when the `watchdog` expires it (an async call
    /// is cancelled, a sync call keeps its thread until it returns, and its late outcome is
    /// dropped); in worker processes by the pool, which kills the worker.
    func run(
        _ works: [InFlightWork],
        context: @escaping @Sendable (InFlightWork) -> HandlerContext,
        timeout: Duration?,
        watchdog: DeadlineWatchdog?,
        observers: HandlerObservers,
        measure: @escaping @Sendable (Int) -> Void,
        completion: @escaping @Sendable ([InFlightWork], [Result<Void, any Error>]) -> Void
    ) {
        switch self {
        case .sync(let handler, let executor):
            let future = executor.submit { () -> [Result<Void, any Error>]? in
                if let timeout, let watchdog, let work = works.first {
                    let ticket = watchdog.arm(after: timeout) {
                        completion(works, [.failure(HandlerTimeoutError(timeout: timeout, attempt: work.attempt))])
                    }
                    let result = Result { try observers.run(work) { try handler.handle(work.message, context: context(work)) } }
                    // Reported by the watchdog already when it expired first.
                    return watchdog.disarm(ticket) ? [result] : nil
                }
                let start = monotonicNanos()
                var results: [Result<Void, any Error>] = []
                results.reserveCapacity(works.count)
                for work in works {
                    results.append(Result { try observers.run(work) { try handler.handle(work.message, context: context(work)) } })
                }
                measure((monotonicNanos() - start) / works.count)
                return results
            }
            future.whenComplete { outcome in
                switch outcome {
                case .success(let results?): completion(works, results)
                case .success(nil): break
                // The executor refused or cancelled the chunk (shutdown): none of it ran.
                case .failure(let error): completion(works, Array(repeating: .failure(error), count: works.count))
                }
            }
        case .process(let pool):
            for work in works {
                let started = observers.metrics.isEnabled ? monotonicNanos() : 0
                let span = observers.tracing.startSpan(work.message, attempt: work.attempt)
                let future = pool.submit(
                    job: ProcessIsolation.job, payload: WireMessage.encode(work.message, attempt: work.attempt),
                    timeout: timeout)
                future.whenComplete { outcome in
                    if started != 0 {
                        observers.metrics.recordHandlerDuration(topic: work.message.topic, nanoseconds: monotonicNanos() - started)
                    }
                    let result = Self.result(of: outcome, attempt: work.attempt, timeout: timeout)
                    observers.tracing.end(span, result)
                    completion([work], [result])
                }
            }
        case .async(let handler):
            for work in works {
                guard let timeout, let watchdog else {
                    Task {
                        let result = await Result { try await observers.run(work) { try await handler.handle(work.message, context: context(work)) } }
                        completion([work], [result])
                    }
                    continue
                }
                let task = TaskSlot()
                let ticket = watchdog.arm(after: timeout) {
                    task.cancel()
                    completion([work], [.failure(HandlerTimeoutError(timeout: timeout, attempt: work.attempt))])
                }
                task.start {
                    let result = await Result { try await observers.run(work) { try await handler.handle(work.message, context: context(work)) } }
                    if watchdog.disarm(ticket) { completion([work], [result]) }
                }
            }
        }
    }

    /// Whether the handler runs in worker processes.
    var isIsolated: Bool {
        if case .process = self { return true }
        return false
    }

    /// Stops the worker threads or processes (after the engine has drained what it waits for).
    func shutdown() {
        switch self {
        case .sync(_, let executor): executor.shutdown(wait: false, cancelPending: true)
        case .process(let pool): pool.shutdown(wait: true, cancelPending: true)
        case .async: break
        }
    }

    /// A worker process's answer as a handler outcome: the handler's own error, a timeout (the
    /// pool killed the worker), or the pool's error naming the crash.
    static func result(of outcome: Result<[UInt8], any Error>, attempt: Int, timeout: Duration?) -> Result<Void, any Error> {
        switch outcome {
        case .success(let bytes):
            do {
                switch try WireMessage.decodeOutcome(bytes) {
                case .success: return .success(())
                case .failure(let type, let description, let nonRetryable):
                    return .failure(WorkerHandlerError(typeName: type, description: description, isRetryable: !nonRetryable))
                }
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

/// A task that may be cancelled before it is created: ``start(_:)`` then cancels it at once.
private final class TaskSlot: Sendable {
    private let state = Mutex<(task: Task<Void, Never>?, cancelled: Bool)>((nil, false))

    func start(_ body: @escaping @Sendable () async -> Void) {
        let task = Task { await body() }
        let cancelled = state.withLock { state in
            state.task = task
            return state.cancelled
        }
        if cancelled { task.cancel() }
    }

    func cancel() {
        let task = state.withLock { state in
            state.cancelled = true
            return state.task
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
