//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

extension ConsumerStateMachine {
    /// How a revocation proceeds, once its queued work is dropped.
    struct RevocationPlan: Equatable, Sendable {
        /// Wait for the partitions' running handlers until then (`nil`: do not wait).
        var drainDeadline: Int64?
        /// Commit the partitions' commit points synchronously, until then (`nil`: do not commit,
        /// the partitions are lost).
        var commitDeadline: Int64?
    }

    /// The route serving `topic`: the first whose names or patterns match it (the only one
    /// without routes).
    func routeIndex(of topic: String) -> Int {
        settings.routePatterns.firstIndex { $0.contains { $0.matches(topic) } } ?? 0
    }

    /// `tp`'s number in lanes: the one it was given when first assigned, or the next.
    mutating func lanePartition(of tp: TopicPartition) -> LanePartition {
        if let known = lanePartitions[tp] { return known }
        let new = LanePartition(number: UInt32(lanePartitions.count))
        lanePartitions[tp] = new
        return new
    }

    /// The group assigned these partitions (the whole assignment when eager, the added ones when
    /// incremental). Each gets a new epoch; held messages of an earlier assignment are dropped, so
    /// the partition starts from what the source fetches now (the committed offset).
    mutating func assigned(_ tps: [TopicPartition], now time: Int64) -> EngineActions {
        advance(to: time)
        for tp in tps {
            partitions[tp] = PartitionState(epoch: nextEpoch, route: routeIndex(of: tp.topic), lanePartition: lanePartition(of: tp))
            nextEpoch += 1
        }
        dropHeld(of: Set(tps))
        // What this assignment may skip is read from the group next (``committedRead``).
        for tp in tps { restored[tp] = nil }
        counters.rebalances += 1
        counters.rebalanceEvents["assigned", default: 0] += 1
        hasAssignment = true
        commitsHeldUntil = nil
        if case .paused(let pending) = flow {
            // Paused on the next tick, once librdkafka applied the assignment.
            flow = .paused(pending: pending.union(tps))
        }
        return EngineActions()
    }

    /// The group takes these partitions back (or they are lost). From now on their polled
    /// messages are dropped; their held and queued work is dropped now, while running handlers
    /// may finish (and be committed) until the drain deadline.
    mutating func revocationBegan(_ tps: Set<TopicPartition>, lost: Bool, now time: Int64) -> RevocationPlan {
        advance(to: time)
        for tp in tps where partitions[tp] != nil {
            partitions[tp]!.isRevoking = true
        }
        dropHeld(of: tps)
        dropQueued(of: tps)
        if lost { return RevocationPlan(drainDeadline: nil, commitDeadline: nil) }
        // Never past what a stop in progress leaves (``commitCutoff``). Closing, the shutdown has
        // drained already; stopping at once, nothing is waited for.
        let deadline = min(now + settings.drainTimeout, commitCutoff)
        let isClosing = if case .closing = lifecycle { true } else { false }
        return RevocationPlan(drainDeadline: isClosing || lifecycle.isImmediate ? nil : deadline, commitDeadline: deadline)
    }

    /// The revocation is over: the partitions are forgotten (later completions of their work are
    /// ignored), and, when paused (for a full window or at their span bound), resumed (librdkafka
    /// 2.0.2 keeps a partition's pause flag across unassign and assign, so a later assignment of
    /// it would never fetch).
    mutating func revocationEnded(_ tps: Set<TopicPartition>, lost: Bool, now time: Int64) -> EngineActions {
        advance(to: time)
        var actions = EngineActions()
        tracker.remove(tps)
        let spanPausedRevoked = spanPaused.intersection(tps)
        forgetReplayState(of: tps)
        for tp in tps {
            partitions[tp] = nil
            committed[tp] = nil
        }
        counters.rebalances += 1
        counters.rebalanceEvents[lost ? "lost" : "revoked", default: 0] += 1
        // Cooperative rebalancing takes back some partitions and keeps the others.
        hasAssignment = !partitions.isEmpty
        if case .paused(let pending) = flow {
            flow = .paused(pending: pending.subtracting(tps))
            actions.resume = tps.sorted()
        } else if !spanPausedRevoked.isEmpty {
            actions.resume = spanPausedRevoked.sorted()
        }
        actions.wakePoller = shouldWakePoller()
        return actions
    }
}
