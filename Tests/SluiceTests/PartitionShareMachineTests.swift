//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SluiceFutures
import Testing

@testable import Sluice

/// With `partition` ordering, a window full of one partition's fetch run keeps one worker busy:
/// the poll thread then looks past the window for other partitions' runs, and each refill admits
/// every partition up to its share of the window before more of the others, in each partition's
/// order.
@Suite struct PartitionShareMachineTests {
    /// A machine with a window of 10 and 2 workers: each partition's share is 5.
    private func harness(_ ordering: OrderingMode = .partition, workers: Int = 2) -> MachineHarness {
        MachineHarness {
            $0.ordering = ordering
            $0.workers = workers
            $0.maxInFlightMessages = 10
        }
    }

    private func messages(_ harness: MachineHarness, _ partition: Int32, _ offsets: Range<Int64>) -> [KafkaMessage] {
        offsets.map { harness.message(partition, $0) }
    }

    /// "partition@offset" of each work.
    private func names(_ works: [InFlightWork]) -> [String] {
        works.map { "\($0.message.partition)@\($0.message.offset)" }
    }

    /// Completes the running works one at a time, oldest first, ticking after each as the poll
    /// loop would, until nothing runs; returns every work started meanwhile, in start order.
    private func runToEnd(_ harness: inout MachineHarness, _ running: [InFlightWork]) -> [InFlightWork] {
        var running = running
        var started: [InFlightWork] = []
        var steps = 0
        while !running.isEmpty, steps < 10_000 {
            steps += 1
            let done = running.removeFirst()
            let next = harness.succeed([done])
            let ticked = harness.tick()
            for work in next.dispatch + ticked.dispatch {
                started.append(work)
                running.append(work)
            }
        }
        return started
    }

    /// Runs `running` and all that follows to the end (``runToEnd(_:_:)``); returns the offsets
    /// each partition started, `running`'s included, in start order.
    private func finish(_ harness: inout MachineHarness, _ running: [InFlightWork]) -> [Int32: [Int64]] {
        let all = running + runToEnd(&harness, running)
        return Dictionary(grouping: all, by: \.message.partition).mapValues { $0.map(\.message.offset) }
    }

    @Test func aRefillAdmitsTheNextPartitionsRunBeforeMoreOfTheFirst() throws {
        var harness = harness()
        harness.assign(0, 1)
        // librdkafka's order: a long run of partition 0, then partition 1's.
        let first = harness.poll(messages(harness, 0, 0..<25))
        #expect(names(first.dispatch) == ["0@0"])
        #expect(harness.machine.window.count == 10)
        #expect(harness.machine.looksAhead, "one partition busy, two workers, two partitions assigned")
        harness.poll(messages(harness, 1, 0..<5))
        #expect(harness.machine.held.count == 20)
        #expect(harness.machine.held.runs.map(\.tp.partition) == [0, 1])

        // Partition 0 finishes 0…4: the window is at its refill mark (5 of 10).
        var running = first.dispatch
        for _ in 0..<5 {
            let next = harness.succeed([running.removeFirst()])
            running += next.dispatch
        }
        let refill = harness.tick()
        // Partition 0 has its share (5) in the window: partition 1's run comes first, whole.
        #expect(names(refill.dispatch) == ["1@0"])
        #expect(harness.machine.window.count == 10)
        #expect(harness.machine.scheduler.activeLaneCount == 2, "both workers have a partition")
        #expect(harness.machine.held.count == 15)
        #expect(harness.machine.held.first.map { $0.message.offset } == 10, "partition 0 waits in order")
        #expect(!harness.machine.looksAhead, "as many partitions busy as workers")

        // Everything else runs, each partition in its order, and both commit points reach the end.
        let started = finish(&harness, running + refill.dispatch)
        #expect(started[0] == Array(5..<25))
        #expect(started[1] == Array(0..<5))
        #expect(harness.commitPoint(0) == 25)
        #expect(harness.commitPoint(1) == 5)
        #expect(harness.machine.window.count == 0)
        #expect(harness.machine.held.isEmpty && harness.machine.held.weight == 0)
    }

    @Test func aPartitionsLaterRunWaitsForItsEarlierOneAndTheRestOfTheRoomGoesInPollOrder() throws {
        var harness = harness()
        harness.assign(0, 1)
        let first = harness.poll(messages(harness, 0, 0..<10))
        // Held: partition 0's 10…14, partition 1's 0…2, partition 0's 15…19.
        harness.poll(messages(harness, 0, 10..<15))
        harness.poll(messages(harness, 1, 0..<3))
        harness.poll(messages(harness, 0, 15..<20))
        #expect(harness.machine.held.runs.map(\.tp.partition) == [0, 1, 0])
        var running = first.dispatch
        for _ in 0..<5 {
            running += harness.succeed([running.removeFirst()]).dispatch
        }
        let refill = harness.tick()
        // Partition 1's three first; the two slots left go to partition 0's oldest held, 10 and
        // 11, never to its later run.
        #expect(names(refill.dispatch) == ["1@0"])
        #expect(harness.machine.window.count == 10)
        #expect(harness.machine.tracker[harness.tp(1)]?.outstandingCount == 3)
        #expect(harness.machine.tracker[harness.tp(0)]?.outstandingCount == 7)
        #expect(harness.machine.held.map(\.message.offset) == [12, 13, 14, 15, 16, 17, 18, 19])
        let started = finish(&harness, running + refill.dispatch)
        #expect(started[0] == Array(5..<20))
        #expect(started[1] == Array(0..<3))
        #expect(harness.commitPoint(0) == 20)
        #expect(harness.commitPoint(1) == 3)
    }

    @Test(arguments: [OrderingMode.unordered, .key])
    func otherOrderingsRefillInPollOrder(_ ordering: OrderingMode) throws {
        var harness = harness(ordering)
        harness.assign(0, 1)
        let first = harness.poll(messages(harness, 0, 0..<25))
        harness.poll(messages(harness, 1, 0..<5))
        #expect(!harness.machine.looksAhead)
        var running = first.dispatch
        if ordering == .key { #expect(running.count == 10, "no keys: every message runs at once") }
        for _ in 0..<5 {
            running += harness.succeed([running.removeFirst()]).dispatch
        }
        _ = harness.tick()
        #expect(harness.machine.held.runs.map(\.tp.partition) == [0, 1])
        #expect(harness.machine.held.first.map { $0.message.offset } == 15, "partition 0's 10…14 went first")
    }

    @Test func noLookAheadWithOnePartitionOrOneWorker() throws {
        var single = harness()
        single.assign(0)
        single.poll(messages(single, 0, 0..<25))
        #expect(!single.machine.looksAhead, "no other partition to find")

        var oneWorker = harness(workers: 1)
        oneWorker.assign(0, 1)
        oneWorker.poll(messages(oneWorker, 0, 0..<25))
        #expect(oneWorker.machine.settings.lookaheadBytes == 0)
        #expect(!oneWorker.machine.looksAhead)
    }

    @Test func theLookAheadStopsAtItsByteBound() throws {
        var harness = MachineHarness {
            $0.ordering = .partition
            $0.workers = 2
            $0.maxInFlightMessages = 10
            $0.kafka.common.properties["max.partition.fetch.bytes"] = "1000"
        }
        #expect(harness.machine.settings.lookaheadBytes == 2_000, "a fetch of a partition per worker")
        harness.assign(0, 1)
        harness.poll((0..<10).map { harness.message(0, $0, size: 100) })
        harness.poll((10..<29).map { harness.message(0, $0, size: 100) })
        #expect(harness.machine.held.weight == 1_900)
        #expect(harness.machine.looksAhead)
        harness.poll([harness.message(0, 29, size: 100)])
        #expect(harness.machine.held.weight == 2_000)
        #expect(!harness.machine.looksAhead, "2,000 bytes held: wait for room")
    }
}
