//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

package import SluiceFutures
internal import _SluiceTime

/// The engine's time: what "now" is, and how its threads wait for a deadline.
///
/// In production it is `CLOCK_MONOTONIC` (``SystemEngineClock``). `SluiceTestKit`'s manual clock
/// makes a run deterministic: the engine runs on one thread there, and a wait for a deadline moves
/// the clock to it at once instead of sleeping.
package protocol EngineClock: Sendable {
    /// Now, in nanoseconds since the clock's start.
    func now() -> Int64

    /// Waits on `lock` (held by the caller) until it is signalled or `deadline` passes.
    /// - Returns: `false` when the deadline passed.
    func wait(_ lock: ConditionLock, until deadline: Int64) -> Bool
}

/// `CLOCK_MONOTONIC`, the production clock.
package struct SystemEngineClock: EngineClock {
    package init() {}

    package func now() -> Int64 {
        MonotonicInstant.now.nanoseconds
    }

    package func wait(_ lock: ConditionLock, until deadline: Int64) -> Bool {
        lock.wait(until: MonotonicInstant(nanoseconds: deadline))
    }
}
