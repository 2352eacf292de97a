//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import PropertyBased
import SluiceFutures
import Testing

@testable import Sluice

/// `ConsumerStateMachine` driven directly: random admissions (partitions, keys, offset gaps) and
/// completions in random order, in every ordering mode.
@Suite struct StateMachinePropertyTests {
    /// A plain model of one admitted message.
    struct Admitted {
        let partition: Int32
        let offset: Int64
    }

    @Test func pendingCommitsNeverPassAnUnfinishedOffsetAndReachTheLastOffsetPlusOne() async {
        await propertyCheck(
            count: 300,
            input: Gen.int(in: 0...2),
            zip(Gen.int(in: 0...99), Gen.int32(in: 0...2), Gen.int(in: 0...4), Gen.int64(in: 1...3)).array(of: 0...300)
        ) { modeIndex, steps in
            let mode = OrderingMode.allCases[modeIndex]
            let topic = "t"
            var harness = MachineHarness(topic: topic) {
                $0.maxInFlightMessages = 100_000
                $0.maxInFlightBytes = 1 << 40
                $0.ordering = mode
            }
            harness.assign(0, 1, 2)

            var nextOffset: [Int32: Int64] = [:]
            var lastAdmitted: [Int32: Int64] = [:]
            var unfinished: [Int32: Set<Int64>] = [:]  // admitted, running or queued
            var running: [InFlightWork] = []
            var runningLanes: Set<OrderingLane> = []
            var lastStarted: [OrderingLane: Int64] = [:]

            func start(_ work: InFlightWork) throws {
                if let lane = work.lane {
                    try #require(runningLanes.insert(lane).inserted, "two of lane \(lane) run at once")
                    if let last = lastStarted[lane] {
                        try #require(last < work.message.offset, "lane \(lane) started \(work.message.offset) after \(last)")
                    }
                    lastStarted[lane] = work.message.offset
                }
                running.append(work)
            }

            func check(_ step: String) throws {
                for entry in harness.machine.pendingCommits().offsets {
                    let partition = entry.topicPartition.partition
                    let offset = try #require(entry.offset)
                    if let lowest = unfinished[partition]?.min() {
                        try #require(offset <= lowest, "after \(step): commit \(offset) passes unfinished \(lowest) on \(partition)")
                    } else {
                        try #require(offset == lastAdmitted[partition]! + 1, "after \(step): idle partition \(partition) commits \(offset)")
                    }
                }
            }

            for (choice, partition, keyIndex, gap) in steps {
                if choice < 55 || running.isEmpty {
                    let offset = nextOffset[partition, default: 0]
                    nextOffset[partition] = offset + gap
                    let key: [UInt8]? = keyIndex == 4 ? nil : [UInt8(keyIndex)]
                    let message = KafkaMessage(topic: topic, partition: partition, offset: offset, key: key, value: [1])
                    let actions = harness.poll([message])
                    try #require(harness.machine.held.isEmpty && actions.logs.isEmpty)
                    lastAdmitted[partition] = offset
                    unfinished[partition, default: []].insert(offset)
                    for work in actions.dispatch { try start(work) }
                    try check("admit \(partition)@\(offset)")
                } else if choice < 95 {
                    let work = running.remove(at: choice % running.count)
                    if let lane = work.lane { runningLanes.remove(lane) }
                    unfinished[work.message.partition]?.remove(work.message.offset)
                    for next in harness.succeed([work]).dispatch { try start(next) }
                    try check("finish \(work.message.partition)@\(work.message.offset)")
                } else {
                    // The broker acknowledges what is pending: commits never go backwards after it.
                    if let request = harness.machine.syncCommit(of: nil) {
                        let decision = harness.machine.syncCommitAnswered(request, error: nil, attempt: 1, deadline: .max, now: harness.now)
                        try #require(decision == .done)
                    }
                    try check("acknowledge")
                }
            }

            // Everything completes, in an order the steps pick.
            var turn = 0
            while !running.isEmpty {
                let work = running.remove(at: steps.isEmpty ? 0 : steps[turn % steps.count].0 % running.count)
                turn += 1
                if let lane = work.lane { runningLanes.remove(lane) }
                unfinished[work.message.partition]?.remove(work.message.offset)
                for next in harness.succeed([work]).dispatch { try start(next) }
                try check("final finish \(work.message.partition)@\(work.message.offset)")
            }
            #expect(unfinished.values.allSatisfy { $0.isEmpty }, "work left queued with nothing running")
            for (partition, last) in lastAdmitted {
                let tp = TopicPartition(topic: topic, partition: partition)
                #expect(harness.machine.tracker.commitPoint(of: tp) == last + 1)
                let pending = harness.machine.pendingCommits(of: [tp]).offsets
                #expect(pending.allSatisfy { $0.offset == last + 1 })
                #expect(!pending.isEmpty || harness.machine.committed[tp] == last + 1)
            }
        }
    }

    /// Partition order with a small window and two workers: messages arrive in runs of one
    /// partition, many more than the window holds, so they wait held, the poll thread looks ahead,
    /// and refills share the window out by partition. Every message starts once, each partition in
    /// offset order and one at a time, and every commit point ends past its last message.
    @Test func partitionSharesKeepEachPartitionsOrderAndStartEveryMessageOnce() async {
        await propertyCheck(
            count: 200,
            input: Gen.int(in: 2...12),
            zip(Gen.int(in: 0...99), Gen.int32(in: 0...3), Gen.int(in: 1...15)).array(of: 0...200)
        ) { window, steps in
            var harness = MachineHarness {
                $0.maxInFlightMessages = window
                $0.ordering = .partition
                $0.workers = 2
            }
            harness.assign(0, 1, 2, 3)
            var nextOffset: [Int32: Int64] = [:]
            var started: [Int32: [Int64]] = [:]
            var running: [InFlightWork] = []
            var runningPartitions: Set<Int32> = []

            func start(_ actions: EngineActions) throws {
                for work in actions.dispatch {
                    let partition = work.message.partition
                    try #require(runningPartitions.insert(partition).inserted, "two of partition \(partition) run at once")
                    started[partition, default: []].append(work.message.offset)
                    running.append(work)
                }
                try #require(harness.machine.window.count <= window)
            }

            for (choice, partition, length) in steps {
                if choice < 40 || running.isEmpty {
                    // A run of one partition, as a fetch delivers it.
                    let first = nextOffset[partition, default: 0]
                    nextOffset[partition] = first + Int64(length)
                    try start(harness.poll((first..<first + Int64(length)).map { harness.message(partition, $0) }))
                } else {
                    let work = running.remove(at: choice % running.count)
                    runningPartitions.remove(work.message.partition)
                    try start(harness.succeed([work]))
                    try start(harness.tick())
                }
            }
            var turns = 0
            while !running.isEmpty || !harness.machine.held.isEmpty, turns < 100_000 {
                turns += 1
                if !running.isEmpty {
                    let work = running.removeFirst()
                    runningPartitions.remove(work.message.partition)
                    try start(harness.succeed([work]))
                }
                try start(harness.tick())
            }
            #expect(harness.machine.held.isEmpty && harness.machine.held.weight == 0)
            #expect(harness.machine.window.count == 0)
            for (partition, end) in nextOffset {
                #expect(started[partition] == Array(0..<end), "partition \(partition) started out of order or not once each")
                #expect(harness.commitPoint(partition) == end)
            }
        }
    }
}
