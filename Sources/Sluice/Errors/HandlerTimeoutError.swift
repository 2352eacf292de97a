//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// A handler call that did not finish within ``SluiceConfiguration/handlerTimeout``.
///
/// The attempt counts as failed and follows the retry and failure policies. An asynchronous
/// handler is cancelled; a synchronous one cannot be interrupted, so its worker thread stays busy
/// until it returns, and what it returns then is ignored.
public struct HandlerTimeoutError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The deadline the handler overran.
    public var timeout: Duration
    /// The attempt that timed out, from 1.
    public var attempt: Int

    /// Creates the error.
    public init(timeout: Duration, attempt: Int) {
        self.timeout = timeout
        self.attempt = attempt
    }

    /// `the handler did not finish within 2.0 seconds (attempt 1)`.
    public var description: String { "the handler did not finish within \(timeout) (attempt \(attempt))" }
}
