//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Whether a consumer is alive and ready, for liveness and readiness probes.
///
/// - **Live**: the consumer loop turned within the liveness TTL, and not every worker thread has
///   been inside one handler call for longer than the TTL. The loop turns at least every 100 ms
///   while it runs, waits for room in the window, or drains a revocation, so only a stuck loop (a
///   blocked librdkafka call, a deadlock) or handlers stuck on every worker (an endless loop, a
///   deadlock in the handler) fail this. A consumer that has stopped is not live.
/// - **Ready**: live, and the group gave this member its assignment (possibly empty, when there
///   are more members than partitions), and it is not stopping. It is not ready while it joins the
///   group or between a revocation and the next assignment.
public struct SluiceHealth: Hashable, Sendable, CustomStringConvertible {
    /// Where the consumer is in its life.
    public enum Phase: String, Hashable, Sendable {
        /// `run()` has not been called, or is connecting.
        case starting
        /// Waiting for the group to assign partitions.
        case joining
        /// Consuming its assignment.
        case consuming
        /// Draining and committing after a stop request or a failure.
        case stopping
        /// `run()` returned.
        case stopped
    }

    /// Where the consumer is.
    public var phase: Phase
    /// How long ago the consumer loop last turned; `nil` before it started.
    public var sinceLastTurn: Duration?
    /// The TTL ``isLive`` was judged against.
    public var livenessTTL: Duration
    /// Partitions assigned to this member.
    public var assignedPartitions: Int
    /// Worker threads inside one handler call for longer than the TTL, when that is every worker
    /// thread (0 otherwise): no message can make progress.
    public var stuckWorkers: Int = 0

    /// The loop turned within the TTL, the workers are not all stuck, and the consumer has not stopped.
    public var isLive: Bool {
        guard phase != .stopped, stuckWorkers == 0 else { return false }
        guard let sinceLastTurn else { return phase == .starting }
        return sinceLastTurn <= livenessTTL
    }

    /// Live, assigned, and not stopping.
    public var isReady: Bool { isLive && phase == .consuming }

    /// `consuming, 12 partitions, loop turned 0.004 seconds ago`.
    public var description: String {
        let turn = sinceLastTurn.map { "loop turned \($0) ago" } ?? "loop not started"
        let stuck = stuckWorkers > 0 ? ", all \(stuckWorkers) workers inside one call for over \(livenessTTL)" : ""
        return "\(phase.rawValue), \(assignedPartitions) partitions, \(turn)\(stuck)"
    }
}
