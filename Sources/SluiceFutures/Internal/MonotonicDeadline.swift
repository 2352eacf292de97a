//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A point in time on `CLOCK_MONOTONIC`, the clock ``ConditionLock`` waits on.
///
/// ```swift
/// let deadline = MonotonicDeadline.after(.milliseconds(50))
/// while !done, lock.wait(until: deadline) {}
/// ```
struct MonotonicDeadline: Sendable, Hashable, Comparable {
    /// Nanoseconds since an unspecified start of `CLOCK_MONOTONIC`.
    var nanoseconds: UInt64

    static func < (lhs: Self, rhs: Self) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    /// The current time.
    static var now: MonotonicDeadline {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return MonotonicDeadline(nanoseconds: UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec))
    }

    /// The deadline `timeout` from now; a negative timeout means now. Saturates instead of overflowing.
    static func after(_ timeout: Duration) -> MonotonicDeadline {
        let now = Self.now
        let (seconds, attoseconds) = timeout.components
        guard seconds >= 0, !(seconds == 0 && attoseconds <= 0) else { return now }
        let nanos = UInt64(attoseconds / 1_000_000_000)
        let (secondsInNanos, overflow1) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        let (sum, overflow2) = now.nanoseconds.addingReportingOverflow(secondsInNanos)
        let (total, overflow3) = sum.addingReportingOverflow(nanos)
        if overflow1 || overflow2 || overflow3 { return MonotonicDeadline(nanoseconds: .max / 2) }
        return MonotonicDeadline(nanoseconds: total)
    }

    /// `nil` for no timeout, otherwise ``after(_:)``.
    static func after(_ timeout: Duration?) -> MonotonicDeadline? {
        timeout.map { Self.after($0) }
    }

    /// Nanoseconds left until the deadline, zero once it has passed.
    var remainingNanoseconds: UInt64 {
        let now = Self.now.nanoseconds
        return self.nanoseconds > now ? self.nanoseconds - now : 0
    }

    /// Whether the deadline has passed.
    var hasPassed: Bool { self.remainingNanoseconds == 0 }

    /// The deadline as an absolute `timespec` for `pthread_cond_timedwait`.
    var absoluteTime: timespec {
        timespec(tv_sec: Int(self.nanoseconds / 1_000_000_000), tv_nsec: Int(self.nanoseconds % 1_000_000_000))
    }
}
