// The handler's decoding, without Kafka or PostgreSQL: which messages of a batch become rows, and
// what a bad one fails with.

import PostgresSink
import Sluice
import Testing

@Suite struct SinkRowTests {
    static func message(_ value: String, offset: Int64) -> KafkaMessage {
        KafkaMessage(topic: "events", partition: 2, offset: offset, key: nil, value: Array(value.utf8))
    }

    @Test func aStringOrIntegerIdIsKeptWithTheWholePayload() throws {
        let text = #"{"id":"e-7","amount":12,"tags":["a"]}"#
        let row = try SinkRow(decoding: Self.message(text, offset: 41))
        #expect(row == SinkRow(topic: "events", partition: 2, offset: 41, id: "e-7", payload: text))
        #expect(try SinkRow(decoding: Self.message(#"{"id":12345678901}"#, offset: 0)).id == "12345678901")
    }

    @Test(arguments: [
        ("not json", "invalid JSON"),
        (#"{"amount":1}"#, "missing key 'id'"),
        (#"{"id":1.5}"#, "expected String at id"),
        (#"["id"]"#, "expected Dictionary"),
        ("", "invalid JSON"),
    ])
    func aBadPayloadFailsWithAnErrorNamingItsOffset(value: String, reason: String) {
        let error = #expect(throws: PayloadDecodingError.self) { try SinkRow(decoding: Self.message(value, offset: 99)) }
        #expect(error?.source == "events[2]@99")
        #expect(error?.description.contains(reason) == true, "\(String(describing: error))")
    }

    @Test func aValueThatIsNotUTF8IsRejected() {
        let message = KafkaMessage(topic: "events", partition: 0, offset: 3, key: nil, value: [0x7B, 0xFF, 0x7D])
        let error = #expect(throws: PayloadDecodingError.self) { try SinkRow(decoding: message) }
        #expect(error?.description == "cannot decode Event from events[0]@3: the value is not valid UTF-8")
    }

    @Test func onlyTheBadMessagesOfABatchFail() {
        let messages = [
            Self.message(#"{"id":"a"}"#, offset: 10), Self.message("{", offset: 11),
            Self.message(#"{"id":"c"}"#, offset: 12), Self.message(#"{"x":1}"#, offset: 13),
        ]
        let (rows, outcome) = PostgresSinkHandler.rows(of: messages)
        #expect(rows.map(\.id) == ["a", "c"])
        #expect(rows.map(\.offset) == [10, 12])
        #expect(outcome.failures.keys.sorted() == [1, 3])
        #expect(outcome.failures.values.allSatisfy { $0 is PayloadDecodingError })
        #expect(outcome.failures[3].map { "\($0)" }?.contains("events[2]@13") == true)
    }
}
