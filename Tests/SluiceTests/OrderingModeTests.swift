//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Testing

@testable import Sluice

@Suite struct OrderingModeTests {
    let partition = LanePartition(number: 2)

    @Test func allCasesInOrder() {
        #expect(OrderingMode.allCases == [.unordered, .key, .partition])
        #expect(OrderingMode.allCases.map(\.description) == ["unordered", "key", "partition"])
    }

    @Test(arguments: OrderingMode.allCases)
    func descriptionRoundTrips(mode: OrderingMode) {
        #expect(OrderingMode(mode.description) == mode)
    }

    @Test(arguments: [
        ("unordered", OrderingMode.unordered), ("KEY", .key), ("Partition", .partition),
    ])
    func parsesNamesInAnyCase(string: String, mode: OrderingMode) {
        #expect(OrderingMode(string) == mode)
    }

    @Test(arguments: ["", "keys", "none", " key", "ordered"])
    func rejectsUnknownNames(string: String) {
        #expect(OrderingMode(string) == nil)
    }

    @Test func unorderedHasNoLane() {
        #expect(OrderingMode.unordered.lane(for: self.partition, key: [1, 2]) == nil)
        #expect(OrderingMode.unordered.lane(for: self.partition, key: nil) == nil)
    }

    @Test func keyModeLanesByPartitionAndKey() {
        #expect(OrderingMode.key.lane(for: self.partition, key: [1, 2]) == .key(self.partition, [1, 2]))
        let other = LanePartition(number: 3)
        #expect(
            OrderingMode.key.lane(for: self.partition, key: [1]) != OrderingMode.key.lane(for: other, key: [1]),
            "the same key on two partitions is two lanes"
        )
        #expect(OrderingMode.key.lane(for: self.partition, key: []) == .key(self.partition, []), "an empty key is a key")
    }

    @Test func keyModeHandlesNullKeysAsUnordered() {
        #expect(OrderingMode.key.lane(for: self.partition, key: nil) == nil)
    }

    @Test func partitionModeLanesByPartition() {
        #expect(OrderingMode.partition.lane(for: self.partition, key: [1]) == .partition(self.partition))
        #expect(OrderingMode.partition.lane(for: self.partition, key: nil) == .partition(self.partition))
    }

    @Test func aMessagesLaneIsItsKeysLaneHashedInPlace() {
        let keyed = KafkaMessage(topic: "t", partition: 0, offset: 1, key: [1, 2], value: [3])
        let keyless = KafkaMessage(topic: "t", partition: 0, offset: 2, value: [1, 2])
        let emptyKey = KafkaMessage(topic: "t", partition: 0, offset: 3, key: [], value: [1, 2])
        for mode in [OrderingMode.unordered, .key, .partition] {
            for message in [keyed, keyless, emptyKey] {
                #expect(mode.lane(for: message, from: self.partition) == mode.lane(for: self.partition, key: message.key))
            }
        }
        #expect(OrderingMode.key.lane(for: keyed, from: self.partition) == .key(self.partition, [1, 2]))
        #expect(OrderingMode.key.lane(for: emptyKey, from: self.partition) == .key(self.partition, []))
    }
}
