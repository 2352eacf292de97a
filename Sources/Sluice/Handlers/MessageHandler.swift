//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

public import Logging

/// A synchronous, CPU-bound message handler: Sluice calls it on a dedicated worker thread.
///
/// Sluice calls ``handle(_:context:)`` once per message (more on retries), possibly on several
/// threads at once for different messages, so an implementation must be safe to share
/// (`Sendable`). Returning marks the message done: its offset may be committed once every lower
/// offset of its partition is done too. Throwing hands the message to the failure policy.
///
/// Work here should be CPU-bound (parsing, hashing, scoring, transforming). Blocking I/O also
/// works, since the threads are Sluice's own, but an ``AsyncMessageHandler`` serves I/O better.
///
/// ```swift
/// struct WordCount: MessageHandler {
///     func handle(_ message: KafkaMessage, context: HandlerContext) throws {
///         let words = message.value.split(separator: UInt8(ascii: " ")).count
///         context.logger.debug("counted", metadata: ["words": "\(words)"])
///     }
/// }
/// ```
public protocol MessageHandler: Sendable {
    /// Handles one message.
    /// - Throws: Any error: the message then follows the consumer's failure policy.
    func handle(_ message: KafkaMessage, context: HandlerContext) throws
}

/// An asynchronous, I/O-bound message handler: Sluice runs it under Swift concurrency, bounded
/// by the same in-flight window as synchronous handlers.
///
/// Never do long CPU-bound work here: it would occupy Swift's cooperative thread pool, which has
/// one thread per core. Use a ``MessageHandler`` for that.
///
/// ```swift
/// struct Enrich: AsyncMessageHandler {
///     let client: MyHTTPClient
///     func handle(_ message: KafkaMessage, context: HandlerContext) async throws {
///         try await client.post(message.value)
///     }
/// }
/// ```
public protocol AsyncMessageHandler: Sendable {
    /// Handles one message. Task cancellation means the consumer gave up on it (a timeout).
    /// - Throws: Any error: the message then follows the consumer's failure policy.
    func handle(_ message: KafkaMessage, context: HandlerContext) async throws
}

/// What a handler knows about the call besides the message.
public struct HandlerContext: Sendable {
    /// Which attempt this is, from 1.
    public var attempt: Int
    private var baseLogger: Logger
    /// The message, whose topic, partition and offset are added to ``logger`` only when it is
    /// used (most calls never log). The message itself rather than a copy of its topic's name: a
    /// copy of a name longer than 15 bytes is an atomic reference count on storage that every
    /// message of the topic shares.
    private var source: KafkaMessage?

    /// Creates a context (for tests that call handlers directly).
    public init(attempt: Int = 1, logger: Logger = Logger(label: "sluice.handler")) {
        self.attempt = attempt
        self.baseLogger = logger
    }

    init(attempt: Int, logger: Logger, message: KafkaMessage) {
        self.attempt = attempt
        self.baseLogger = logger
        self.source = message
    }

    /// Makes this the context of another call of the same logger: a chunk's calls share one
    /// context instead of copying the logger (shared storage too) for each message.
    mutating func rebind(attempt: Int, message: KafkaMessage) {
        self.attempt = attempt
        self.source = message
    }

    /// A logger carrying the message's topic, partition and offset as metadata.
    public var logger: Logger {
        get {
            guard let source else { return baseLogger }
            var logger = baseLogger
            logger[metadataKey: "kafka.topic"] = "\(source.topic)"
            logger[metadataKey: "kafka.partition"] = "\(source.partition)"
            logger[metadataKey: "kafka.offset"] = "\(source.offset)"
            return logger
        }
        set {
            baseLogger = newValue
            source = nil
        }
    }
}

/// A ``MessageHandler`` made from a closure.
///
/// ```swift
/// let handler = ClosureMessageHandler { message, _ in print(message.offset) }
/// ```
public struct ClosureMessageHandler: MessageHandler {
    private let body: @Sendable (KafkaMessage, HandlerContext) throws -> Void

    /// Wraps `body`.
    public init(_ body: @escaping @Sendable (KafkaMessage, HandlerContext) throws -> Void) {
        self.body = body
    }

    /// Calls the closure.
    public func handle(_ message: KafkaMessage, context: HandlerContext) throws {
        try body(message, context)
    }
}

/// An ``AsyncMessageHandler`` made from a closure.
///
/// ```swift
/// let handler = ClosureAsyncMessageHandler { message, _ in try await Task.sleep(for: .milliseconds(1)) }
/// ```
public struct ClosureAsyncMessageHandler: AsyncMessageHandler {
    private let body: @Sendable (KafkaMessage, HandlerContext) async throws -> Void

    /// Wraps `body`.
    public init(_ body: @escaping @Sendable (KafkaMessage, HandlerContext) async throws -> Void) {
        self.body = body
    }

    /// Calls the closure.
    public func handle(_ message: KafkaMessage, context: HandlerContext) async throws {
        try await body(message, context)
    }
}
