//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#if canImport(Glibc)
package import Glibc
#elseif canImport(Musl)
package import Musl
#elseif canImport(Darwin)
package import Darwin
#endif

/// A reading of `CLOCK_MONOTONIC` in nanoseconds: the one monotonic time of the whole package, used
/// for "now", for deadlines, and for the intervals the engine measures.
///
/// An integer rather than `ContinuousClock.Instant`: the engine stamps every message with one, and
/// `Duration`'s 128-bit arithmetic would cost more than the reading itself (the vDSO serves it).
/// Wall-clock changes do not move it.
///
/// ```swift
/// let deadline = MonotonicInstant.after(.seconds(1))
/// while !done, lock.wait(until: deadline) {}
/// ```
package struct MonotonicInstant: Sendable, Hashable, Comparable {
    /// Nanoseconds since an unspecified start of `CLOCK_MONOTONIC`.
    package var nanoseconds: Int64

    /// The instant `nanoseconds` after the clock's start.
    package init(nanoseconds: Int64) {
        self.nanoseconds = nanoseconds
    }

    package static func < (lhs: Self, rhs: Self) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    /// The current time.
    package static var now: MonotonicInstant {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return MonotonicInstant(nanoseconds: Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec))
    }

    /// A deadline later than any the package sets (about 146 years from the clock's start).
    package static let distantFuture = MonotonicInstant(nanoseconds: .max / 2)

    /// The instant `duration` after this one; saturates at ``distantFuture`` instead of overflowing.
    package func advanced(by duration: Duration) -> MonotonicInstant {
        let (sum, overflow) = nanoseconds.addingReportingOverflow(duration.nanoseconds)
        if overflow || sum > Self.distantFuture.nanoseconds { return duration > .zero ? Self.distantFuture : self }
        return MonotonicInstant(nanoseconds: sum)
    }

    /// The time from this instant to `other` (negative when `other` is earlier).
    package func duration(to other: MonotonicInstant) -> Duration {
        .nanoseconds(other.nanoseconds - nanoseconds)
    }

    /// The deadline `timeout` from now; a negative timeout means now.
    package static func after(_ timeout: Duration) -> MonotonicInstant {
        now.advanced(by: max(timeout, .zero))
    }

    /// `nil` for no timeout, otherwise ``after(_:)``.
    package static func after(_ timeout: Duration?) -> MonotonicInstant? {
        timeout.map { Self.after($0) }
    }

    /// Nanoseconds left until this deadline, zero once it has passed.
    package var remainingNanoseconds: Int64 {
        max(0, nanoseconds - Self.now.nanoseconds)
    }

    /// Whether this deadline has passed.
    package var hasPassed: Bool { remainingNanoseconds == 0 }

    /// The instant as an absolute `timespec` for `pthread_cond_timedwait` on a `CLOCK_MONOTONIC` condition.
    package var absoluteTime: timespec {
        let clamped = max(0, nanoseconds)
        return timespec(tv_sec: Int(clamped / 1_000_000_000), tv_nsec: Int(clamped % 1_000_000_000))
    }
}
