//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Where dead letters are written: a Kafka producer in production (``KafkaDeadLetterSink``), the
/// in-memory cluster in `SluiceTestKit`.
///
/// One call is one write: the engine decides whether and when to write again.
package protocol DeadLetterSink: Sendable {
    /// Writes `record`; `completion` runs exactly once, on any thread, with the broker's answer.
    func write(_ record: KafkaProducerMessage, completion: @escaping @Sendable (Result<Void, any Error>) -> Void)

    /// Waits up to `timeout` for writes in flight, then stops writing.
    func close(timeout: Duration)
}

/// Makes the dead-letter sink of a consumer (dead-letter policy only).
package typealias DeadLetterSinkFactory = @Sendable (SluiceConfiguration) throws -> any DeadLetterSink
