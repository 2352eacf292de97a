//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// A handler of any kind, as a route (``SluiceRoute``) names it: per message or per batch,
/// synchronous (worker threads) or asynchronous (Swift concurrency), or in worker processes.
///
/// ```swift
/// let score = SluiceHandler.sync(ScoreOrder())
/// let sink = SluiceHandler.batch(InsertRows(table: orders))
/// ```
public struct SluiceHandler: Sendable {
    /// The kinds (package: the test kit runs each kind on its own thread).
    package enum Kind: Sendable {
        case sync(any MessageHandler)
        case async(any AsyncMessageHandler)
        case batch(any BatchMessageHandler)
        case asyncBatch(any AsyncBatchMessageHandler)
        /// Served by the consumer's worker processes under `job` (``ProcessIsolation``).
        case isolated(job: String, batches: Bool)
    }

    package let kind: Kind

    /// A synchronous, CPU-bound handler, called per message on the worker threads.
    public static func sync(_ handler: some MessageHandler) -> SluiceHandler {
        SluiceHandler(kind: .sync(handler))
    }

    /// An asynchronous, I/O-bound handler, called per message under Swift concurrency.
    public static func async(_ handler: some AsyncMessageHandler) -> SluiceHandler {
        SluiceHandler(kind: .async(handler))
    }

    /// A synchronous batch handler, called with up to ``SluiceConfiguration/maxBatchSize``
    /// messages on the worker threads.
    public static func batch(_ handler: some BatchMessageHandler) -> SluiceHandler {
        SluiceHandler(kind: .batch(handler))
    }

    /// An asynchronous batch handler, called under Swift concurrency.
    public static func asyncBatch(_ handler: some AsyncBatchMessageHandler) -> SluiceHandler {
        SluiceHandler(kind: .asyncBatch(handler))
    }

    /// A handler that runs in the consumer's worker processes (``SluiceConsumer/init(configuration:isolation:logger:)``),
    /// whose workers serve it under `job` (``ProcessIsolation/serve(jobs:logger:)``); `batches`
    /// when it is a ``BatchMessageHandler``.
    public static func isolated(job: String, batches: Bool = false) -> SluiceHandler {
        SluiceHandler(kind: .isolated(job: job, batches: batches))
    }

    /// Whether it handles batches.
    public var handlesBatches: Bool {
        switch kind {
        case .batch, .asyncBatch: true
        case .isolated(_, let batches): batches
        case .sync, .async: false
        }
    }
}
