//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import _SluiceTime
/// A one-shot event an OS thread can block on: set once, waited on with an optional deadline.
///
/// ```swift
/// let event = BlockingEvent()
/// future.whenComplete { _ in event.set() }
/// let fired = event.wait(until: .after(.seconds(1)))
/// ```
// @unchecked Sendable: `isSet` is only read and written with `lock` held.
final class BlockingEvent: @unchecked Sendable {
    private let lock = ConditionLock()
    private var isSet = false

    init() {}

    /// Sets the event and wakes every waiter. Setting it again has no effect.
    func set() {
        self.lock.lock()
        self.isSet = true
        self.lock.unlock()
        self.lock.broadcast()
    }

    /// Blocks until the event is set or `deadline` passes (`nil`: no deadline).
    ///
    /// - Returns: whether the event was set.
    func wait(until deadline: MonotonicInstant?) -> Bool {
        self.lock.lock()
        defer { self.lock.unlock() }
        while !self.isSet {
            if !self.lock.wait(until: deadline) {
                return self.isSet
            }
        }
        return true
    }
}
