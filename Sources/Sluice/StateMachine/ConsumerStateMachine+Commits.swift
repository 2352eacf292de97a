//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

extension ConsumerStateMachine {
    /// What to do after a synchronous commit's answer.
    enum SyncCommitDecision: Equatable, Sendable {
        /// Done: acknowledged, or given up (counted as a failure).
        case done
        /// Try again (a retriable error, with time and tries left); poll meanwhile.
        case retry
    }

    /// Sends the periodic asynchronous commit of the commit points that moved, when it is due and
    /// the group is not rebalancing.
    mutating func commitIfDue(into actions: inout EngineActions) {
        guard now >= nextCommitAt else { return }
        nextCommitAt = now + settings.commitInterval
        if let until = commitsHeldUntil, now < until { return }
        let content = pendingCommits()
        guard !content.offsets.isEmpty else { return }
        let id = makeCommitID()
        var epochs: [TopicPartition: UInt64] = [:]
        for entry in content.offsets { epochs[entry.topicPartition] = partitions[entry.topicPartition]?.epoch }
        pendingAsyncCommits[id] = PendingCommit(content: content, epochs: epochs, sentAt: now)
        actions.commit = CommitRequest(id: id, content: content)
        for tp in content.overBudget { pauseForMetadataBudget(tp, into: &actions) }
    }

    /// An asynchronous commit was answered. Returns how long it took, or `nil` for an answer to no
    /// commit of this machine (each commit's answer finds its own bookkeeping, so synchronous
    /// commits never consume an asynchronous one's).
    mutating func asyncCommitAnswered(_ id: UInt64, error: KafkaError?, now time: Int64) -> Duration? {
        advance(to: time)
        guard let pending = pendingAsyncCommits.removeValue(forKey: id) else { return nil }
        if let error {
            counters.commitFailures += 1
            if error.isRebalanceRefusal { holdCommits() }
        } else {
            acknowledge(pending.content, epochs: pending.epochs)
        }
        return .nanoseconds(now - pending.sentAt)
    }

    /// A synchronous commit of the commit points of these partitions (all when `nil`) that moved,
    /// or `nil` when none did.
    mutating func syncCommit(of tps: Set<TopicPartition>?) -> CommitRequest? {
        let content = pendingCommits(of: tps)
        guard !content.offsets.isEmpty else { return nil }
        return CommitRequest(id: makeCommitID(), content: content)
    }

    /// A synchronous commit (try number `attempt`, from 1) was answered; `deadline` is when its
    /// phase (revocation, shutdown) must end.
    mutating func syncCommitAnswered(
        _ request: CommitRequest, error: KafkaError?, attempt: Int, deadline: Int64, now time: Int64
    ) -> SyncCommitDecision {
        advance(to: time)
        guard let error else {
            acknowledge(request.content, epochs: nil)
            return .done
        }
        if error.isRebalanceRefusal {
            // The generation is over: retrying cannot succeed. What is done is handled again by
            // the partitions' next owner.
            counters.commitFailures += 1
            holdCommits()
            return .done
        }
        if error.isRetriable, now < deadline, attempt < settings.maxSyncCommitAttempts {
            return .retry
        }
        counters.commitFailures += 1
        return .done
    }

    /// Records offsets the broker acknowledged, for partitions still in the assignment the commit
    /// was made for (`epochs`; `nil` for a synchronous commit, made in the current one).
    private mutating func acknowledge(_ content: CommitRequest.Content, epochs: [TopicPartition: UInt64]?) {
        for entry in content.offsets {
            let tp = entry.topicPartition
            guard let offset = entry.offset, let epoch = partitions[tp]?.epoch else { continue }
            if let epochs, epochs[tp] != epoch { continue }
            let highest = max(committed[tp] ?? offset, offset)
            committed[tp] = highest
            lastCommitted[tp] = highest
            if let version = content.versions[tp] {
                // Versions only grow within an epoch: an older answer must not make a newer
                // state look committed.
                committedVersions[tp] = max(committedVersions[tp] ?? version, version)
            }
        }
        counters.commits += 1
    }

    /// The group refused a commit because it rebalances: periodic commits wait for the next
    /// assignment. Committing again meanwhile only gets refused again, and librdkafka 2.0.2 takes a
    /// refused cooperative commit (`ILLEGAL_GENERATION`) for a lost assignment and rejoins, which
    /// starts another rebalance (librdkafka#4059).
    private mutating func holdCommits() {
        commitsHeldUntil = now + settings.commitHoldAfterRefusal
    }

    private mutating func makeCommitID() -> UInt64 {
        defer { nextCommitID += 1 }
        return nextCommitID
    }
}

extension KafkaError {
    /// The group refused a commit because it rebalances, or because this member's generation is
    /// over: committing again before the next assignment cannot succeed.
    var isRebalanceRefusal: Bool {
        rdKafkaName == "REBALANCE_IN_PROGRESS" || rdKafkaName == "ILLEGAL_GENERATION"
    }
}
