//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// When ``wait(_:timeout:returnWhen:)-3xtd5`` returns: Python's `FIRST_COMPLETED`, `FIRST_EXCEPTION` and
/// `ALL_COMPLETED`.
///
/// ```swift
/// let result = wait(futures, returnWhen: .firstCompleted)   // result.done holds at least one future
/// ```
public struct WaitCondition: Sendable, Hashable, CustomStringConvertible {
    private enum Value: Sendable, Hashable {
        case firstCompleted
        case firstException
        case allCompleted
    }

    private let value: Value

    /// Return as soon as any future is done (finished, failed or cancelled).
    ///
    /// ```swift
    /// let first = wait(replicas, returnWhen: .firstCompleted).done.first
    /// ```
    public static let firstCompleted = WaitCondition(value: .firstCompleted)

    /// Return as soon as any future fails with an error (cancellation does not count), or when all are
    /// done if none fails.
    ///
    /// ```swift
    /// let result = wait(shards, returnWhen: .firstException)
    /// if let failed = result.done.first(where: { $0.state == .failed }) { abort(failed.error!) }
    /// ```
    public static let firstException = WaitCondition(value: .firstException)

    /// Return when every future is done.
    ///
    /// ```swift
    /// _ = wait(futures, timeout: .seconds(10), returnWhen: .allCompleted)
    /// ```
    public static let allCompleted = WaitCondition(value: .allCompleted)

    /// Python's spelling: `"FIRST_COMPLETED"`, `"FIRST_EXCEPTION"` or `"ALL_COMPLETED"`.
    ///
    /// ```swift
    /// print(WaitCondition.firstException)    // FIRST_EXCEPTION
    /// ```
    public var description: String {
        switch self.value {
        case .firstCompleted: "FIRST_COMPLETED"
        case .firstException: "FIRST_EXCEPTION"
        case .allCompleted: "ALL_COMPLETED"
        }
    }

    /// Whether the wait can end once `future` (just done) has been seen.
    func isSatisfied(after future: some FutureStateReporting) -> Bool {
        switch self.value {
        case .firstCompleted: true
        case .firstException: future.state == .failed
        case .allCompleted: false
        }
    }
}

/// Anything with a ``FutureState``; lets ``WaitCondition`` stay non-generic.
protocol FutureStateReporting {
    var state: FutureState { get }
}

extension Future: FutureStateReporting {}
