//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// The result of a lane run's member that did not run because an earlier member of its run
/// failed: the machine puts it back on its lane, un-run, with no attempt spent.
struct LaneRunSkipped: Error, CustomStringConvertible {
    var description: String { "not run: an earlier message of its lane failed" }
}

extension ConsumerStateMachine {
    /// Starts `work` (its lane is free, it holds it now, and it is marked running) together with
    /// the work queued behind it on its lane, up to ``laneRunLimit``:
    /// a lane run, which one worker runs in offset order. With `key` and `partition` ordering and
    /// a backlog, a lane's next messages would otherwise start one at a time, each after the
    /// previous one's completion, and pay a task, a completion and a lock each.
    ///
    /// Only the run's last member holds the lane, so the lane's next work starts once the whole
    /// run is done; the others carry the lane as ``InFlightWork/runLane``.
    mutating func startWithFollowers(_ work: InFlightWork, into actions: inout EngineActions) {
        let limit = laneRunLimit
        guard limit > 1, settings.routes[work.route].runsLanes, let lane = work.lane, !work.alone,
            var run = scheduler.run(startingWith: work, lane: lane, upTo: limit - 1)
        else {
            actions.dispatch.append(work)
            return
        }
        markRunning(work, count: run.count - 1)  // a lane is of one partition: one look-up for all
        for index in run.indices {
            run[index].runLane = lane
            if index < run.count - 1 { run[index].lane = nil }
        }
        actions.laneRuns.append(run)
    }

    /// Sets ``laneRunLimit`` (at least 1).
    mutating func setLaneRunLimit(_ limit: Int) {
        laneRunLimit = max(1, limit)
    }

    /// Admission started the first work of each free lane (in `actions.dispatch`), then queued
    /// the rest of the lane behind it: start those with it, as lane runs.
    mutating func formLaneRuns(in actions: inout EngineActions) {
        guard scheduler.queuedCount > 0, !actions.dispatch.isEmpty else { return }
        let started = actions.dispatch
        actions.dispatch.removeAll(keepingCapacity: true)
        for work in started { startWithFollowers(work, into: &actions) }
    }

    /// Puts the members of lane runs that did not run (``LaneRunSkipped``) back at the front of
    /// their lanes, in order, ahead of anything queued since: their run's failed member holds the
    /// lane, and they follow it once it is settled. Work given up meanwhile (its partition revoked,
    /// the consumer stopping) is dropped instead, like queued work. Returns whether any result was
    /// such a member (the caller then skips them).
    ///
    /// `alone`: the call failed as a whole (its worker process crashed), so nobody knows whether a
    /// handed-back member crashed it: each then starts by itself, not in a run, so that a poison
    /// message crashes no run but its own call.
    mutating func handBackSkipped(_ works: [InFlightWork], results: [Result<Void, any Error>], alone: Bool = false) -> Bool {
        var skipped: [(lane: OrderingLane, works: [InFlightWork])] = []
        var found = false
        for (work, result) in zip(works, results) {
            guard case .failure(let error) = result, error is LaneRunSkipped, let lane = work.runLane else { continue }
            found = true
            endRun(work)
            if isGivenUp(work) {
                release(work)
                continue
            }
            var back = work
            back.lane = lane
            back.runLane = nil
            if alone { back.alone = true }
            if let last = skipped.indices.last, skipped[last].lane == lane {
                skipped[last].works.append(back)
            } else {
                skipped.append((lane, [back]))
            }
        }
        for (lane, works) in skipped { scheduler.requeueFront(works, lane: lane) }
        return found
    }
}
