//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import _SluiceTime
#if canImport(Glibc)
private import Glibc
#elseif canImport(Darwin)
private import Darwin
#endif

/// How often a failed message is tried again, and how long each retry waits.
///
/// The wait before attempt *n + 1* is `initialBackoff × multiplier^(n−1)`, capped at
/// `maxBackoff`, then spread by ±`jitter` so that messages failing together do not retry in
/// lockstep. A waiting retry occupies no worker: it keeps its place in the window and its offset
/// uncommitted, and later messages flow past it unless the ordering holds them (its key in `key`
/// mode, its partition in `partition` mode).
///
/// ```swift
/// config.retry = RetryPolicy(maxAttempts: 5, initialBackoff: .milliseconds(200), maxBackoff: .seconds(30))
/// ```
///
/// An error conforming to ``NonRetryableError`` (such as a ``PayloadDecodingError``) skips the
/// remaining attempts: trying the same bytes again cannot help.
public struct RetryPolicy: Hashable, Sendable, CustomStringConvertible {
    /// Attempts per message, the first included; 1 turns retries off. Default: 3.
    public var maxAttempts: Int
    /// The wait before the first retry. Default: 100 ms.
    public var initialBackoff: Duration
    /// Each further retry waits this many times longer. Default: 2.
    public var multiplier: Double
    /// The longest wait between two attempts. Default: 10 s.
    public var maxBackoff: Duration
    /// Each wait is spread uniformly over ±this share of itself. Default: 0.2.
    public var jitter: Double

    /// Creates a policy; every value not given takes its documented default.
    public init(
        maxAttempts: Int = 3,
        initialBackoff: Duration = .milliseconds(100),
        multiplier: Double = 2,
        maxBackoff: Duration = .seconds(10),
        jitter: Double = 0.2
    ) {
        self.maxAttempts = maxAttempts
        self.initialBackoff = initialBackoff
        self.multiplier = multiplier
        self.maxBackoff = maxBackoff
        self.jitter = jitter
    }

    /// One attempt, no retries.
    public static let none = RetryPolicy(maxAttempts: 1)

    /// The wait after failed attempt `attempt` (from 1), given `random` in `0..<1`.
    public func backoff(after attempt: Int, random: Double) -> Duration {
        let initial = initialBackoff.inSeconds
        let cap = maxBackoff.inSeconds
        let exponential = initial * pow(multiplier, Double(max(0, attempt - 1)))
        let base = min(cap, exponential.isFinite ? exponential : cap)
        let spread = base * (1 - jitter + 2 * jitter * min(max(random, 0), 1))
        return .nanoseconds(Int64(min(cap, max(0, spread)) * 1e9))
    }

    /// The wait after failed attempt `attempt`, with a fresh random jitter.
    func backoff(after attempt: Int) -> Duration {
        backoff(after: attempt, random: Double.random(in: 0..<1))
    }

    /// `3 attempts, backoff 100ms ×2 up to 10s ±20%`.
    public var description: String {
        guard maxAttempts > 1 else { return "1 attempt" }
        return "\(maxAttempts) attempts, backoff \(initialBackoff) ×\(multiplier) up to \(maxBackoff) ±\(Int(jitter * 100))%"
    }

    /// Checks every value.
    /// - Throws: ``SluiceError`` (``SluiceError/Code/configuration``) naming the value.
    func validate() throws {
        func require(_ condition: Bool, _ message: @autoclosure () -> String) throws {
            if !condition { throw SluiceError.configuration(message()) }
        }
        try require(maxAttempts >= 1, "max attempts must be at least 1, got \(maxAttempts)")
        try require(initialBackoff >= .zero, "the initial retry backoff must not be negative, got \(initialBackoff)")
        try require(maxBackoff >= initialBackoff, "the maximum retry backoff \(maxBackoff) is below the initial one \(initialBackoff)")
        try require(multiplier >= 1 && multiplier.isFinite, "the retry backoff multiplier must be at least 1, got \(multiplier)")
        try require(jitter >= 0 && jitter <= 1, "the retry jitter must be in 0...1, got \(jitter)")
    }

}
