//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import SluiceFutures
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
    case async(any AsyncMessageHandler, AsyncCallRegistry)
    /// A synchronous handler in worker processes (``ProcessIsolation``).
    case process(ProcessPoolExecutor)

    /// Runs the handler over `works`, in order, on one worker (sync) or one task per message
    /// (async), then reports all outcomes at once. `measure` receives the mean wall time per
    /// message of a synchronous chunk, in nanoseconds. With a `timeout` (one work at a time on
    /// threads and tasks), `started` is told when the call begins, which starts its deadline.
    func run(
        _ works: [InFlightWork],
        context: @escaping @Sendable (InFlightWork) -> HandlerContext,
        timeout: Duration?,
        observers: HandlerObservers,
        started: @escaping @Sendable (InFlightWork) -> Void,
        measure: @escaping @Sendable (Int64) -> Void,
        completion: @escaping @Sendable ([InFlightWork], [Result<Void, any Error>]) -> Void
    ) {
        switch self {
        case .sync(let handler, let executor, _):
            let future = executor.submit { () -> [Result<Void, any Error>] in
                if timeout != nil, let work = works.first { started(work) }
                let start = MonotonicInstant.now
                var results: [Result<Void, any Error>] = []
                results.reserveCapacity(works.count)
                for work in works {
                    results.append(Result { try observers.run(work) { try handler.handle(work.message, context: context(work)) } })
                }
                measure((MonotonicInstant.now.nanoseconds - start.nanoseconds) / Int64(works.count))
                return results
            }
            future.whenComplete { outcome in
                switch outcome {
                case .success(let results): completion(works, results)
                // The executor refused or cancelled the chunk (shutdown): none of it ran.
                case .failure(let error): completion(works, Array(repeating: .failure(error), count: works.count))
                }
            }
        case .process(let pool):
            for work in works {
                let startedAt = observers.metrics.isEnabled ? MonotonicInstant.now : nil
                let span = observers.tracing.startSpan(work.message, attempt: work.attempt)
                let future = pool.submit(
                    job: ProcessIsolation.job, payload: WireMessage.encode(work.message, attempt: work.attempt),
                    timeout: timeout)
                future.whenComplete { outcome in
                    if let startedAt {
                        observers.metrics.recordHandlerDuration(topic: work.message.topic, nanoseconds: MonotonicInstant.now.nanoseconds - startedAt.nanoseconds)
                    }
                    let result = Self.result(of: outcome, attempt: work.attempt, timeout: timeout)
                    observers.tracing.end(span, result)
                    completion([work], [result])
                }
            }
        case .async(let handler, let registry):
            for work in works {
                guard timeout != nil else {
                    Task {
                        let result = await Result { try await observers.run(work) { try await handler.handle(work.message, context: context(work)) } }
                        completion([work], [result])
                    }
                    continue
                }
                let call = work.call
                started(work)
                let task = Task {
                    let result = await Result { try await observers.run(work) { try await handler.handle(work.message, context: context(work)) } }
                    registry.finish(call)
                    completion([work], [result])
                }
                registry.register(task, for: call)
            }
        }
    }

    /// Cancels the task of an asynchronous call whose deadline passed (its outcome is dropped).
    func cancel(_ call: InFlightWork.Call) {
        if case .async(_, let registry) = self { registry.cancel(call) }
    }

    /// Whether the handler runs in worker processes.
    var isIsolated: Bool {
        if case .process = self { return true }
        return false
    }

    /// How long each worker thread has been inside its current call (`nil`: idle), when known.
    var workerActivity: [Duration?]? {
        if case .sync(_, _, let activity?) = self { return activity() }
        return nil
    }

    /// Stops the worker threads or processes (after the engine has drained what it waits for).
    /// `immediately` does not wait for worker processes' running calls.
    func shutdown(immediately: Bool) {
        switch self {
        case .sync(_, let executor, _): executor.shutdown(wait: false, cancelPending: true)
        case .process(let pool): pool.shutdown(wait: !immediately, cancelPending: true)
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
