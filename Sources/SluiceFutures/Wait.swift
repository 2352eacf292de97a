//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// The outcome of ``wait(_:timeout:returnWhen:)-3xtd5``: which futures were done when it returned
/// (Python's `DoneAndNotDoneFutures`).
///
/// ```swift
/// let result = wait(futures, timeout: .seconds(1))
/// print("\(result.done.count) done, \(result.notDone.count) still pending or running")
/// ```
public struct DoneAndNotDone<T: Sendable>: Sendable {
    /// The futures that were finished, failed or cancelled.
    ///
    /// ```swift
    /// let failures = result.done.filter { $0.state == .failed }
    /// ```
    public var done: Set<Future<T>>
    /// The futures that were still pending or running.
    ///
    /// ```swift
    /// result.notDone.forEach { $0.cancel() }
    /// ```
    public var notDone: Set<Future<T>>

    /// Creates a result; `wait` does this for you.
    ///
    /// ```swift
    /// let nothing = DoneAndNotDone<Int>(done: [], notDone: [])
    /// ```
    public init(done: Set<Future<T>>, notDone: Set<Future<T>>) {
        self.done = done
        self.notDone = notDone
    }

    init(partitioning futures: [Future<T>]) {
        var done = Set<Future<T>>()
        var notDone = Set<Future<T>>()
        for future in futures {
            if future.isDone {
                done.insert(future)
            } else {
                notDone.insert(future)
            }
        }
        self.init(done: done, notDone: notDone)
    }
}

/// Blocks until the condition holds or the timeout passes, and returns the done and not-done futures:
/// Python's `concurrent.futures.wait(fs, timeout, return_when)`.
///
/// A timeout is not an error: the futures still running are simply in ``DoneAndNotDone/notDone``.
///
/// ```swift
/// let futures = shards.map { shard in pool.submit { try index(shard) } }
/// let result = wait(futures, timeout: .seconds(60), returnWhen: .firstException)
/// if let failed = result.done.first(where: { $0.state == .failed }) {
///     result.notDone.forEach { $0.cancel() }
///     throw failed.error!
/// }
/// ```
///
/// - Parameters:
///   - futures: the futures to wait for (duplicates count once).
///   - timeout: the longest to wait; `nil` for no limit.
///   - returnWhen: ``WaitCondition/allCompleted`` (default), ``WaitCondition/firstCompleted`` or
///     ``WaitCondition/firstException``.
/// - Returns: the futures that were done and not done when the wait ended.
/// - Important: Blocks the calling thread; from async code the `async` overload is chosen.
public func wait<T: Sendable>(
    _ futures: some Sequence<Future<T>>,
    timeout: Duration? = nil,
    returnWhen: WaitCondition = .allCompleted
) -> DoneAndNotDone<T> {
    let sequence = asCompleted(futures, timeout: timeout)
    var iterator = sequence.makeBlockingIterator()
    while let future = try? iterator.next() {
        if returnWhen.isSatisfied(after: future) { break }
    }
    return DoneAndNotDone(partitioning: sequence.uniqueFutures)
}

/// Suspends until the condition holds or the timeout passes, and returns the done and not-done futures:
/// the async form of ``wait(_:timeout:returnWhen:)-3xtd5``.
///
/// ```swift
/// let result = try await wait(futures, timeout: .seconds(5), returnWhen: .firstCompleted)
/// ```
///
/// - Parameters:
///   - futures: the futures to wait for (duplicates count once).
///   - timeout: the longest to wait; `nil` for no limit.
///   - returnWhen: ``WaitCondition/allCompleted`` (default), ``WaitCondition/firstCompleted`` or
///     ``WaitCondition/firstException``.
/// - Returns: the futures that were done and not done when the wait ended.
/// - Throws: `CancellationError` if the task is cancelled while waiting.
public func wait<T: Sendable>(
    _ futures: some Sequence<Future<T>>,
    timeout: Duration? = nil,
    returnWhen: WaitCondition = .allCompleted
) async throws -> DoneAndNotDone<T> {
    let sequence = asCompleted(futures, timeout: timeout)
    do {
        for try await future in sequence where returnWhen.isSatisfied(after: future) {
            break
        }
    } catch FutureError.timedOut {
        // A timeout ends the wait; it is not an error.
    }
    return DoneAndNotDone(partitioning: sequence.uniqueFutures)
}
