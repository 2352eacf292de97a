// Writes the test's events to the embedded broker and remembers where each one landed, so that
// the table can be compared row by row with what Kafka holds.

import Foundation
import Sluice
import Synchronization

/// A topic's position of one message.
struct Position: Hashable, Sendable {
    var partition: Int32
    var offset: Int64
}

/// Produces JSON events `{"id":"e-N",…}` with keys spread over the partitions, and messages
/// that are not JSON events.
final class EventProducer {
    let topic: String
    let bootstrapServers: String
    private let landed = Landed()

    init(bootstrapServers: String, topic: String) {
        self.bootstrapServers = bootstrapServers
        self.topic = topic
    }

    /// Where each event landed, by id.
    var events: [String: Position] { landed.state.withLock { $0.events } }
    /// Where the messages that are not events landed.
    var others: [Position] { landed.state.withLock { $0.others } }

    /// The id of event `number`.
    static func id(_ number: Int) -> String { "e-\(number)" }

    /// Writes events `numbers`, and after every `poisonEvery`-th of them a message that is not
    /// JSON; returns once every message is acknowledged.
    func produce(_ numbers: Range<Int>, poisonEvery: Int? = nil) throws {
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: [bootstrapServers]))
        do {
            for number in numbers {
                let id = Self.id(number)
                let value = #"{"id":"\#(id)","n":\#(number),"note":"an event for the sink test"}"#
                try send(key: "k-\(number % 97)", value: value, as: id, with: producer)
                if let poisonEvery, number % poisonEvery == poisonEvery - 1 {
                    try send(key: "k-\(number % 97)", value: "not an event \(number)", as: nil, with: producer)
                }
            }
        } catch {
            try? producer.close(timeout: .seconds(10))
            throw error
        }
        try producer.close(timeout: .seconds(60))  // returns once every delivery report has run
        let failures = landed.state.withLock { $0.failures }
        guard failures.isEmpty else { throw ProcessFailure("\(failures.count) messages not delivered, e.g. \(failures[0])") }
    }

    /// Produces one message and records where it landed: under `id`, or among the others.
    private func send(key: String, value: String, as id: String?, with producer: KafkaProducer) throws {
        let message = KafkaProducerMessage(topic: topic, key: Array(key.utf8), value: Array(value.utf8))
        try producer.produce(message, blockWhenQueueFull: true) { [landed] result in
            landed.state.withLock { state in
                switch result {
                case .success(let report):
                    guard let offset = report.offset else {
                        state.failures.append("\(report): no offset")
                        return
                    }
                    let position = Position(partition: report.partition, offset: offset)
                    if let id { state.events[id] = position } else { state.others.append(position) }
                case .failure(let error):
                    state.failures.append("\(error)")
                }
            }
        }
    }
}

/// What the delivery reports said, filled from librdkafka's thread.
private final class Landed: Sendable {
    let state = Mutex<(events: [String: Position], others: [Position], failures: [String])>(([:], [], []))
}
