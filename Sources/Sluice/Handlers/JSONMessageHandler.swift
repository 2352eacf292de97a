//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

public import Foundation

/// A synchronous handler of JSON payloads, decoded into a `Decodable` type before it is called.
///
/// A payload that does not decode never reaches ``handle(_:message:context:)``: the message fails
/// with a ``PayloadDecodingError`` naming the type, the message and the decoding problem, and
/// follows the consumer's failure policy like any other failure.
///
/// ```swift
/// struct Order: Decodable, Sendable { var id: String; var total: Double }
///
/// struct AuditOrders: JSONMessageHandler {
///     func handle(_ order: Order, message: KafkaMessage, context: HandlerContext) throws {
///         context.logger.info("order \(order.id): \(order.total)")
///     }
/// }
/// ```
public protocol JSONMessageHandler: MessageHandler {
    /// The payload type.
    associatedtype Payload: Decodable & Sendable

    /// Handles one decoded payload.
    func handle(_ payload: Payload, message: KafkaMessage, context: HandlerContext) throws

    /// The decoder used for payloads. Default: a plain `JSONDecoder`.
    func makeDecoder() -> JSONDecoder
}

extension JSONMessageHandler {
    /// A plain `JSONDecoder`.
    public func makeDecoder() -> JSONDecoder { JSONDecoder() }

    /// Decodes the value as ``Payload`` and calls ``handle(_:message:context:)``.
    /// - Throws: ``PayloadDecodingError`` when the value does not decode, or the handler's error.
    public func handle(_ message: KafkaMessage, context: HandlerContext) throws {
        let payload: Payload
        do {
            payload = try makeDecoder().decode(Payload.self, from: message.withUnsafeValueBytes { Data($0) })
        } catch {
            throw PayloadDecodingError(type: "\(Payload.self)", message: message, underlying: error)
        }
        try handle(payload, message: message, context: context)
    }
}

/// A message whose payload could not be decoded into the handler's type.
public struct PayloadDecodingError: NonRetryableError, Sendable, CustomStringConvertible {
    /// The type the payload should have decoded into.
    public var type: String
    /// `topic[partition]@offset` of the message.
    public var source: String
    /// The decoder's own explanation.
    public var reason: String

    /// Creates the error for `message`.
    public init(type: String, message: KafkaMessage, underlying: any Error) {
        self.type = type
        self.source = message.description
        self.reason = Self.explain(underlying)
    }

    /// e.g. `cannot decode Order from orders[2]@17: missing key 'total'`.
    public var description: String { "cannot decode \(type) from \(source): \(reason)" }

    private static func explain(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            return keys.isEmpty ? "" : " at \(keys.joined(separator: "."))"
        }
        switch error {
        case .keyNotFound(let key, let context): return "missing key '\(key.stringValue)'\(path(context))"
        case .typeMismatch(let type, let context): return "expected \(type)\(path(context)): \(context.debugDescription)"
        case .valueNotFound(let type, let context): return "null where \(type) was expected\(path(context))"
        case .dataCorrupted(let context): return "invalid JSON\(path(context)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}
