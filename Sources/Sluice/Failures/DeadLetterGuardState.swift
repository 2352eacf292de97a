//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import DequeModule

/// The recent outcomes a ``DeadLetterGuard`` judges: the current run of dead-lettered messages,
/// and which of the last `window` finished messages were dead-lettered.
struct DeadLetterGuardState: Sendable {
    let limits: DeadLetterGuard
    private var recent: Deque<Bool> = []
    private var recentDeadLettered = 0
    private(set) var consecutive = 0

    init(_ limits: DeadLetterGuard) {
        self.limits = limits
    }

    /// Why dead-lettering one more message would break a limit, or `nil` when it may go ahead.
    func refusal() -> String? {
        if limits.maxConsecutive > 0, consecutive + 1 > limits.maxConsecutive {
            return "\(consecutive + 1) messages in a row would be dead-lettered (limit \(limits.maxConsecutive))"
        }
        if limits.maxRatio < 1 {
            let dropsOldest = recent.count >= limits.window && recent.first == true
            let share = recentDeadLettered + 1 - (dropsOldest ? 1 : 0)
            let allowed = Int((limits.maxRatio * Double(limits.window)).rounded(.down))
            if share > allowed {
                return "\(share) of the last \(limits.window) messages would be dead-lettered (limit \(Int((limits.maxRatio * 100).rounded()))%)"
            }
        }
        return nil
    }

    /// Records a finished message: dead-lettered or not.
    mutating func record(deadLettered: Bool) {
        consecutive = deadLettered ? consecutive + 1 : 0
        recent.append(deadLettered)
        if deadLettered { recentDeadLettered += 1 }
        if recent.count > limits.window, recent.removeFirst() {
            recentDeadLettered -= 1
        }
    }
}
