// The batch handler: decode every message of the batch, insert the good ones in one statement,
// and name the bad ones in the outcome so that only they go to the failure policy.

import Logging
import Sluice

/// Writes each batch of JSON events into a ``SinkTable`` with one idempotent insert.
///
/// Delivery from Kafka is at-least-once: after a crash, Sluice hands over again the messages
/// whose offsets it had not committed, some of which are already in the table. The table's key is
/// the message's (topic, partition, offset) and the insert skips keys that are there, so a replay
/// adds no row twice: together, effectively-once rows.
///
/// A message that is not a JSON object with an `id` fails alone (a ``PayloadDecodingError``
/// naming its offset, not retried); the rest of its batch is inserted. An error from PostgreSQL
/// fails the whole batch (nothing of it was inserted): Sluice then retries each of its messages
/// alone, so a row the server refuses ends in the failure policy without its neighbours.
///
/// ```swift
/// let handler = PostgresSinkHandler(table: try SinkTable(client: client))
/// let consumer = try SluiceConsumer(configuration: config, asyncBatchHandler: handler)
/// ```
public struct PostgresSinkHandler: AsyncBatchMessageHandler {
    /// Where the rows go.
    public let table: SinkTable
    /// What the handler did so far.
    public let counters: SinkCounters

    /// A handler writing into `table`, counting into `counters`.
    public init(table: SinkTable, counters: SinkCounters = SinkCounters()) {
        self.table = table
        self.counters = counters
    }

    /// Inserts the batch's decodable messages in one statement.
    /// - Returns: ``BatchOutcome/done``, or the indices of the messages that did not decode.
    /// - Throws: PostgreSQL's error: the whole batch failed.
    public func handle(_ messages: [KafkaMessage], context: BatchContext) async throws -> BatchOutcome {
        let (rows, outcome) = Self.rows(of: messages)
        let rejected = outcome.failures.count
        for (index, error) in outcome.failures {
            context.logger.debug("rejected \(messages[index]): \(error)")
        }
        guard !rows.isEmpty else {
            counters.record(rejected: rejected)
            return outcome
        }
        let inserted = try await table.insert(rows, logger: context.logger)
        counters.record(rows: rows.count, inserted: inserted, rejected: rejected)
        return outcome
    }

    /// The rows of the messages that decode, in order, and an outcome naming each message that
    /// does not with its ``PayloadDecodingError``.
    public static func rows(of messages: [KafkaMessage]) -> (rows: [SinkRow], outcome: BatchOutcome) {
        var rows: [SinkRow] = []
        rows.reserveCapacity(messages.count)
        var outcome = BatchOutcome.done
        for (index, message) in messages.enumerated() {
            do {
                rows.append(try SinkRow(decoding: message))
            } catch {
                outcome.fail(index, error)
            }
        }
        return (rows, outcome)
    }
}
