//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Counters of a ``ProcessPoolExecutor`` since it started: a snapshot for metrics, logs and tests.
///
/// ```swift
/// let stats = pool.statistics
/// gauge("pool.workers.crashed").record(stats.workersCrashed)
/// ```
public struct ProcessPoolStatistics: Sendable, Hashable {
    /// Worker processes started, replacements included.
    public var workersStarted = 0
    /// Workers killed by a signal they did not get from the pool (traps, segmentation faults, `kill`).
    public var workersCrashed = 0
    /// Workers that exited on their own when they should not have (a job called `exit`, or the executable
    /// does not serve in worker mode).
    public var workersExited = 0
    /// Workers the pool killed because a task ran past its deadline.
    public var workersTimedOut = 0
    /// Workers replaced after ``ProcessPoolConfiguration/maxTasksPerWorker`` tasks or above
    /// ``ProcessPoolConfiguration/maxMemoryBytes``.
    public var workersRecycled = 0
    /// Tasks whose job returned a result.
    public var tasksSucceeded = 0
    /// Tasks that failed: the job threw or was not found, or its worker crashed, exited or timed out.
    public var tasksFailed = 0

    /// All zero.
    ///
    /// ```swift
    /// #expect(pool.statistics != ProcessPoolStatistics())
    /// ```
    public init() {}
}
