//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// An error raised by the future toolkit itself rather than by the submitted work.
///
/// Compare with `==` or match it in a `catch` clause:
///
/// ```swift
/// do {
///     let value = try future.result(timeout: .seconds(1))
/// } catch FutureError.timedOut {
///     print("still running")      // the future itself is unaffected; try again later or cancel it
/// } catch FutureError.cancelled {
///     print("cancelled before it started")
/// }
/// ```
///
/// The set of codes can grow, so `FutureError` is a struct rather than an enum: `switch` over it needs a
/// `default` branch.
public struct FutureError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure.
    ///
    /// ```swift
    /// if error.code == .timedOut { … }
    /// ```
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case cancelled
            case timedOut
            case executorShutdown
            case brokenPromise
        }

        private let value: Value

        /// The future was cancelled before its work started.
        ///
        /// ```swift
        /// if future.cancel() { assert(future.error as? FutureError == .cancelled) }
        /// ```
        public static let cancelled = Code(value: .cancelled)

        /// A timed wait ended before the future completed. The future itself is unaffected.
        ///
        /// ```swift
        /// _ = try? future.result(timeout: .milliseconds(10))   // throws .timedOut while the work runs
        /// ```
        public static let timedOut = Code(value: .timedOut)

        /// The work was submitted after the executor was shut down, so it never ran.
        ///
        /// ```swift
        /// pool.shutdown()
        /// let late = pool.submit { 1 }      // late.error == FutureError.executorShutdown
        /// ```
        public static let executorShutdown = Code(value: .executorShutdown)

        /// The ``Promise`` was released without being completed, so nothing can complete its future.
        ///
        /// ```swift
        /// var promise: Promise<Int>? = Promise()
        /// let future = promise!.future
        /// promise = nil                     // future.error == FutureError.brokenPromise
        /// ```
        public static let brokenPromise = Code(value: .brokenPromise)

        /// A short, stable name for the code, such as `"timedOut"`.
        ///
        /// ```swift
        /// metrics.increment("futures.errors", tags: ["code": "\(error.code)"])
        /// ```
        public var description: String {
            switch self.value {
            case .cancelled: "cancelled"
            case .timedOut: "timedOut"
            case .executorShutdown: "executorShutdown"
            case .brokenPromise: "brokenPromise"
            }
        }

        fileprivate var message: String {
            switch self.value {
            case .cancelled:
                "The future was cancelled before its work started."
            case .timedOut:
                "Timed out waiting for the future to complete; the work itself was not cancelled."
            case .executorShutdown:
                "The executor was shut down before this work could run; submit work before calling shutdown."
            case .brokenPromise:
                "The promise was released without being completed, so its future can never complete."
            }
        }
    }

    /// What went wrong.
    ///
    /// ```swift
    /// catch let error as FutureError where error.code == .executorShutdown { … }
    /// ```
    public let code: Code

    /// Creates an error with the given code. The static members (``cancelled`` and so on) are usually shorter.
    ///
    /// ```swift
    /// promise.fail(FutureError(code: .cancelled))
    /// ```
    public init(code: Code) {
        self.code = code
    }

    /// The future was cancelled before its work started. See ``Code/cancelled``.
    ///
    /// ```swift
    /// catch FutureError.cancelled { … }
    /// ```
    public static let cancelled = FutureError(code: .cancelled)

    /// A timed wait ended before the future completed. See ``Code/timedOut``.
    ///
    /// ```swift
    /// catch FutureError.timedOut { … }
    /// ```
    public static let timedOut = FutureError(code: .timedOut)

    /// The executor was shut down before the work could run. See ``Code/executorShutdown``.
    ///
    /// ```swift
    /// catch FutureError.executorShutdown { … }
    /// ```
    public static let executorShutdown = FutureError(code: .executorShutdown)

    /// The promise was released without completing its future. See ``Code/brokenPromise``.
    ///
    /// ```swift
    /// catch FutureError.brokenPromise { … }
    /// ```
    public static let brokenPromise = FutureError(code: .brokenPromise)

    /// A sentence naming the problem, e.g. "Timed out waiting for the future to complete; …".
    ///
    /// ```swift
    /// logger.warning("\(FutureError.timedOut)")
    /// ```
    public var description: String {
        "FutureError.\(self.code): \(self.code.message)"
    }

    /// Lets `catch FutureError.timedOut` match any thrown error that is this `FutureError`.
    ///
    /// ```swift
    /// do { try future.result(timeout: .zero) } catch FutureError.timedOut { … }
    /// ```
    public static func ~= (pattern: FutureError, error: any Error) -> Bool {
        (error as? FutureError) == pattern
    }
}
