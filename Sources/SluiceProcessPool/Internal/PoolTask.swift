//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// One submitted job: what to send, and how to report back to the future that waits for it.
struct PoolTask: Sendable {
    let id: UInt64
    let job: String
    let payload: [UInt8]
    /// Nanoseconds the job may run once its worker starts it; `nil` for no limit.
    let timeoutNanoseconds: UInt64?
    let timeout: Duration?
    /// Moves the future to running; `false` if it was cancelled while queued (then it is dropped).
    let start: @Sendable () -> Bool
    /// Whether ``start`` has succeeded: the task was sent to a worker that died before running it, and is
    /// queued again. Its future stays running.
    var isStarted = false
    /// Completes the future. Runs on the supervisor thread.
    let finish: @Sendable (Result<[UInt8], any Error>) -> Void
    /// Cancels the future while it is still queued (shutdown with `cancelPending`).
    let cancel: @Sendable () -> Void
}
