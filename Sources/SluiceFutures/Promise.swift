//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// The writing side of a ``Future``: completes it by hand.
///
/// Use a promise to bridge code that is not an ``Executor`` (a callback API, another thread you manage)
/// into futures. The first completion wins; later ones are ignored. A promise released without being
/// completed fails its future with ``FutureError/brokenPromise``, so nobody waits forever.
///
/// ```swift
/// let promise = Promise<Data>()
/// legacyClient.fetch(url) { data, error in
///     if let data { promise.succeed(data) } else { promise.fail(error ?? FetchError.unknown) }
/// }
/// let data = try await promise.future.value
/// ```
///
/// Its future can be cancelled while pending, like any other; call ``markRunning()`` first (Python's
/// `set_running_or_notify_cancel`) if your work should not start once cancelled.
public final class Promise<T: Sendable>: Sendable {
    /// The future this promise completes.
    ///
    /// ```swift
    /// let promise = Promise<Int>()
    /// hand(promise.future, to: consumer)
    /// ```
    public let future: Future<T>

    /// Creates a promise with a pending future.
    ///
    /// ```swift
    /// let promise = Promise<String>()
    /// ```
    public init() {
        self.future = Future(work: nil)
    }

    deinit {
        self.future.complete(.failure(FutureError.brokenPromise))
    }

    /// Completes the future with a value.
    ///
    /// ```swift
    /// promise.succeed(42)
    /// ```
    ///
    /// - Returns: `true` if this call completed the future, `false` if it was already done or cancelled.
    @discardableResult
    public func succeed(_ value: T) -> Bool {
        self.future.complete(.success(value))
    }

    /// Completes the future with an error.
    ///
    /// ```swift
    /// promise.fail(HandlerError.malformedPayload)
    /// ```
    ///
    /// - Returns: `true` if this call completed the future, `false` if it was already done or cancelled.
    @discardableResult
    public func fail(_ error: any Error) -> Bool {
        self.future.complete(.failure(error))
    }

    /// Completes the future with a `Result`.
    ///
    /// ```swift
    /// promise.complete(with: Result { try decode(bytes) })
    /// ```
    ///
    /// - Returns: `true` if this call completed the future, `false` if it was already done or cancelled.
    @discardableResult
    public func complete(with result: Result<T, any Error>) -> Bool {
        self.future.complete(result)
    }

    /// Moves the future from pending to running, unless it was cancelled
    /// (Python's `set_running_or_notify_cancel`).
    ///
    /// After this returns `true`, ``Future/cancel()`` fails, as for executor work that has started.
    ///
    /// ```swift
    /// guard promise.markRunning() else { return }   // cancelled while queued: skip the work
    /// promise.complete(with: Result { try work() })
    /// ```
    ///
    /// - Returns: `false` if the future was cancelled (or already running or done).
    public func markRunning() -> Bool {
        self.future.markRunning()
    }
}
