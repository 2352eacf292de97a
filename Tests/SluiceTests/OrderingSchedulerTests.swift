//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import PropertyBased
import Testing

@testable import Sluice

@Suite struct OrderingSchedulerTests {
    @Test func itemsWithoutALaneRunAtOnce() {
        var scheduler = OrderingScheduler<String, Int>()
        #expect(scheduler.admit(1, lane: nil) == 1)
        #expect(scheduler.admit(2, lane: nil) == 2)
        #expect(scheduler.queuedCount == 0)
        #expect(scheduler.activeLaneCount == 0)
    }

    @Test func sameLaneRunsOneAtATimeInAdmissionOrder() {
        var scheduler = OrderingScheduler<String, Int>()
        #expect(scheduler.admit(1, lane: "a") == 1)
        #expect(scheduler.admit(2, lane: "a") == nil)
        #expect(scheduler.admit(3, lane: "a") == nil)
        #expect(scheduler.queuedCount == 2)
        #expect(scheduler.activeLaneCount == 1)

        #expect(scheduler.complete(lane: "a") == 2)
        #expect(scheduler.queuedCount == 1)
        #expect(scheduler.complete(lane: "a") == 3)
        #expect(scheduler.queuedCount == 0)
        #expect(scheduler.activeLaneCount == 1, "3 is still running")
        #expect(scheduler.complete(lane: "a") == nil)
        #expect(scheduler.activeLaneCount == 0)
    }

    @Test func aLaneRunTakesTheOldestQueuedUpToTheLimitAndKeepsTheLaneBusy() {
        var scheduler = OrderingScheduler<String, Int>()
        #expect(scheduler.admit(1, lane: "a") == 1)
        for item in 2...13 { #expect(scheduler.admit(item, lane: "a") == nil) }  // past the first room of 8
        #expect(scheduler.admit(100, lane: "b") == 100)
        #expect(scheduler.admit(101, lane: "b") == nil)
        #expect(scheduler.queuedCount(on: "a") == 12)
        #expect(scheduler.queuedCount(on: "idle") == 0)

        let run = scheduler.run(startingWith: 1, lane: "a", upTo: 5)
        #expect(run == [1, 2, 3, 4, 5, 6])
        #expect(scheduler.queuedCount == 8, "7 of a and 1 of b left")
        #expect(scheduler.queuedCount(on: "a") == 7)

        let rest = scheduler.run(startingWith: 6, lane: "a", upTo: 100)
        #expect(rest.map { Array($0.dropFirst()) } == Array(7...13))
        #expect(scheduler.run(startingWith: 13, lane: "a", upTo: 100) == nil, "nothing more on a")
        #expect(scheduler.run(startingWith: 0, lane: "idle", upTo: 100) == nil, "nothing on an idle lane")
        #expect(scheduler.queuedCount == 1)

        // The lane stays busy until its run completes, then runs what came meanwhile.
        #expect(scheduler.admit(14, lane: "a") == nil)
        #expect(scheduler.complete(lane: "a") == 14)
        #expect(scheduler.complete(lane: "a") == nil)
        #expect(scheduler.activeLaneCount == 1, "only b")
    }

    @Test func differentLanesRunInParallel() {
        var scheduler = OrderingScheduler<String, Int>()
        #expect(scheduler.admit(1, lane: "a") == 1)
        #expect(scheduler.admit(2, lane: "b") == 2)
        #expect(scheduler.admit(3, lane: nil) == 3)
        #expect(scheduler.admit(4, lane: "a") == nil)
        #expect(scheduler.activeLaneCount == 2)
        #expect(scheduler.complete(lane: "b") == nil)
        #expect(scheduler.complete(lane: "a") == 4)
        #expect(scheduler.activeLaneCount == 1)
    }

    @Test func idleLaneIsFreedAndRunsTheNextItemAtOnce() {
        var scheduler = OrderingScheduler<Int, Int>()
        // One-off keys: every lane must be freed once its item completes.
        for key in 0..<1_000 {
            #expect(scheduler.admit(key, lane: key) == key)
            #expect(scheduler.complete(lane: key) == nil)
        }
        #expect(scheduler.activeLaneCount == 0)
        #expect(scheduler.admit(7, lane: 7) == 7)
    }

    @Test func completingAnIdleLaneDoesNothing() {
        var scheduler = OrderingScheduler<String, Int>()
        #expect(scheduler.complete(lane: "a") == nil)
        #expect(scheduler.admit(1, lane: "a") == 1)
        #expect(scheduler.complete(lane: "b") == nil)
        #expect(scheduler.activeLaneCount == 1)
    }

    @Test func removeQueuedDropsOnlyQueuedItemsAndKeepsTheLaneBusy() {
        var scheduler = OrderingScheduler<String, Int>()
        #expect(scheduler.admit(10, lane: "a") == 10)
        #expect(scheduler.admit(11, lane: "a") == nil)
        #expect(scheduler.admit(12, lane: "a") == nil)
        #expect(scheduler.admit(13, lane: "a") == nil)
        #expect(scheduler.admit(20, lane: "b") == 20)
        #expect(scheduler.admit(21, lane: "b") == nil)

        var seen: [Int] = []
        let removed = scheduler.removeQueued { item in
            seen.append(item)
            return item != 12
        }
        #expect(Set(removed) == [11, 13, 21])
        #expect(removed.filter { $0 < 20 } == [11, 13], "admission order within a lane")
        #expect(Set(seen) == [11, 12, 13, 21], "the predicate never sees running items")
        #expect(scheduler.queuedCount == 1)
        #expect(scheduler.activeLaneCount == 2, "running items keep their lanes busy")

        // 10 finishing starts 12; the lane of 20 goes idle when 20 finishes.
        #expect(scheduler.complete(lane: "a") == 12)
        #expect(scheduler.complete(lane: "b") == nil)
        #expect(scheduler.admit(22, lane: "b") == 22)
    }

    /// Random streams of keyed messages on two partitions in key mode, random completion orders
    /// and random revocation-style removals, checked against the contract at every step.
    @Test func keyModeRunsEachLaneSeriallyInOffsetOrderAndEveryItemOnce() async {
        await propertyCheck(
            count: 300,
            input: zip(Gen.int32(in: 0...1), Gen.uint8(in: 0...3).optional).array(of: 0...80),
            Gen.int(in: 0...99).array(of: 0...250)
        ) { messages, choices in
            var stream: [Message] = []
            var nextOffset: [Int32: Int64] = [:]
            for (partition, key) in messages {
                let tp = TopicPartition(topic: "t", partition: partition)
                let offset = nextOffset[partition, default: 0]
                nextOffset[partition] = offset + 1
                stream.append(Message(tp: tp, offset: offset, key: key.map { [$0] }))
            }

            var harness = SchedulerHarness()
            var pending = stream[...]

            for choice in choices {
                switch choice {
                case 0..<45 where !pending.isEmpty:
                    try harness.admit(pending.removeFirst())
                case 0..<92 where !harness.running.isEmpty:
                    try harness.complete(harness.running[choice % harness.running.count])
                case 92...:
                    try harness.removeQueued(on: Int32(choice % 2), offsetModulo: Int64(choice % 3) + 1)
                default:
                    break
                }
            }

            // Drain: admit the rest, then complete in an order the choices pick.
            for message in pending {
                try harness.admit(message)
            }
            var pick = 0
            while !harness.running.isEmpty {
                let choice = choices.isEmpty ? 0 : choices[pick % choices.count]
                pick += 1
                try harness.complete(harness.running[choice % harness.running.count])
            }

            #expect(harness.scheduler.queuedCount == 0)
            #expect(harness.scheduler.activeLaneCount == 0)
            #expect(Set(harness.started).count == harness.started.count, "no item runs twice")
            let expected = Set(stream.map(\.id)).subtracting(harness.dropped)
            #expect(Set(harness.started) == expected, "every admitted, undropped item runs")
        }
    }
}

/// A message as the key-mode property test sees it.
private struct Message: Sendable, Hashable, CustomStringConvertible {
    var tp: TopicPartition
    var offset: Int64
    var key: [UInt8]?

    var id: MessageID { MessageID(tp: self.tp, offset: self.offset) }
    var lane: OrderingLane? { OrderingMode.key.lane(for: LanePartition(number: UInt32(self.tp.partition)), key: self.key) }  // one topic

    var description: String { "\(self.tp)@\(self.offset) key \(self.key.map { "\($0)" } ?? "nil")" }
}

private struct MessageID: Hashable {
    var tp: TopicPartition
    var offset: Int64
}

/// Drives an ``OrderingScheduler`` and checks each answer against a model of the lanes.
private struct SchedulerHarness {
    var scheduler = OrderingScheduler<OrderingLane, Message>()
    /// Items running now, in start order.
    var running: [Message] = []
    /// Every item ever started, in start order.
    var started: [MessageID] = []
    /// Items dropped by `removeQueued`.
    var dropped: Set<MessageID> = []
    /// The model: items waiting on each lane, in admission order.
    var queues: [OrderingLane: [Message]] = [:]
    /// The offset that last started on each lane.
    var lastStarted: [OrderingLane: Int64] = [:]

    mutating func admit(_ message: Message) throws {
        if let item = self.scheduler.admit(message, lane: message.lane) {
            try #require(item == message)
            try self.start(item)
        } else {
            let lane = try #require(message.lane, "an item without a lane was queued")
            try #require(
                self.running.contains { $0.lane == lane },
                "\(message.offset) queued behind an idle lane"
            )
            self.queues[lane, default: []].append(message)
        }
        try self.checkCounts()
    }

    mutating func complete(_ message: Message) throws {
        self.running.removeAll { $0 == message }
        if let lane = message.lane {
            let next = self.scheduler.complete(lane: lane)
            let expected = self.queues[lane]?.first
            try #require(next == expected, "lane did not run its oldest queued item next")
            if let next {
                self.queues[lane]!.removeFirst()
                try self.start(next)
            }
            if self.queues[lane]?.isEmpty == true {
                self.queues[lane] = nil
            }
        }
        try self.checkCounts()
    }

    mutating func removeQueued(on partition: Int32, offsetModulo modulo: Int64) throws {
        let running = Set(self.running)
        var seenRunning = false
        let matches = { (message: Message) in message.tp.partition == partition && message.offset % modulo == 0 }
        let removed = self.scheduler.removeQueued { message in
            seenRunning = seenRunning || running.contains(message)
            return matches(message)
        }
        try #require(!seenRunning, "removeQueued looked at a running item")
        let expected = self.queues.values.joined().filter(matches)
        try #require(Set(removed) == Set(expected))
        try #require(removed.count == expected.count)
        for lane in self.queues.keys {
            self.queues[lane]!.removeAll(where: matches)
        }
        self.queues = self.queues.filter { !$0.value.isEmpty }
        self.dropped.formUnion(removed.map(\.id))
        try self.checkCounts()
    }

    private mutating func start(_ message: Message) throws {
        if let lane = message.lane {
            try #require(
                !self.running.contains { $0.lane == lane },
                "\(message.offset) started while its lane was running"
            )
            if let last = self.lastStarted[lane] {
                try #require(last < message.offset, "lane ran \(message.offset) after \(last)")
            }
            self.lastStarted[lane] = message.offset
        }
        self.running.append(message)
        self.started.append(message.id)
    }

    private func checkCounts() throws {
        try #require(self.scheduler.queuedCount == self.queues.values.reduce(0) { $0 + $1.count })
        let busyLanes = Set(self.running.compactMap(\.lane))
        try #require(self.scheduler.activeLaneCount == busyLanes.count)
    }
}
