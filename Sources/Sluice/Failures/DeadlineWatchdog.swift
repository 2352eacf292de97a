//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import Foundation

/// Calls an action when a handler call overruns its deadline, on a thread of its own.
///
/// Each call arms a ticket before it starts and disarms it when it returns; whoever gets there
/// first (the call disarming, or the watchdog expiring) owns the outcome, so a handler's result
/// is reported exactly once. One thread serves every deadline: it sleeps until the earliest.
///
/// `@unchecked Sendable`: `armed` and `nextTicket` are only touched with `condition` locked.
final class DeadlineWatchdog: @unchecked Sendable {
    typealias Ticket = UInt64

    private struct Entry {
        let deadline: ContinuousClock.Instant
        let onExpiry: @Sendable () -> Void
    }

    private let condition = NSCondition()
    private var armed: [Ticket: Entry] = [:]
    private var nextTicket: Ticket = 1
    private var isRunning = true

    init() {
        let thread = Thread { [self] in serve() }
        thread.name = "sluice-deadlines"
        thread.start()
    }

    /// Arms a deadline `timeout` from now; `onExpiry` runs on the watchdog's thread if the ticket
    /// is not disarmed in time.
    func arm(after timeout: Duration, onExpiry: @escaping @Sendable () -> Void) -> Ticket {
        condition.lock()
        defer { condition.unlock() }
        let ticket = nextTicket
        nextTicket += 1
        armed[ticket] = Entry(deadline: .now.advanced(by: timeout), onExpiry: onExpiry)
        condition.signal()
        return ticket
    }

    /// Disarms a ticket. Returns `true` when that happened before it expired (the caller owns the
    /// outcome), `false` when the watchdog already reported it.
    func disarm(_ ticket: Ticket) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        return armed.removeValue(forKey: ticket) != nil
    }

    /// Stops the thread; armed tickets never expire.
    func shutdown() {
        condition.lock()
        isRunning = false
        armed.removeAll()
        condition.signal()
        condition.unlock()
    }

    private func serve() {
        condition.lock()
        while isRunning {
            let now = ContinuousClock.now
            let expired = armed.filter { $0.value.deadline <= now }
            if !expired.isEmpty {
                for ticket in expired.keys { armed[ticket] = nil }
                condition.unlock()
                for entry in expired.values { entry.onExpiry() }
                condition.lock()
                continue
            }
            if let earliest = armed.values.map(\.deadline).min() {
                let wait = now.duration(to: earliest)
                _ = condition.wait(until: Date(timeIntervalSinceNow: Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18))
            } else {
                condition.wait()
            }
        }
        condition.unlock()
    }
}
