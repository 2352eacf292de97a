//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Runs `body` with `executor` and shuts the executor down when the scope ends:
/// Python's `with ThreadPoolExecutor() as ex:`.
///
/// Shutdown waits for queued and running work to finish (`shutdown(wait: true, cancelPending: false)`),
/// also when `body` throws, so no work outlives the scope.
///
/// ```swift
/// let sizes = try withExecutor(ThreadPoolExecutor(workers: 4)) { pool in
///     let futures = files.map { file in pool.submit { try fileSize(file) } }
///     return try futures.map { try $0.result(timeout: .seconds(30)) }
/// }
/// ```
///
/// - Parameters:
///   - executor: the executor to use and then shut down.
///   - body: the code that uses it.
/// - Returns: what `body` returns.
/// - Throws: what `body` throws.
public func withExecutor<E: Executor, R, Failure: Error>(
    _ executor: E,
    _ body: (E) throws(Failure) -> R
) throws(Failure) -> R {
    defer { executor.shutdown(wait: true, cancelPending: false) }
    return try body(executor)
}

/// Runs async `body` with `executor` and shuts the executor down when the scope ends, suspending (not
/// blocking) while the work drains.
///
/// ```swift
/// let total = try await withExecutor(ThreadPoolExecutor(workers: 2)) { pool in
///     try await pool.run { heavySum(numbers) }
/// }
/// ```
///
/// - Parameters:
///   - executor: the executor to use and then shut down.
///   - isolation: the caller's isolation, inherited by `body`.
///   - body: the code that uses it.
/// - Returns: what `body` returns.
/// - Throws: what `body` throws.
public func withExecutor<E: Executor, R>(
    _ executor: E,
    isolation: isolated (any Actor)? = #isolation,
    _ body: (E) async throws -> R
) async rethrows -> R {
    let result: R
    do {
        result = try await body(executor)
    } catch {
        await executor.awaitShutdown(cancelPending: false)
        throw error
    }
    await executor.awaitShutdown(cancelPending: false)
    return result
}

/// Creates a ``ThreadPoolExecutor``, runs `body` with it, and shuts it down when the scope ends.
///
/// ```swift
/// let squares = try withThreadPoolExecutor(workers: 2) { pool in
///     try pool.map(1...100) { $0 * $0 }.collect(timeout: .seconds(10))
/// }
/// ```
///
/// - Parameters:
///   - workers: the number of worker threads.
///   - name: the thread-name prefix.
///   - body: the code that uses the pool.
/// - Returns: what `body` returns.
/// - Throws: what `body` throws.
public func withThreadPoolExecutor<R, Failure: Error>(
    workers: Int,
    name: String = "sluice-worker",
    _ body: (ThreadPoolExecutor) throws(Failure) -> R
) throws(Failure) -> R {
    try withExecutor(ThreadPoolExecutor(workers: workers, name: name), body)
}

/// Creates a ``ThreadPoolExecutor``, runs async `body` with it, and shuts it down when the scope ends.
///
/// ```swift
/// try await withThreadPoolExecutor(workers: 2) { pool in
///     try await withTaskExecutorPreference(pool) { try await crunchAll() }
/// }
/// ```
///
/// - Parameters:
///   - workers: the number of worker threads.
///   - name: the thread-name prefix.
///   - isolation: the caller's isolation, inherited by `body`.
///   - body: the code that uses the pool.
/// - Returns: what `body` returns.
/// - Throws: what `body` throws.
public func withThreadPoolExecutor<R>(
    workers: Int,
    name: String = "sluice-worker",
    isolation: isolated (any Actor)? = #isolation,
    _ body: (ThreadPoolExecutor) async throws -> R
) async rethrows -> R {
    try await withExecutor(ThreadPoolExecutor(workers: workers, name: name), isolation: isolation, body)
}
