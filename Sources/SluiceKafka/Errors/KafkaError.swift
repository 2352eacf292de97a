//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import CRdKafka

/// An error from Kafka or from librdkafka, with librdkafka's own code and text and the context in
/// which it happened.
///
/// Classify errors with ``isRetriable`` (try again later: a broker is down, a leader moved, a
/// queue is full) and ``isFatal`` (the client instance is unusable and must be recreated).
///
/// ```swift
/// do {
///     try consumer.commit(offsets, mode: .sync)
/// } catch let error as KafkaError where error.isRetriable {
///     // the commit point is kept; the next commit carries it again
/// }
/// ```
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Backing: Hashable, Sendable {
            case rdKafka
            case configuration
            case invalidArgument
            case timedOut
            case closed
        }

        fileprivate let backing: Backing

        /// librdkafka reported the error (see ``KafkaError/rdKafkaCode``).
        public static let rdKafka = Code(backing: .rdKafka)
        /// A configuration property is unknown or has a bad value.
        public static let configuration = Code(backing: .configuration)
        /// An argument was rejected before it reached librdkafka.
        public static let invalidArgument = Code(backing: .invalidArgument)
        /// An operation did not finish within its timeout.
        public static let timedOut = Code(backing: .timedOut)
        /// The client was already closed.
        public static let closed = Code(backing: .closed)

        /// The code's name.
        public var description: String {
            switch backing {
            case .rdKafka: "rdKafka"
            case .configuration: "configuration"
            case .invalidArgument: "invalidArgument"
            case .timedOut: "timedOut"
            case .closed: "closed"
            }
        }
    }

    /// The kind of failure.
    public var code: Code
    /// librdkafka's `rd_kafka_resp_err_t` value, when librdkafka produced the error.
    public var rdKafkaCode: Int32?
    /// A sentence describing the failure, including librdkafka's own text where there is one.
    public var message: String
    /// The topic involved, when known.
    public var topic: String?
    /// The partition involved, when known.
    public var partition: Int32?
    /// The offset involved, when known.
    public var offset: Int64?
    /// Whether retrying the same operation later may succeed.
    public var isRetriable: Bool
    /// Whether the client instance is no longer usable.
    public var isFatal: Bool
    /// Where the error was raised (`#fileID`).
    public var file: String
    /// Where the error was raised (`#line`).
    public var line: Int

    /// Creates an error. Most errors come from librdkafka through the static constructors.
    public init(
        code: Code,
        message: String,
        rdKafkaCode: Int32? = nil,
        topic: String? = nil,
        partition: Int32? = nil,
        offset: Int64? = nil,
        isRetriable: Bool = false,
        isFatal: Bool = false,
        file: String = #fileID,
        line: Int = #line
    ) {
        self.code = code
        self.message = message
        self.rdKafkaCode = rdKafkaCode
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.isRetriable = isRetriable
        self.isFatal = isFatal
        self.file = file
        self.line = line
    }

    /// librdkafka's symbolic name of ``rdKafkaCode`` (e.g. `_TRANSPORT`, `UNKNOWN_TOPIC_OR_PART`).
    public var rdKafkaName: String? {
        rdKafkaCode.map { String(cString: rd_kafka_err2name(rd_kafka_resp_err_t($0))) }
    }

    /// The message with its context, e.g. `orders[3]@1200: Broker: Unknown topic or partition (UNKNOWN_TOPIC_OR_PART)`.
    public var description: String {
        var context = ""
        if let topic {
            context = topic
            if let partition { context += "[\(partition)]" }
            if let offset { context += "@\(offset)" }
            context += ": "
        }
        var text = context + message
        if let name = rdKafkaName { text += " (\(name))" }
        return text
    }
}

extension KafkaError {
    /// An error for a librdkafka response code, with librdkafka's text.
    static func rdKafka(
        _ error: rd_kafka_resp_err_t,
        _ action: String? = nil,
        topic: String? = nil,
        partition: Int32? = nil,
        offset: Int64? = nil,
        file: String = #fileID,
        line: Int = #line
    ) -> KafkaError {
        let text = String(cString: rd_kafka_err2str(error))
        return KafkaError(
            code: error == RD_KAFKA_RESP_ERR__TIMED_OUT ? .timedOut : .rdKafka,
            message: action.map { "\($0): \(text)" } ?? text,
            rdKafkaCode: Int32(error.rawValue),
            topic: topic,
            partition: partition,
            offset: offset,
            isRetriable: Self.isRetriable(error),
            isFatal: error == RD_KAFKA_RESP_ERR__FATAL,
            file: file,
            line: line
        )
    }

    /// A configuration error carrying librdkafka's message for `key`.
    static func configuration(_ message: String, file: String = #fileID, line: Int = #line) -> KafkaError {
        KafkaError(code: .configuration, message: message, file: file, line: line)
    }

    /// The client was closed before the call.
    static func closed(_ what: String, file: String = #fileID, line: Int = #line) -> KafkaError {
        KafkaError(code: .closed, message: "\(what) is closed", file: file, line: line)
    }

    /// librdkafka's own list of transient conditions, plus the broker errors Kafka marks retriable.
    private static func isRetriable(_ error: rd_kafka_resp_err_t) -> Bool {
        switch error {
        case RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR__QUEUE_FULL,
            RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT,
            RD_KAFKA_RESP_ERR__WAIT_COORD, RD_KAFKA_RESP_ERR__RESOLVE,
            RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION,
            RD_KAFKA_RESP_ERR_NOT_COORDINATOR, RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
            RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
            RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
            RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND, RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS,
            RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR,
            RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
            true
        default:
            false
        }
    }
}
