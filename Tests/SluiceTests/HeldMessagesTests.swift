//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Testing

@testable import Sluice

/// The messages waiting for room: runs of one partition, counted in messages and bytes.
@Suite struct HeldMessagesTests {
    private func entry(_ partition: Int32, _ offset: Int64, size: Int = 10) -> PolledMessage {
        PolledMessage(
            KafkaMessage(topic: "t", partition: partition, offset: offset, key: nil, value: [UInt8](repeating: 0, count: size)),
            polledAt: 0)
    }

    private func layout(_ held: HeldMessages) -> [String] {
        held.runs.map { run in "\(run.tp.partition):\(run.messages.map(\.message.offset).map(String.init).joined(separator: ","))" }
    }

    @Test func consecutiveMessagesOfAPartitionShareARun() {
        var held = HeldMessages()
        for (partition, offset) in [(0, 1), (0, 2), (1, 7), (0, 3), (0, 4)] { held.append(entry(Int32(partition), Int64(offset))) }
        #expect(layout(held) == ["0:1,2", "1:7", "0:3,4"])
        #expect(held.count == 5 && held.weight == 50)
        #expect(held.first?.message.offset == 1)
        #expect(held.map(\.message.offset) == [1, 2, 7, 3, 4], "poll order across runs")
    }

    @Test func givingARunBackWithoutItsTakenMessagesKeepsTheCounts() {
        var held = HeldMessages()
        for offset in 0..<4 { held.append(entry(0, Int64(offset), size: 5)) }
        held.append(entry(1, 0, size: 20))
        let run = held.lend(run: 0)
        #expect(run.count == 4)
        held.giveBack(run, toRun: 0, taken: 3)
        #expect(layout(held) == ["0:3", "1:0"])
        #expect(held.count == 2 && held.weight == 25)
        let other = held.lend(run: 1)
        held.giveBack(other, toRun: 1, taken: 1)
        #expect(layout(held) == ["0:3"], "an emptied run is removed")
        let last = held.lend(run: 0)
        held.giveBack(last, toRun: 0, taken: 0)
        #expect(layout(held) == ["0:3"] && held.count == 1 && held.weight == 5)
    }

    @Test func droppingAPartitionMergesTheRunsAroundIt() {
        var held = HeldMessages()
        for (partition, offset) in [(0, 1), (1, 7), (0, 2), (2, 9), (1, 8)] { held.append(entry(Int32(partition), Int64(offset))) }
        held.removeAll(of: [TopicPartition(topic: "t", partition: 1)])
        #expect(layout(held) == ["0:1,2", "2:9"])
        #expect(held.count == 3 && held.weight == 30)
        held.append(entry(2, 10))
        #expect(layout(held) == ["0:1,2", "2:9,10"])
        held.removeAll()
        #expect(held.isEmpty && held.weight == 0 && held.runs.isEmpty)
    }
}
