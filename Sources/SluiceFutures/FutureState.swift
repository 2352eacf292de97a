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
    case pending
    /// The work is running; it can no longer be cancelled.
    case running
    /// Completed with a value.
    case finished
    /// Completed by throwing an error.
    case failed
    /// Cancelled before it started; waiting on it throws ``FutureError/cancelled``.
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
