//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Something the engine must do at a time: run a retry, write a dead letter again, or fail a
/// handler call that overran its deadline. Kept in a heap by due time; a timer whose work is gone
/// (dropped on revocation, finished in time) is skipped when it comes due.
struct EngineTimer: Comparable, Sendable {
    enum Kind: Sendable {
        /// The retry of this message is due.
        case retry(InFlightWork.Key)
        /// The next write of this message to its dead-letter topic is due.
        case deadLetter(InFlightWork.Key)
        /// This handler call's deadline has passed.
        case deadline(InFlightWork.Call)
        /// A forming batch has waited its longest: it goes as it is (if it is still this one).
        case batch(ConsumerStateMachine.BatchGroup, generation: UInt64)
    }

    /// When it is due (engine clock, nanoseconds).
    let due: Int64
    /// Breaks ties in the order timers were set.
    let sequence: UInt64
    let kind: Kind

    static func < (lhs: EngineTimer, rhs: EngineTimer) -> Bool {
        (lhs.due, lhs.sequence) < (rhs.due, rhs.sequence)
    }

    static func == (lhs: EngineTimer, rhs: EngineTimer) -> Bool {
        lhs.due == rhs.due && lhs.sequence == rhs.sequence
    }
}
