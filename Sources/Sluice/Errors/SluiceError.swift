//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// An error that stops a Sluice consumer, with a sentence naming the problem.
///
/// ```swift
/// do {
///     try await consumer.run()
/// } catch let error as SluiceError where error.code == .handlerFailed {
///     print("stopped at \(error.topic ?? "?")[\(error.partition ?? -1)]@\(error.offset ?? -1): \(error)")
/// }
/// ```
public struct SluiceError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate let name: String
        /// A configuration value is missing or out of range.
        public static let configuration = Code(name: "configuration")
        /// The brokers could not be reached, or a topic does not exist.
        public static let kafka = Code(name: "kafka")
        /// A handler failed and the failure policy said to stop.
        public static let handlerFailed = Code(name: "handlerFailed")
        /// More messages were failing than ``SluiceConfiguration/deadLetterGuard`` allows to
        /// dead-letter.
        public static let deadLetterLimit = Code(name: "deadLetterLimit")
        /// A failed message could not be written to its dead-letter topic: the error is permanent
        /// (record too large, authorization failed), or retriable errors lasted longer than
        /// ``SluiceConfiguration/deadLetterTimeout``.
        public static let deadLetterFailed = Code(name: "deadLetterFailed")
        /// The code's name.
        public var description: String { name }
    }

    /// The kind of failure.
    public var code: Code
    /// What went wrong, as a sentence.
    public var message: String
    /// The error behind this one (a ``KafkaError``, or what a handler threw).
    public var underlying: (any Error)?
    /// The topic of the message concerned, when there is one.
    public var topic: String?
    /// The partition of the message concerned, when there is one.
    public var partition: Int32?
    /// The offset of the message concerned, when there is one.
    public var offset: Int64?

    /// Creates an error.
    public init(
        code: Code,
        message: String,
        underlying: (any Error)? = nil,
        topic: String? = nil,
        partition: Int32? = nil,
        offset: Int64? = nil
    ) {
        self.code = code
        self.message = message
        self.underlying = underlying
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }

    /// The message, then the underlying error.
    public var description: String {
        guard let underlying else { return message }
        return "\(message): \(underlying)"
    }

    static func configuration(_ message: String) -> SluiceError {
        SluiceError(code: .configuration, message: message)
    }
}
