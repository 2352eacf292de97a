//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

public import Sluice

/// Fails on purpose, to show and test the failure policy.
///
/// - `fail-every=N` fails the N-th, 2N-th, … message on every attempt: those whose id (the
///   `sluice-id` header `sluice produce` writes, or the offset where there is none) is N−1, 2N−1, ….
/// - `transient=K` fails the first K attempts of every message, which then succeeds if it has
///   more attempts (`--max-attempts`).
///
/// ```sh
/// sluice run --handler flaky --handler-option fail-every=100 --handler-option transient=1 \
///     --max-attempts 3 --on-failure dead-letter …
/// ```
public struct FlakyHandler: MessageHandler {
    /// Fails every message whose id is N−1 modulo N; 0 fails none.
    public var failEvery: Int
    /// Fails the first this many attempts of every message.
    public var transient: Int

    /// The error the handler throws, naming the message and the reason.
    public struct Failure: Error, CustomStringConvertible {
        /// Why the attempt failed.
        public var description: String
    }

    /// Creates the handler.
    public init(failEvery: Int, transient: Int) {
        self.failEvery = failEvery
        self.transient = transient
    }

    /// Throws ``Failure`` when the message or the attempt is chosen to fail.
    public func handle(_ message: KafkaMessage, context: HandlerContext) throws {
        let id = Self.id(of: message)
        if failEvery > 0, id % Int64(failEvery) == Int64(failEvery) - 1 {
            throw Failure(description: "flaky: message \(id) fails on every attempt (fail-every=\(failEvery))")
        }
        if context.attempt <= transient {
            throw Failure(description: "flaky: attempt \(context.attempt) of message \(id) fails (transient=\(transient))")
        }
    }

    /// The `sluice-id` header, or the offset.
    static func id(of message: KafkaMessage) -> Int64 {
        message.headers.string(named: "sluice-id").flatMap { Int64($0) } ?? message.offset
    }
}
