//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Limits on dead-lettering, so that a broken deployment stops instead of draining a topic into
/// its dead-letter topic.
///
/// When dead-lettering a message would make more than ``maxConsecutive`` dead-lettered messages in
/// a row, or more than ``maxRatio`` of the last ``window`` finished messages, the consumer stops
/// as under ``FailurePolicy/stop``: that message is neither dead-lettered nor committed.
///
/// ```swift
/// config.deadLetterGuard = DeadLetterGuard(maxConsecutive: 20, maxRatio: 0.1, window: 500)
/// ```
public struct DeadLetterGuard: Hashable, Sendable, CustomStringConvertible {
    /// Most dead-lettered messages in a row (in completion order); 0 turns this limit off.
    /// Default: 100.
    public var maxConsecutive: Int
    /// Largest share of the last ``window`` finished messages that may be dead-lettered; 1 turns
    /// this limit off. Default: 0.5.
    public var maxRatio: Double
    /// How many recently finished messages ``maxRatio`` looks at. Default: 1,000.
    public var window: Int

    /// Creates a guard; every value not given takes its documented default.
    public init(maxConsecutive: Int = 100, maxRatio: Double = 0.5, window: Int = 1_000) {
        self.maxConsecutive = maxConsecutive
        self.maxRatio = maxRatio
        self.window = window
    }

    /// No limits.
    public static let off = DeadLetterGuard(maxConsecutive: 0, maxRatio: 1, window: 1)

    /// `at most 100 in a row and 50% of the last 1000`.
    public var description: String {
        let run = maxConsecutive > 0 ? "at most \(maxConsecutive) in a row" : "no limit in a row"
        let ratio = maxRatio < 1 ? "\(Int((maxRatio * 100).rounded()))% of the last \(window)" : "no share limit"
        return "\(run) and \(ratio)"
    }

    /// Checks every value.
    /// - Throws: ``SluiceError`` (``SluiceError/Code/configuration``) naming the value.
    func validate() throws {
        guard maxConsecutive >= 0 else {
            throw SluiceError.configuration("the dead-letter guard's run limit must not be negative, got \(maxConsecutive)")
        }
        guard maxRatio > 0, maxRatio <= 1 else {
            throw SluiceError.configuration("the dead-letter guard's ratio must be in (0, 1], got \(maxRatio)")
        }
        guard window >= 1 else {
            throw SluiceError.configuration("the dead-letter guard's window must be at least 1 message, got \(window)")
        }
    }
}
