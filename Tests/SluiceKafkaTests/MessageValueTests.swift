//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SluiceKafka
import Testing

/// `KafkaMessage` shares its fields between copies and `TopicPartition` hashes without the topic
/// name's bytes: both must still behave as plain values.
struct MessageValueTests {
    private static func message(offset: Int64 = 7) -> KafkaMessage {
        KafkaMessage(
            topic: "orders", partition: 2, offset: offset, key: Array("k-1".utf8), value: Array("v".utf8),
            headers: [KafkaHeader(name: "id", string: "7")],
            timestamp: KafkaTimestamp(millisecondsSinceEpoch: 1_700_000_000_000))
    }

    @Test func changingACopyLeavesTheOriginalAlone() {
        let original = Self.message()
        var copy = original
        copy.value = Array("changed".utf8)
        copy.key = nil
        copy.headers.append(KafkaHeader(name: "extra", string: "1"))
        copy.topic = "payments"
        copy.partition = 5
        copy.offset = 99
        copy.isTombstone = true
        copy.timestamp = nil

        #expect(original.valueString == "v")
        #expect(original.keyString == "k-1")
        #expect(original.headers == [KafkaHeader(name: "id", string: "7")])
        #expect(original.description == "orders[2]@7")
        #expect(original.isTombstone == false)
        #expect(original.timestamp?.millisecondsSinceEpoch == 1_700_000_000_000)

        #expect(copy.valueString == "changed")
        #expect(copy.key == nil)
        #expect(copy.headers.map(\.name) == ["id", "extra"])
        #expect(copy.description == "payments[5]@99")
        #expect(copy.isTombstone)
        #expect(copy.timestamp == nil)
        #expect(copy != original)
    }

    @Test func messagesBuiltApartWithTheSameFieldsAreEqualAndHashAlike() {
        let a = Self.message()
        let b = Self.message()
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        #expect(Set([a, b, Self.message(offset: 8)]).count == 2)

        var otherHeader = b
        otherHeader.headers = [KafkaHeader(name: "id", string: "8")]
        #expect(a != otherHeader)
    }

    @Test func keyAndValueShareOneStorageAndStayApart() {
        let value = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var message = KafkaMessage(topic: "t", partition: 0, offset: 1, key: [9, 8, 7], value: value)
        #expect(message.key == [9, 8, 7])
        #expect(message.value == value)
        #expect(message.payloadByteCount == 100_003)
        #expect(message.withUnsafeKeyBytes { $0.map(Array.init) } == [9, 8, 7])
        #expect(message.withUnsafeValueBytes { Array($0) } == value)

        // A longer key, then none, then an empty one: the value's bytes move, unchanged.
        message.key = Array("a longer key than before".utf8)
        #expect(message.keyString == "a longer key than before")
        #expect(message.value == value)
        message.key = nil
        #expect(message.key == nil)
        #expect(message.withUnsafeKeyBytes { $0 == nil })
        #expect(message.value == value)
        message.key = []
        #expect(message.key == [], "an empty key is a key, not none")
        #expect(message.payloadByteCount == 100_000)
        message.value = []
        #expect(message.value.isEmpty)
        #expect(message.key == [])
        #expect(message.payloadByteCount == 0)
    }

    @Test func equalityComparesTheKeyAndTheValueBytesApart() {
        func make(_ key: String?, _ value: String) -> KafkaMessage {
            KafkaMessage(topic: "t", partition: 0, offset: 1, key: key.map { Array($0.utf8) }, value: Array(value.utf8))
        }
        #expect(make("ab", "cd") == make("ab", "cd"))
        #expect(make("ab", "cd").hashValue == make("ab", "cd").hashValue)
        #expect(make("ab", "cd") != make("ax", "cd"), "same lengths, another key")
        #expect(make("ab", "cd") != make("ab", "cx"), "same lengths, another value")
        #expect(make("ab", "cd") != make("a", "bcd"), "the same bytes split elsewhere")
        #expect(make(nil, "cd") != make("", "cd"), "no key is not an empty key")
        #expect(Set([make(nil, "cd"), make("", "cd"), make("a", "bcd"), make("ab", "cd")]).count == 4)
    }

    @Test func partitionsOfEqualLengthTopicsStayApart() {
        // Same partition number, same name length: the same hash, told apart by `==`.
        let orders = TopicPartition(topic: "orders", partition: 3)
        let refund = TopicPartition(topic: "refund", partition: 3)
        #expect(orders != refund)
        #expect(orders.hashValue == refund.hashValue)
        var offsets: [TopicPartition: Int64] = [orders: 10, refund: 20]
        offsets[TopicPartition(topic: "orders", partition: 3)]! += 1
        #expect(offsets == [orders: 11, refund: 20])
        #expect(TopicPartition(topic: "orders", partition: 4) != orders)
        #expect([refund, orders].sorted() == [orders, refund])
    }
}
