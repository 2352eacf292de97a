//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

package import _SluiceTime
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A POSIX mutex with one condition variable, for the few places that must put an OS thread to sleep.
///
/// `Synchronization.Mutex` has no condition variable, so blocking waits (worker threads waiting for work,
/// `Future.result(timeout:)`, `InFlightLimiter.acquire(weight:timeout:)`) use this type instead. Timed
/// waits use `CLOCK_MONOTONIC` deadlines (see ``MonotonicInstant``), so wall-clock changes do not affect them.
///
/// ```swift
/// let lock = ConditionLock()
/// lock.lock()
/// while !ready { lock.wait() }
/// lock.unlock()
/// ```
// @unchecked Sendable: the pthread objects are heap-allocated once, never moved, and are themselves the
// synchronisation primitives; they are destroyed only in `deinit`.
package final class ConditionLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    package init() {
        self.mutex = .allocate(capacity: 1)
        self.mutex.initialize(to: pthread_mutex_t())
        self.condition = .allocate(capacity: 1)
        self.condition.initialize(to: pthread_cond_t())

        var error = pthread_mutex_init(self.mutex, nil)
        precondition(error == 0, "pthread_mutex_init failed: \(error)")

        var attributes = pthread_condattr_t()
        error = pthread_condattr_init(&attributes)
        precondition(error == 0, "pthread_condattr_init failed: \(error)")
        #if !canImport(Darwin)
        error = pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        precondition(error == 0, "pthread_condattr_setclock failed: \(error)")
        #endif
        error = pthread_cond_init(self.condition, &attributes)
        precondition(error == 0, "pthread_cond_init failed: \(error)")
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(self.condition)
        pthread_mutex_destroy(self.mutex)
        self.condition.deinitialize(count: 1)
        self.condition.deallocate()
        self.mutex.deinitialize(count: 1)
        self.mutex.deallocate()
    }

    package func lock() {
        let error = pthread_mutex_lock(self.mutex)
        precondition(error == 0, "pthread_mutex_lock failed: \(error)")
    }

    package func unlock() {
        let error = pthread_mutex_unlock(self.mutex)
        precondition(error == 0, "pthread_mutex_unlock failed: \(error)")
    }

    /// Runs `body` with the mutex held.
    package func withLock<Result>(_ body: () throws -> Result) rethrows -> Result {
        self.lock()
        defer { self.unlock() }
        return try body()
    }

    /// Atomically unlocks, sleeps until signalled (or spuriously woken) and locks again. Call with the lock held.
    package func wait() {
        let error = pthread_cond_wait(self.condition, self.mutex)
        precondition(error == 0, "pthread_cond_wait failed: \(error)")
    }

    /// Like ``wait()``, but gives up at `deadline`.
    ///
    /// - Returns: `false` if the deadline passed, `true` if woken (which may be spurious: re-check the predicate).
    package func wait(until deadline: MonotonicInstant) -> Bool {
        #if canImport(Darwin)
        let remaining = deadline.remainingNanoseconds
        if remaining == 0 { return false }
        var relative = timespec(tv_sec: Int(remaining / 1_000_000_000), tv_nsec: Int(remaining % 1_000_000_000))
        let error = pthread_cond_timedwait_relative_np(self.condition, self.mutex, &relative)
        #else
        var absolute = deadline.absoluteTime
        let error = pthread_cond_timedwait(self.condition, self.mutex, &absolute)
        #endif
        if error == ETIMEDOUT { return false }
        precondition(error == 0, "pthread_cond_timedwait failed: \(error)")
        return true
    }

    /// Waits with an optional deadline: forever when `deadline` is `nil`.
    package func wait(until deadline: MonotonicInstant?) -> Bool {
        guard let deadline else {
            self.wait()
            return true
        }
        return self.wait(until: deadline)
    }

    /// Wakes one waiting thread. May be called with or without the lock held.
    package func signal() {
        pthread_cond_signal(self.condition)
    }

    /// Wakes every waiting thread. May be called with or without the lock held.
    package func broadcast() {
        pthread_cond_broadcast(self.condition)
    }
}
