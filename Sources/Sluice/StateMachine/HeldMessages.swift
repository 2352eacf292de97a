//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import DequeModule

/// Polled messages waiting for room in the window, in poll order, kept in runs of one partition
/// (librdkafka hands messages over in such runs, one fetch of a partition after the other).
///
/// Runs let a refill admit a later partition's messages ahead of an earlier partition's without
/// moving the messages in between (``ConsumerStateMachine/Settings/partitionShare``); within a
/// partition, messages always leave in order, since a run is only taken from the front and a
/// partition's later run only once its earlier ones are empty.
struct HeldMessages: Sendable {
    /// Consecutive messages of one partition.
    struct Run: Sendable {
        let tp: TopicPartition
        var messages: Deque<PolledMessage>
    }

    /// The runs, oldest first; none is empty.
    private(set) var runs: Deque<Run> = []
    /// The messages held, over all runs.
    private(set) var count = 0
    /// Their bytes (``PolledMessage/weight``).
    private(set) var weight = 0

    var isEmpty: Bool { count == 0 }

    /// The oldest message held.
    var first: PolledMessage? { runs.first?.messages.first }

    /// Adds a message behind the others.
    mutating func append(_ entry: PolledMessage) {
        count += 1
        weight += entry.weight
        // The partition is compared in place: a copy of its topic per message costs reference counts.
        if let last = runs.indices.last, entry.message.isFrom(runs[last].tp) {
            runs[last].messages.append(entry)
        } else {
            runs.append(Run(tp: entry.message.topicPartition, messages: [entry]))
        }
    }

    /// Moves run `index`'s messages out, for the caller to admit from the front; it gives them
    /// back with ``giveBack(_:toRun:taken:)``. Moved, so that removing the admitted ones does
    /// not copy the run's storage.
    mutating func lend(run index: Int) -> Deque<PolledMessage> {
        var messages: Deque<PolledMessage> = []
        swap(&messages, &runs[index].messages)
        return messages
    }

    /// Gives run `index` its messages back without the first `taken` (admitted); the run is
    /// removed when none is left.
    mutating func giveBack(_ messages: consuming Deque<PolledMessage>, toRun index: Int, taken: Int) {
        var messages = messages
        if taken > 0 {
            // By index: reading the weight in place, not copying each message out (a reference count).
            for index in 0..<taken { weight -= messages[index].weight }
            count -= taken
            messages.removeFirst(taken)
        }
        if messages.isEmpty {
            runs.remove(at: index)
        } else {
            runs[index].messages = messages
        }
    }

    /// Drops every message.
    mutating func removeAll() {
        runs.removeAll()
        count = 0
        weight = 0
    }

    /// Drops the messages of these partitions.
    mutating func removeAll(of tps: Set<TopicPartition>) {
        guard runs.contains(where: { tps.contains($0.tp) }) else { return }
        runs.removeAll { tps.contains($0.tp) }
        // Neighbours of a removed run may now be runs of one partition: merge them.
        var merged: Deque<Run> = []
        for run in runs {
            if let last = merged.indices.last, merged[last].tp == run.tp {
                merged[last].messages.append(contentsOf: run.messages)
            } else {
                merged.append(run)
            }
        }
        runs = merged
        count = runs.reduce(0) { $0 + $1.messages.count }
        weight = runs.reduce(0) { total, run in run.messages.reduce(total) { $0 + $1.weight } }
    }
}

extension HeldMessages: Sequence {
    /// The messages held, oldest first.
    func makeIterator() -> FlattenSequence<LazyMapSequence<Deque<Run>, Deque<PolledMessage>>>.Iterator {
        runs.lazy.map(\.messages).joined().makeIterator()
    }
}
