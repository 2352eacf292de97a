//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import PropertyBased
import Testing

@testable import Sluice

/// `EngineState` driven directly: random admissions (partitions, keys, offset gaps) and
/// completions in random order, in every ordering mode.
@Suite struct EngineStatePropertyTests {
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
            let tps = (0..<Int32(3)).map { TopicPartition(topic: topic, partition: $0) }
            var state = EngineState(maxInFlightMessages: 100_000, maxInFlightBytes: 1 << 40)
            state.assign(tps)

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
                for entry in state.pendingCommits() {
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
                    var ready: [InFlightWork] = []
                    let (taken, refused) = state.admit([PolledMessage(message)], ordering: mode, into: &ready)
                    try #require(taken == 1 && refused == 0)
                    lastAdmitted[partition] = offset
                    unfinished[partition, default: []].insert(offset)
                    for work in ready { try start(work) }
                    try check("admit \(partition)@\(offset)")
                } else if choice < 95 {
                    let work = running.remove(at: choice % running.count)
                    if let lane = work.lane { runningLanes.remove(lane) }
                    unfinished[work.message.partition]?.remove(work.message.offset)
                    if let next = state.finish(work, done: true) { try start(next) }
                    try check("finish \(work.message.partition)@\(work.message.offset)")
                } else {
                    // The broker acknowledges what is pending: commits never go backwards after it.
                    state.acknowledge(state.pendingCommits())
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
                if let next = state.finish(work, done: true) { try start(next) }
                try check("final finish \(work.message.partition)@\(work.message.offset)")
            }
            #expect(unfinished.values.allSatisfy { $0.isEmpty }, "work left queued with nothing running")
            for (partition, last) in lastAdmitted {
                let tp = TopicPartition(topic: topic, partition: partition)
                #expect(state.tracker.commitPoint(of: tp) == last + 1)
                let pending = state.pendingCommits(of: [tp])
                #expect(pending.allSatisfy { $0.offset == last + 1 })
                #expect(!pending.isEmpty || state.committed[tp] == last + 1)
            }
        }
    }
}
