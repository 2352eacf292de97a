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
/// A worker that dies (a trap, a signal, an exit) fails only the message it was running, with a
/// `ProcessPoolError` naming the signal or status; the pool starts another worker (with backoff)
/// and the retry and failure policies decide, so a poison message is retried on a fresh worker,
/// then dead-lettered. With ``SluiceConfiguration/handlerTimeout`` a call past its deadline has
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

    /// The job name the workers serve.
    public static let job = "sluice.handle"

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
        try ProcessPoolWorker.serve(jobs: [
            job: { bytes in
                let (message, attempt) = try WireMessage.decode(bytes)
                do {
                    try handler.handle(message, context: HandlerContext(attempt: attempt, logger: logger, message: message))
                    return WireMessage.encode(.success)
                } catch {
                    return WireMessage.encode(.failure(
                        type: WireMessage.truncated(String(reflecting: type(of: error)), toBytes: WireMessage.maximumTypeBytes),
                        description: WireMessage.truncated("\(error)", toBytes: WireMessage.maximumDescriptionBytes),
                        nonRetryable: error is any NonRetryableError))
                }
            }
        ])
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
