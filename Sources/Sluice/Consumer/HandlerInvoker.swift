//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import SluiceFutures
internal import Synchronization

/// Runs a handler where it belongs: a synchronous one on the worker threads, an asynchronous one
/// under Swift concurrency. Either way each outcome reaches the completion callback exactly once.
enum HandlerInvoker: Sendable {
    case sync(any MessageHandler, ThreadPoolExecutor)
    case async(any AsyncMessageHandler)

    /// Runs the handler over `works`, in order, on one worker (sync) or one task per message
    /// (async), then reports all outcomes at once. `measure` receives the mean wall time per
    /// message of a synchronous chunk, in nanoseconds.
    ///
    /// With a `deadline` (one work at a time), a call that overruns it is reported as failed with
    /// ``HandlerTimeoutError`` when it expires: an async call is cancelled, a sync call keeps its
    /// thread until it returns, and its late outcome is dropped.
    func run(
        _ works: [InFlightWork],
        context: @escaping @Sendable (InFlightWork) -> HandlerContext,
        deadline: (timeout: Duration, watchdog: DeadlineWatchdog)?,
        observers: HandlerObservers,
        measure: @escaping @Sendable (Int) -> Void,
        completion: @escaping @Sendable ([InFlightWork], [Result<Void, any Error>]) -> Void
    ) {
        switch self {
        case .sync(let handler, let executor):
            let future = executor.submit { () -> [Result<Void, any Error>]? in
                if let deadline, let work = works.first {
                    let ticket = deadline.watchdog.arm(after: deadline.timeout) {
                        completion(works, [.failure(HandlerTimeoutError(timeout: deadline.timeout, attempt: work.attempt))])
                    }
                    let result = Result { try observers.run(work) { try handler.handle(work.message, context: context(work)) } }
                    // Reported by the watchdog already when it expired first.
                    return deadline.watchdog.disarm(ticket) ? [result] : nil
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
        case .async(let handler):
            for work in works {
                guard let deadline else {
                    Task {
                        let result = await Result { try await observers.run(work) { try await handler.handle(work.message, context: context(work)) } }
                        completion([work], [result])
                    }
                    continue
                }
                let task = TaskSlot()
                let ticket = deadline.watchdog.arm(after: deadline.timeout) {
                    task.cancel()
                    completion([work], [.failure(HandlerTimeoutError(timeout: deadline.timeout, attempt: work.attempt))])
                }
                task.start {
                    let result = await Result { try await observers.run(work) { try await handler.handle(work.message, context: context(work)) } }
                    if deadline.watchdog.disarm(ticket) { completion([work], [result]) }
                }
            }
        }
    }

    /// Stops the worker threads (after the engine has drained what it waits for).
    func shutdown() {
        if case .sync(_, let executor) = self {
            executor.shutdown(wait: false, cancelPending: true)
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
