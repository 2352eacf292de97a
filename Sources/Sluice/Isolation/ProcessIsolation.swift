//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

public import Logging
public import SluiceProcessPool

/// Runs a synchronous handler in supervised worker processes instead of the consumer's threads,
/// so that a handler that traps, leaks or hangs costs one message, not the consumer.
///
/// The workers run an executable that, started as a worker (``ProcessPoolWorker/isWorkerProcess``),
/// builds the same handler and calls ``serve(_:logger:)``; the `sluice` runner does this by itself
/// (`sluice run --isolation process`). Each message crosses to a worker as bytes (topic,
/// partition, offset, key, value, headers, timestamp and the attempt number), and the outcome
/// comes back; nothing else is shared, and no closure is sent.
///
/// Cheap messages cross several to a frame (sized to about a millisecond of work; never under a
/// deadline, nor with `maxTasksPerWorker`, which counts messages), each still handled on its own
/// with its own outcome; a lane run (`key` and `partition` ordering) stops at its first failure,
/// as on a thread, and after a crash its first message runs once more alone and the others follow
/// one by one. A worker that dies (a trap, a
/// signal, an exit) fails what it was running, with a `ProcessPoolError` naming the signal or
/// status; the pool starts another worker (with backoff). The messages of a frame of several each
/// run once more alone, as nobody knows which one crashed it; then the retry and failure policies
/// decide, so a poison message is retried on a fresh worker, then dead-lettered, and it alone. With ``SluiceConfiguration/handlerTimeout`` a call past its deadline has
/// its worker killed and replaced, and fails with ``HandlerTimeoutError``: a real timeout, which
/// threads cannot give. Workers are recycled after `maxTasksPerWorker` tasks or above
/// `maxMemoryBytes`.
///
/// ```swift
/// var pool = ProcessPoolConfiguration(executable: ProcessPoolConfiguration.currentExecutablePath, arguments: ["worker"])
/// pool.maxTasksPerWorker = 10_000
/// let consumer = try SluiceConsumer(configuration: config, isolation: ProcessIsolation(pool: pool))
/// ```
public struct ProcessIsolation: Sendable {
    /// The worker pool: executable, arguments, recycling. Its worker count is the consumer's
    /// ``SluiceConfiguration/workers``.
    public var pool: ProcessPoolConfiguration

    /// Whether the workers serve a ``BatchMessageHandler`` (``serve(batchHandler:logger:)``):
    /// a whole batch then crosses to a worker in one frame. Default: `false`.
    public var handlesBatches = false

    /// The job name the workers serve a per-message handler under.
    public static let job = "sluice.handle"

    /// The job name the workers serve a batch handler under.
    public static let batchJob = "sluice.handle-batch"

    /// Creates the isolation.
    ///
    /// A worker's answer is only an outcome (success, or the handler's error type and description, which
    /// the worker cuts to a few KiB), so the pool's ``ProcessPoolConfiguration/maximumResultBytes`` is
    /// lowered to what such an answer can be: a worker that sends more is killed before the consumer
    /// buffers it, and its message fails.
    public init(pool: ProcessPoolConfiguration) {
        self.pool = pool
        self.pool.maximumResultBytes = min(pool.maximumResultBytes, WireMessage.maximumOutcomeBytes)
    }

    /// In a worker process: runs `handler` on each message the pool sends, until the pool closes
    /// the connection. A thrown error goes back as its type and description (and whether it is a
    /// ``NonRetryableError``); a trap ends the process, which the pool reports.
    /// - Throws: `ProcessPoolError` when this process was not started by a pool.
    public static func serve(_ handler: some MessageHandler, logger: Logger) throws {
        try serve(jobs: [job: .sync(handler)], logger: logger)
    }

    /// In a worker process: runs `handler` on each batch the pool sends (``handlesBatches``), and
    /// sends back each message's outcome. A thrown error fails every message of the batch; a trap
    /// ends the process, and the pool fails the batch, whose messages then run once more alone.
    /// - Throws: `ProcessPoolError` when this process was not started by a pool.
    public static func serve(batchHandler: some BatchMessageHandler, logger: Logger) throws {
        try serve(jobs: [batchJob: .batch(batchHandler)], logger: logger)
    }

    /// In a worker process: serves several handlers, each under its job name (the routes of a
    /// consumer whose route handlers are ``SluiceHandler/isolated(job:batches:)``). Only
    /// synchronous handlers (``SluiceHandler/sync(_:)``, ``SluiceHandler/batch(_:)``) run in
    /// worker processes.
    /// - Throws: ``SluiceError`` for an asynchronous handler; `ProcessPoolError` when this process
    ///   was not started by a pool.
    public static func serve(jobs: [String: SluiceHandler], logger: Logger) throws {
        var served: [String: @Sendable ([UInt8]) throws -> [UInt8]] = [:]
        for (name, handler) in jobs {
            switch handler.kind {
            case .sync(let handler):
                served[name] = { bytes in
                    let (message, attempt) = try WireMessage.decode(bytes)
                    do {
                        try handler.handle(message, context: HandlerContext(attempt: attempt, logger: logger, message: message))
                        return WireMessage.encode(.success)
                    } catch {
                        return WireMessage.encode(outcome(of: error))
                    }
                }
                // Several messages in one frame, each handled on its own: one round trip for a
                // chunk of cheap calls instead of one per message.
                served[chunkJob(name)] = { bytes in try handleChunk(bytes, with: handler, logger: logger) }
            case .batch(let handler):
                served[name] = { bytes in
                    let batch = try WireMessage.decodeBatch(bytes)
                    let outcomes: [WireMessage.Outcome]
                    var wholeBatch = false
                    do {
                        let results = try handler.handle(batch.map(\.message), context: BatchContext(attempts: batch.map(\.attempt), logger: logger))
                            .results(count: batch.count)
                        outcomes = results.map { result in
                            switch result {
                            case .success: .success
                            case .failure(let error): outcome(of: error)
                            }
                        }
                    } catch {
                        outcomes = Array(repeating: outcome(of: error), count: batch.count)
                        wholeBatch = true
                    }
                    return WireMessage.encode(outcomes: outcomes, wholeBatch: wholeBatch)
                }
            case .async, .asyncBatch, .isolated:
                throw SluiceError.configuration("job '\(name)': only synchronous handlers (sync, batch) run in worker processes")
            }
        }
        try ProcessPoolWorker.serve(jobs: served)
    }

    /// Handles a chunk (``WireMessage/encode(chunk:runLengths:)``) in a worker process, in order,
    /// each message on its own: a failure in a lane run skips the rest of that run, which the
    /// consumer hands back to its lane un-run, exactly as a run on a thread stops.
    static func handleChunk(_ bytes: [UInt8], with handler: some MessageHandler, logger: Logger) throws -> [UInt8] {
        let (chunk, runLengths) = try WireMessage.decodeChunk(bytes)
        var outcomes: [WireMessage.Outcome] = []
        outcomes.reserveCapacity(chunk.count)
        var runs = runLengths.makeIterator()
        var leftInRun = 0
        var runFailed = false
        for (message, attempt) in chunk {
            if leftInRun == 0 {
                runFailed = false
                leftInRun = runs.next() ?? 0
            }
            if leftInRun > 0 { leftInRun -= 1 }
            if runFailed {
                outcomes.append(.skipped)
                continue
            }
            do {
                try handler.handle(message, context: HandlerContext(attempt: attempt, logger: logger, message: message))
                outcomes.append(.success)
            } catch {
                outcomes.append(outcome(of: error))
                // Only a run's members wait for each other.
                runFailed = leftInRun > 0
            }
        }
        return WireMessage.encode(outcomes: outcomes, wholeBatch: false)
    }

    /// The job under which the workers serving a per-message handler as `job` take several
    /// messages in one frame (each handled on its own).
    static func chunkJob(_ job: String) -> String {
        job + ".chunk"
    }

    /// A handler's error as it travels back.
    private static func outcome(of error: any Error) -> WireMessage.Outcome {
        .failure(
            type: WireMessage.truncated(String(reflecting: type(of: error)), toBytes: WireMessage.maximumTypeBytes),
            description: WireMessage.truncated("\(error)", toBytes: WireMessage.maximumDescriptionBytes),
            nonRetryable: error is any NonRetryableError)
    }
}

/// An error a handler threw in a worker process: its type and description, as the worker sent
/// them. The dead-letter topic gets the original type in `sluice-error-type`.
public struct WorkerHandlerError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The type of the original error (`String(reflecting:)`).
    public var typeName: String
    /// The original error's description.
    public var description: String
    /// Whether the original error is a ``NonRetryableError``.
    public var isRetryable: Bool
}
