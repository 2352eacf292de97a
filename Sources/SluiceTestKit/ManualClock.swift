//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import Sluice
internal import SluiceFutures
internal import Synchronization
internal import _SluiceTime

/// A clock that moves only when told to: what makes a ``TestConsumer`` run deterministic and
/// instant. Retry backoffs, handler deadlines, pause thresholds, commit intervals and drain
/// timeouts all read it, so a test of a 30-second timeout takes microseconds.
///
/// A ``TestConsumer`` advances it itself whenever the consumer would wait (an empty poll, a wait
/// for a deadline); a handler can advance it to say how long its call took:
///
/// ```swift
/// let clock = ManualClock()
/// let handler = ClosureMessageHandler { _, _ in clock.advance(by: .milliseconds(300)) }
/// ```
///
/// It is a Swift `Clock`, so code under test that sleeps on it is resumed when it is advanced.
///
/// Hand-written rather than swift-clocks' `TestClock`: the engine advances the clock from its poll
/// thread, synchronously, whenever it would wait, and `TestClock.advance(by:)` is `async`.
public final class ManualClock: Clock, Sendable {
    /// A point on a ``ManualClock``: the time since the clock was created.
    public struct Instant: InstantProtocol, Sendable {
        /// The time since the clock was created.
        public var offset: Duration

        /// The point `offset` after the clock was created.
        public init(offset: Duration) {
            self.offset = offset
        }

        /// The point `duration` later.
        public func advanced(by duration: Duration) -> Instant {
            Instant(offset: offset + duration)
        }

        /// The time from this point to `other`.
        public func duration(to other: Instant) -> Duration {
            other.offset - offset
        }

        /// Whether this point is earlier.
        public static func < (lhs: Instant, rhs: Instant) -> Bool {
            lhs.offset < rhs.offset
        }
    }

    private struct Sleeper {
        let deadline: Instant
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now = Instant(offset: .zero)
        var sleepers: [UInt64: Sleeper] = [:]
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    /// A clock at offset zero.
    public init() {}

    /// The current point.
    public var now: Instant {
        state.withLock { $0.now }
    }

    /// The smallest step the clock takes: a nanosecond.
    public var minimumResolution: Duration {
        .nanoseconds(1)
    }

    /// Moves the clock forward by `duration` (a negative one does nothing), resuming the sleepers
    /// whose deadline it reaches.
    public func advance(by duration: Duration) {
        advance(to: now.advanced(by: duration))
    }

    /// Moves the clock forward to `instant` (never back), resuming the sleepers whose deadline it
    /// reaches.
    public func advance(to instant: Instant) {
        let due = state.withLock { state -> [Sleeper] in
            guard instant > state.now else { return [] }
            state.now = instant
            let due = state.sleepers.filter { $0.value.deadline <= instant }
            for id in due.keys { state.sleepers[id] = nil }
            return Array(due.values)
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    /// Suspends until the clock is advanced to `deadline`, or throws `CancellationError` when the
    /// task is cancelled first.
    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow = state.withLock { state -> Bool in
                    if deadline <= state.now { return true }
                    state.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let sleeper = state.withLock { $0.sleepers.removeValue(forKey: id) }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }
}

/// The engine's view of a ``ManualClock``.
struct ManualEngineClock: EngineClock {
    let clock: ManualClock

    func now() -> Int64 {
        clock.now.offset.nanoseconds
    }

    /// Nothing else moves while the engine waits in a test: the clock jumps to the deadline.
    func wait(_ lock: ConditionLock, until deadline: Int64) -> Bool {
        clock.advance(to: ManualClock.Instant(offset: .nanoseconds(deadline)))
        return false
    }
}
