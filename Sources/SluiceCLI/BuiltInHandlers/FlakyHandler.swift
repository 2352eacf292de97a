//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

public import Sluice

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// Fails on purpose, to show and test the failure policy.
///
/// - `fail-every=N` fails the N-th, 2N-th, … message on every attempt: those whose id (the
///   `sluice-id` header `sluice produce` writes, or the offset where there is none) is N−1, 2N−1, ….
/// - `transient=K` fails the first K attempts of every message, which then succeeds if it has
///   more attempts (`--max-attempts`).
/// - `trap-every=N` traps (`fatalError`) on the same choice of messages: it takes the whole
///   process down, unless it runs in a worker process (`--isolation process`).
/// - `hang-every=N` never returns on them: only a handler timeout in a worker process
///   (`--isolation process --handler-timeout …`) gets past it.
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
    /// Traps on every message whose id is N−1 modulo N; 0 on none.
    public var trapEvery: Int
    /// Hangs on every message whose id is N−1 modulo N; 0 on none.
    public var hangEvery: Int

    /// The error the handler throws, naming the message and the reason.
    public struct Failure: Error, CustomStringConvertible {
        /// Why the attempt failed.
        public var description: String
    }

    /// Creates the handler.
    public init(failEvery: Int, transient: Int, trapEvery: Int = 0, hangEvery: Int = 0) {
        self.failEvery = failEvery
        self.transient = transient
        self.trapEvery = trapEvery
        self.hangEvery = hangEvery
    }

    /// Throws ``Failure`` when the message or the attempt is chosen to fail.
    public func handle(_ message: KafkaMessage, context: HandlerContext) throws {
        let id = Self.id(of: message)
        if Self.chosen(id, every: trapEvery) {
            fatalError("flaky: message \(id) traps (trap-every=\(trapEvery))")
        }
        if Self.chosen(id, every: hangEvery) {
            while true { sleep(3_600) }
        }
        if Self.chosen(id, every: failEvery) {
            throw Failure(description: "flaky: message \(id) fails on every attempt (fail-every=\(failEvery))")
        }
        if context.attempt <= transient {
            throw Failure(description: "flaky: attempt \(context.attempt) of message \(id) fails (transient=\(transient))")
        }
    }

    /// Whether `id` is one of every `n`: N−1, 2N−1, …
    static func chosen(_ id: Int64, every n: Int) -> Bool {
        n > 0 && id % Int64(n) == Int64(n) - 1
    }

    /// The `sluice-id` header, or the offset.
    static func id(of message: KafkaMessage) -> Int64 {
        message.headers.string(named: "sluice-id").flatMap { Int64($0) } ?? message.offset
    }
}
