// One Kafka message as a row of the sink table: where it came from (the row's identity, so that a
// message handed over again after a crash maps to the same row), its event id and its payload.

import Foundation
import Sluice

/// A message as the sink stores it.
public struct SinkRow: Sendable, Hashable {
    /// The message's topic; with ``partition`` and ``offset``, the row's primary key.
    public var topic: String
    /// The message's partition.
    public var partition: Int32
    /// The message's offset in its partition.
    public var offset: Int64
    /// The event's `id` field, as text (a JSON number is kept as its digits).
    public var id: String
    /// The message value, valid JSON, stored as `jsonb`.
    public var payload: String

    /// Creates a row from its fields.
    public init(topic: String, partition: Int32, offset: Int64, id: String, payload: String) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.id = id
        self.payload = payload
    }

    /// Decodes `message`: its value must be a UTF-8 JSON object with an `id` that is a string or
    /// an integer.
    ///
    /// - Throws: ``PayloadDecodingError`` naming the message (`topic[partition]@offset`) and the
    ///   problem. It is a `NonRetryableError`: the failure policy applies to the message at once,
    ///   since no retry can make bad JSON good.
    public init(decoding message: KafkaMessage) throws {
        guard let text = message.valueString else {
            throw PayloadDecodingError(type: "\(Event.self)", message: message, underlying: InvalidUTF8())
        }
        let event: Event
        do {
            event = try JSONDecoder().decode(Event.self, from: Data(message.value))
        } catch {
            throw PayloadDecodingError(type: "\(Event.self)", message: message, underlying: error)
        }
        self.init(topic: message.topic, partition: message.partition, offset: message.offset, id: event.id, payload: text)
    }
}

/// The part of an event the sink reads; every other field is kept in the payload as it came.
struct Event: Decodable {
    var id: String

    private enum CodingKeys: String, CodingKey { case id }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let number = try? container.decode(Int64.self, forKey: .id) {
            id = String(number)
        } else {
            id = try container.decode(String.self, forKey: .id)
        }
    }
}

/// The value is not UTF-8, so it cannot be JSON text (nor go into a `jsonb` column).
struct InvalidUTF8: Error, CustomStringConvertible {
    var description: String { "the value is not valid UTF-8" }
}
