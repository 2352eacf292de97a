//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// What happened to the messages of one topic, counted since the consumer started.
public struct TopicCounters: Hashable, Sendable {
    /// Messages admitted into the window.
    public var consumed = 0
    /// Messages whose handler succeeded.
    public var handled = 0
    /// Messages whose last attempt failed.
    public var failed = 0
    /// Retries scheduled.
    public var retried = 0
    /// Messages acknowledged by the dead-letter topic.
    public var deadLettered = 0
    /// Messages skipped by the skip policy.
    public var skipped = 0
    /// Attempts that overran the handler timeout.
    public var timedOut = 0
    /// Messages not handled because they finished before the restart (commit metadata).
    public var finishedBeforeRestart = 0

    /// All zero.
    public init() {}
}
