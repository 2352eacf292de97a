//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import DequeModule
internal import SluiceFutures

/// Bounded replay: what one slow message may cost.
///
/// A slow message (a retry waiting out its backoff, a long call, a dead-letter write in trouble)
/// holds its partition's commit point while later messages finish. Three decisions keep that
/// bounded:
/// - each commit carries the finished offsets above its commit point in its metadata
///   (``CommitMetadata``), and a new assignment skips them, so a crash replays the unfinished
///   messages, not the span;
/// - a partition whose span from commit point to last received offset reaches
///   ``Settings/maxUncommittedSpan``, or whose finished offsets outgrow the metadata budget, is
///   paused alone until its commit point moves, which bounds the tracker's memory and what a
///   crash replays;
/// - a partition whose oldest unfinished message has waited ``Settings/stuckWarning`` while later
///   ones are done is reported, naming the message.
extension ConsumerStateMachine {
    // MARK: Metadata

    /// The metadata of a commit of `tp` at `point`: its finished offsets above the point, those
    /// listed by the last assignment's commit and not polled again included; `nil` when commit
    /// metadata is off or nothing above the point is finished. `isTruncated` when the highest
    /// ones did not fit the budget (they would be handled again after a restart).
    func commitMetadata(of tp: TopicPartition, at point: Int64) -> (text: String?, isTruncated: Bool) {
        guard settings.commitMetadata else { return (nil, false) }
        var finished = tracker[tp]?.finishedAboveCommitPoint ?? FinishedOffsets(commitPoint: point)
        if let restored = restored[tp] {
            for range in restored.ranges where range.upperBound > finished.upperBound { finished.append(range) }
        }
        var isTruncated = false
        let text = CommitMetadata.encode(finished, maxBytes: settings.commitMetadataMaxBytes, isTruncated: &isTruncated)
        return (text, isTruncated)
    }

    /// A partition's finished offsets outgrew the metadata budget: it is paused at its current
    /// span until its commit point moves, like at ``Settings/maxUncommittedSpan``.
    mutating func pauseForMetadataBudget(_ tp: TopicPartition, into actions: inout EngineActions) {
        guard isActive(tp), spanPaused.insert(tp).inserted else { return }
        metadataSpanLimits[tp] = max(1, uncommittedSpan(of: tp))
        pauseAtBound(tp, into: &actions)
    }

    /// Pauses a partition that reached its bound (span or metadata budget).
    private mutating func pauseAtBound(_ tp: TopicPartition, into actions: inout EngineActions) {
        counters.spanPauses += 1
        actions.pause.append(tp)
        actions.logs.append(.spanPaused(tp, commitPoint: tracker.commitPoint(of: tp) ?? 0, span: uncommittedSpan(of: tp)))
    }

    /// The committed offsets of newly assigned partitions, read from the group: their metadata
    /// says which offsets above them finished before (in an earlier run, or with the partitions'
    /// previous owner), to be skipped when polled. Metadata that is not Sluice's, or is damaged,
    /// is ignored with a warning: nothing is skipped on doubt.
    mutating func committedRead(_ entries: [TopicPartitionOffset], now time: Int64) -> EngineActions {
        advance(to: time)
        var actions = EngineActions()
        for entry in entries {
            let tp = entry.topicPartition
            guard isActive(tp), let offset = entry.offset, let text = entry.metadata, !text.isEmpty else { continue }
            do {
                let finished = try CommitMetadata.decode(text, committedOffset: offset)
                guard !finished.isEmpty else { continue }
                restored[tp] = finished
                actions.logs.append(.restored(tp, committed: offset, finished: finished.count))
            } catch {
                actions.logs.append(.metadataIgnored(tp, committed: offset, reason: error.description))
            }
        }
        return actions
    }

    /// Whether a message just received was finished before this assignment: it is then marked
    /// done at once, never handled. Returns `true` if so.
    mutating func skipIfFinishedBefore(_ message: KafkaMessage, on tp: TopicPartition) -> Bool {
        guard let finished = restored[tp], finished.contains(message.offset) else { return false }
        tracker.markDone(message.offset, on: tp)
        if message.offset + 1 >= finished.upperBound { restored[tp] = nil }
        counters.finishedBeforeRestart += 1
        counters.count(message.topic) { $0.finishedBeforeRestart += 1 }
        return true
    }

    // MARK: Span bound

    /// The offsets from `tp`'s commit point to its last received one (0 when none is outstanding).
    func uncommittedSpan(of tp: TopicPartition) -> Int64 {
        guard let entry = tracker[tp], let lowest = entry.lowestOutstanding, let last = entry.lastReceived else { return 0 }
        return last - lowest + 1
    }

    /// Whether receiving `offset` on `tp` would take its span past the bound.
    func exceedsSpan(_ offset: Int64, on tp: TopicPartition) -> Bool {
        guard let entry = tracker[tp], offset > entry.lastReceived ?? .min else { return false }
        return entry.span(upTo: offset) > settings.maxUncommittedSpan
    }

    /// Keeps a message of a partition at its span bound aside, pausing the partition the first
    /// time (librdkafka then delivers nothing more of it until it is resumed).
    mutating func holdForSpan(_ entry: PolledMessage, on tp: TopicPartition, into actions: inout EngineActions) {
        spanHeld[tp, default: []].append(entry)
        // Being released, the partition is still paused at the source: no second pause.
        guard spanPaused.insert(tp).inserted, releasingSpan != tp else { return }
        pauseAtBound(tp, into: &actions)
    }

    /// Keeps a message of a route at its share of the window aside, pausing the route's
    /// partitions the first time (and a partition of it assigned since), so that the other routes
    /// keep flowing. The kept messages wait with those of span-paused partitions.
    mutating func holdForRoute(_ entry: PolledMessage, on tp: TopicPartition, route: Int, into actions: inout EngineActions) {
        spanHeld[tp, default: []].append(entry)
        var tps = [tp]
        if routesPaused.insert(route).inserted {
            tps = partitions.filter { $0.value.route == route && !$0.value.isRevoking }.keys.sorted()
            counters.routePauses += 1
            actions.logs.append(.routePaused(route: settings.routes[route].name, partitions: tps.count, inFlight: routeWindows[route]?.count ?? 0))
        }
        for held in tps where spanPaused.insert(held).inserted {
            routeHeld.insert(held)
            actions.pause.append(held)
        }
    }

    /// Admits the messages kept aside of span-paused partitions whose span fell to the resume
    /// mark (so a partition crawling behind one slow message does not pause and resume for each),
    /// and of routes whose share of the window drained to the resume mark, and resumes each
    /// partition once all of its kept messages are in.
    mutating func releaseSpanHeld(refused: inout Int, into actions: inout EngineActions) {
        guard !spanPaused.isEmpty else { return }
        for route in routesPaused.sorted() where routeWindows[route]?.isAtOrBelow(settings.resumeFraction) ?? true {
            routesPaused.remove(route)
        }
        for tp in spanPaused.sorted() where isActive(tp) {
            if !routesPaused.isEmpty, let route = partitions[tp]?.route, routesPaused.contains(route) { continue }
            let bound = metadataSpanLimits[tp] ?? settings.maxUncommittedSpan
            guard uncommittedSpan(of: tp) <= max(1, Int64(Double(bound) * settings.resumeFraction)) else { continue }
            spanPaused.remove(tp)
            releasingSpan = tp
            let queue = spanHeld.removeValue(forKey: tp) ?? []
            let taken = admit(queue, refused: &refused, into: &actions)
            releasingSpan = nil
            if taken < queue.count {
                // The window is full: the rest waits here, behind any kept again at the bound.
                spanHeld[tp, default: []].append(contentsOf: queue[(queue.startIndex + taken)...])
                spanPaused.insert(tp)
            }
            guard !spanPaused.contains(tp) else { continue }
            metadataSpanLimits[tp] = nil
            if routeHeld.remove(tp) == nil {
                actions.logs.append(.spanResumed(tp, commitPoint: tracker.commitPoint(of: tp) ?? 0))
            }
            // A partition paused with the others for a full window resumes with them.
            if !isPaused { actions.resume.append(tp) }
        }
    }

    /// Forgets the bounded-replay state of partitions that leave the assignment.
    mutating func forgetReplayState(of tps: Set<TopicPartition>) {
        for tp in tps {
            restored[tp] = nil
            spanHeld[tp] = nil
            spanPaused.remove(tp)
            routeHeld.remove(tp)
            metadataSpanLimits[tp] = nil
            stuckWarned[tp] = nil
            committedVersions[tp] = nil
        }
    }

    // MARK: Stuck messages

    /// Reports partitions whose oldest unfinished message has waited past the warning threshold
    /// while later offsets are done, once per threshold period and message.
    mutating func reportStuck(into actions: inout EngineActions) {
        guard now >= nextStuckCheckAt else { return }
        nextStuckCheckAt = now + settings.stuckCheckInterval
        for (tp, state) in partitions where !state.isRevoking {
            guard let entry = tracker[tp], let offset = entry.lowestOutstanding, let since = entry.oldestOutstandingSince,
                entry.entryCount > entry.outstandingCount, now - since >= settings.stuckWarning
            else {
                stuckWarned[tp] = nil
                continue
            }
            if let warned = stuckWarned[tp], warned.offset == offset, now < warned.again { continue }
            stuckWarned[tp] = (offset, now + settings.stuckWarning)
            let key = InFlightWork.Key(topicPartition: tp, offset: offset, epoch: state.epoch)
            let (attempt, what) = describe(key)
            actions.logs.append(.stuck(
                tp, offset: offset, attempt: attempt, state: what, age: .nanoseconds(now - since),
                finishedAbove: entry.entryCount - entry.outstandingCount))
        }
    }

    /// Which attempt of a message is due or running, and what it waits for.
    private func describe(_ key: InFlightWork.Key) -> (attempt: Int, state: String) {
        if let work = retries[key] { return (work.attempt, "waiting to be retried") }
        if let state = deadLetters[key] {
            return (state.work.attempt, state.isWriting ? "being written to the dead-letter topic" : "waiting to retry its dead-letter write")
        }
        return (attempts[key] ?? 1, "running or waiting for its key or a worker")
    }
}
