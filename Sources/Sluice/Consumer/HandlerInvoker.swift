//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import SluiceFutures

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// Runs a handler where it belongs: a synchronous one on the worker threads, an asynchronous one
/// under Swift concurrency. Either way each outcome reaches the completion callback exactly once.
enum HandlerInvoker: Sendable {
    case sync(any MessageHandler, ThreadPoolExecutor)
    case async(any AsyncMessageHandler)

    /// Runs the handler over `works`, in order, on one worker (sync) or one task per message
    /// (async), then reports all outcomes at once. `measure` receives the mean wall time per
    /// message of a synchronous chunk, in nanoseconds.
    func run(
        _ works: [InFlightWork],
        context: @escaping @Sendable (InFlightWork) -> HandlerContext,
        measure: @escaping @Sendable (Int) -> Void,
        completion: @escaping @Sendable ([InFlightWork], [Result<Void, any Error>]) -> Void
    ) {
        switch self {
        case .sync(let handler, let executor):
            let future = executor.submit { () -> [Result<Void, any Error>] in
                let start = monotonicNanos()
                var results: [Result<Void, any Error>] = []
                results.reserveCapacity(works.count)
                for work in works {
                    results.append(Result { try handler.handle(work.message, context: context(work)) })
                }
                measure((monotonicNanos() - start) / works.count)
                return results
            }
            future.whenComplete { outcome in
                switch outcome {
                case .success(let results): completion(works, results)
                // The executor refused or cancelled the chunk (shutdown): none of it ran.
                case .failure(let error): completion(works, Array(repeating: .failure(error), count: works.count))
                }
            }
        case .async(let handler):
            for work in works {
                Task {
                    do {
                        try await handler.handle(work.message, context: context(work))
                        completion([work], [.success(())])
                    } catch {
                        completion([work], [.failure(error)])
                    }
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

/// CLOCK_MONOTONIC in nanoseconds (cheap: served by the vDSO).
private func monotonicNanos() -> Int {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return now.tv_sec * 1_000_000_000 + now.tv_nsec
}
