//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

public import Logging

/// A synchronous, CPU-bound handler of batches: Sluice calls it on a worker thread with up to
/// ``SluiceConfiguration/maxBatchSize`` messages at once, for handlers whose fixed cost per call
/// (a database insert, a bulk index request, an inference over a tensor) dwarfs the work per
/// message.
///
/// The handler says what became of each message: returning ``BatchOutcome/done`` marks them all
/// done; ``BatchOutcome/failed(_:)`` names the indices that failed, each with its error, and each
/// of those follows the retry and failure policy on its own while the others are done. Throwing
/// fails the whole batch: each message then runs once more alone, an attempt on top of the retry
/// policy's (so one poison message cannot take its neighbours to the dead-letter topic with it).
/// A batch never lets a commit pass an unfinished message.
///
/// Batches form within the window and the ordering mode: in `key` mode a batch holds the messages
/// of one key in offset order, in `partition` mode only consecutive offsets of one partition. A
/// batch waits at most ``SluiceConfiguration/maxBatchDelay`` to fill.
///
/// ```swift
/// struct Insert: BatchMessageHandler {
///     let table: Table
///     func handle(_ messages: [KafkaMessage], context: BatchContext) throws -> BatchOutcome {
///         var outcome = BatchOutcome.done
///         var rows: [Row] = []
///         for (index, message) in messages.enumerated() {
///             do { rows.append(try Row(decoding: message.value)) } catch { outcome.fail(index, error) }
///         }
///         try table.insert(rows)  // a failure here fails the whole batch
///         return outcome
///     }
/// }
/// ```
public protocol BatchMessageHandler: Sendable {
    /// Handles a batch of messages, in the order Sluice admitted them.
    /// - Returns: Which messages failed, if any.
    /// - Throws: Any error: every message of the batch has then failed with it.
    func handle(_ messages: [KafkaMessage], context: BatchContext) throws -> BatchOutcome
}

/// An asynchronous, I/O-bound handler of batches: a ``BatchMessageHandler`` run under Swift
/// concurrency, bounded by the same window. Task cancellation means the consumer gave up on the
/// batch (a timeout).
///
/// ```swift
/// struct Index: AsyncBatchMessageHandler {
///     let search: SearchClient
///     func handle(_ messages: [KafkaMessage], context: BatchContext) async throws -> BatchOutcome {
///         let rejected = try await search.bulkIndex(messages.map(\.value))  // indices the server refused
///         return .failed(Dictionary(uniqueKeysWithValues: rejected.map { ($0, IndexError.rejected) }))
///     }
/// }
/// ```
public protocol AsyncBatchMessageHandler: Sendable {
    /// Handles a batch of messages, in the order Sluice admitted them.
    /// - Returns: Which messages failed, if any.
    /// - Throws: Any error: every message of the batch has then failed with it.
    func handle(_ messages: [KafkaMessage], context: BatchContext) async throws -> BatchOutcome
}

/// What a batch handler knows about the call besides the messages.
public struct BatchContext: Sendable {
    /// Which attempt each message is at, from 1, in the batch's order.
    public var attempts: [Int]
    /// The consumer's logger.
    public var logger: Logger

    /// Creates a context (for tests that call handlers directly).
    public init(attempts: [Int], logger: Logger = Logger(label: "sluice.handler")) {
        self.attempts = attempts
        self.logger = logger
    }
}

/// A ``BatchMessageHandler`` made from a closure.
///
/// ```swift
/// let handler = ClosureBatchMessageHandler { messages, _ in print(messages.count); return .done }
/// ```
public struct ClosureBatchMessageHandler: BatchMessageHandler {
    private let body: @Sendable ([KafkaMessage], BatchContext) throws -> BatchOutcome

    /// Wraps `body`.
    public init(_ body: @escaping @Sendable ([KafkaMessage], BatchContext) throws -> BatchOutcome) {
        self.body = body
    }

    /// Calls the closure.
    public func handle(_ messages: [KafkaMessage], context: BatchContext) throws -> BatchOutcome {
        try body(messages, context)
    }
}

/// An ``AsyncBatchMessageHandler`` made from a closure.
public struct ClosureAsyncBatchMessageHandler: AsyncBatchMessageHandler {
    private let body: @Sendable ([KafkaMessage], BatchContext) async throws -> BatchOutcome

    /// Wraps `body`.
    public init(_ body: @escaping @Sendable ([KafkaMessage], BatchContext) async throws -> BatchOutcome) {
        self.body = body
    }

    /// Calls the closure.
    public func handle(_ messages: [KafkaMessage], context: BatchContext) async throws -> BatchOutcome {
        try await body(messages, context)
    }
}
