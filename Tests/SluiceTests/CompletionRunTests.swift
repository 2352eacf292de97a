//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Testing

@testable import Sluice

/// Admission and completion handle messages in runs of one partition, looking its state up once
/// per run and comparing each message's partition in place: a chunk whose partitions alternate,
/// with a failure in the middle, must leave every count, commit point and running call right.
@Suite struct CompletionRunTests {
    /// Longer than Swift's 15-byte small strings, so that names are shared heap storage.
    private static let topic = "orders-with-a-long-topic-name"

    @Test func aChunkOfAlternatingPartitionsWithAFailureSettlesEachPartition() throws {
        var harness = MachineHarness(topic: Self.topic) { $0.retry.maxAttempts = 2 }
        harness.assign(0, 1, 2)
        // Polled in runs of one partition, back and forth, as fetches arrive.
        let polled = harness.poll([
            harness.message(0, 0), harness.message(0, 1), harness.message(1, 0), harness.message(0, 2),
            harness.message(1, 1), harness.message(0, 3), harness.message(2, 5),
        ])
        #expect(polled.dispatch.count == 7)
        #expect(harness.machine.totalRunning == 7)
        #expect(harness.machine.counters.consumed == 7)
        #expect(harness.machine.counters.topics.byTopic[Self.topic]?.consumed == 7)

        // One chunk completes: p0@2 fails (and will be retried), the rest succeed.
        let works = polled.dispatch
        let results: [Result<Void, any Error>] = works.map { work in
            work.message.partition == 0 && work.message.offset == 2 ? .failure(TestFailure()) : .success(())
        }
        let actions = harness.machine.finished(works, results: results, now: harness.now)
        #expect(actions.dispatch.isEmpty, "the retry waits for its backoff")

        #expect(harness.machine.totalRunning == 0)
        #expect(harness.machine.running.isEmpty, "\(harness.machine.running)")
        #expect(!harness.machine.isRunning(any: [harness.tp(0), harness.tp(1), harness.tp(2)]))
        #expect(harness.commitPoint(0) == 2, "offset 2 waits for its retry; 3 is done behind it")
        #expect(harness.commitPoint(1) == 2)
        #expect(harness.commitPoint(2) == 6)
        #expect(harness.machine.counters.topics.byTopic[Self.topic]?.handled == 6)
        #expect(harness.machine.counters.topics.byTopic[Self.topic]?.retried == 1)
        #expect(harness.machine.counters.completed == 6)
    }

    /// A completion of a partition revoked and assigned again since (another epoch) must not
    /// touch the new assignment's offsets, also inside a run of the same partition.
    @Test func aRunMixingEpochsMarksOnlyTheCurrentOnesDone() throws {
        var harness = MachineHarness(topic: Self.topic)
        harness.assign(0)
        let old = harness.poll([harness.message(0, 0), harness.message(0, 1)]).dispatch
        _ = harness.machine.revocationBegan([harness.tp(0)], lost: true, now: harness.now)
        _ = harness.machine.revocationEnded([harness.tp(0)], lost: true, now: harness.now)
        harness.assign(0)
        let new = harness.poll([harness.message(0, 0), harness.message(0, 1)]).dispatch
        #expect(new.count == 2)
        // The old assignment's calls finish in the same chunk as the first of the new ones.
        _ = harness.succeed(old + [new[0]])
        #expect(harness.commitPoint(0) == 1, "only the new offset 0 is done; the old ones do not count")
        _ = harness.succeed([new[1]])
        #expect(harness.commitPoint(0) == 2)
        #expect(harness.machine.totalRunning == 0)
        #expect(harness.machine.running.isEmpty)
    }
}
