//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

public import Logging

/// Starts a ``ProcessPoolExecutor``, runs `body` with it, and shuts it down when the scope ends, also when
/// `body` throws: Python's `with ProcessPoolExecutor() as pool:`.
///
/// Shutdown lets queued tasks finish and reaps every worker, so no process outlives the scope.
///
/// ```swift
/// let digests = try withProcessPoolExecutor(configuration: configuration) { pool in
///     let futures = files.map { pool.submit(job: "sha256", payload: $0) }
///     return try futures.map { try $0.result(timeout: .seconds(30)) }
/// }
/// ```
///
/// - Parameters:
///   - configuration: the pool's configuration.
///   - logger: the pool's logger.
///   - body: the code that uses the pool.
/// - Returns: what `body` returns.
/// - Throws: a ``ProcessPoolError`` if the pool cannot start, or what `body` throws.
public func withProcessPoolExecutor<R>(
    configuration: ProcessPoolConfiguration,
    logger: Logger = Logger(label: "sluice.process-pool"),
    _ body: (ProcessPoolExecutor) throws -> R
) throws -> R {
    let pool = try ProcessPoolExecutor(configuration: configuration, logger: logger)
    defer { pool.shutdown(wait: true, cancelPending: false) }
    return try body(pool)
}

/// Starts a ``ProcessPoolExecutor``, runs async `body` with it, and shuts it down when the scope ends,
/// suspending (not blocking) while the workers drain and exit.
///
/// ```swift
/// let score: Double = try await withProcessPoolExecutor(configuration: configuration) { pool in
///     try await pool.run(job: "score", input: order)
/// }
/// ```
///
/// - Parameters:
///   - configuration: the pool's configuration.
///   - logger: the pool's logger.
///   - isolation: the caller's isolation, inherited by `body`.
///   - body: the code that uses the pool.
/// - Returns: what `body` returns.
/// - Throws: a ``ProcessPoolError`` if the pool cannot start, or what `body` throws.
public func withProcessPoolExecutor<R>(
    configuration: ProcessPoolConfiguration,
    logger: Logger = Logger(label: "sluice.process-pool"),
    isolation: isolated (any Actor)? = #isolation,
    _ body: (ProcessPoolExecutor) async throws -> R
) async throws -> R {
    let pool = try ProcessPoolExecutor(configuration: configuration, logger: logger)
    let result: R
    do {
        result = try await body(pool)
    } catch {
        await pool.awaitShutdown(cancelPending: false)
        throw error
    }
    await pool.awaitShutdown(cancelPending: false)
    return result
}
