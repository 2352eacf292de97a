//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Where a ``Future`` is in its life: the states of Python's `concurrent.futures.Future`.
///
/// A future starts ``pending``, becomes ``running`` when a worker picks it up, and ends in exactly one of
/// ``finished``, ``failed`` or ``cancelled``. Only a pending future can be cancelled.
///
/// ```swift
/// let future = pool.submit { 6 * 7 }
/// _ = try future.result(timeout: .seconds(1))
/// assert(future.state == .finished)
/// ```
///
/// These five states are the whole model (a future is one-shot), so this is a closed enum.
public enum FutureState: Sendable, Hashable, CustomStringConvertible {
    /// Submitted (or created by a ``Promise``) and not started yet; ``Future/cancel()`` still succeeds.
    ///
    /// ```swift
    /// if future.state == .pending { future.cancel() }   // still possible
    /// ```
    case pending
    /// The work is running; it can no longer be cancelled.
    ///
    /// ```swift
    /// if future.state == .running { print("started, cannot cancel") }
    /// ```
    case running
    /// Completed with a value.
    ///
    /// ```swift
    /// if future.state == .finished { use(try future.result()) }
    /// ```
    case finished
    /// Completed by throwing an error.
    ///
    /// ```swift
    /// if future.state == .failed { log(future.error!) }
    /// ```
    case failed
    /// Cancelled before it started; waiting on it throws ``FutureError/cancelled``.
    ///
    /// ```swift
    /// if future.state == .cancelled { skipped += 1 }
    /// ```
    case cancelled

    /// Whether the future has reached a final state (``finished``, ``failed`` or ``cancelled``).
    ///
    /// ```swift
    /// if future.state.isDone { … }
    /// ```
    public var isDone: Bool {
        switch self {
        case .pending, .running: false
        case .finished, .failed, .cancelled: true
        }
    }

    /// The lowercase name of the state, e.g. `"running"`.
    ///
    /// ```swift
    /// print("future is \(future.state)")     // "future is running"
    /// ```
    public var description: String {
        switch self {
        case .pending: "pending"
        case .running: "running"
        case .finished: "finished"
        case .failed: "failed"
        case .cancelled: "cancelled"
        }
    }
}
