//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import Logging
internal import Sluice

/// A log handler that masks secrets (``SecretRedactor``) in every message and metadata value
/// before another handler writes them.
///
/// Everything the runner logs goes through it: its own lines, the engine's, the handlers', and
/// librdkafka's (which quotes, for one, a malformed `sasl.oauthbearer.config` in full).
struct RedactingLogHandler: LogHandler {
    private var wrapped: any LogHandler
    let redactor: SecretRedactor

    init(wrapping wrapped: any LogHandler, redactor: SecretRedactor) {
        self.wrapped = wrapped
        self.redactor = redactor
    }

    var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }

    var metadata: Logger.Metadata {
        get { wrapped.metadata }
        set { wrapped.metadata = newValue.mapValues(redact) }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { wrapped.metadataProvider }
        set { wrapped.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { wrapped[metadataKey: key] }
        set { wrapped[metadataKey: key] = newValue.map(redact) }
    }

    func log(event: LogEvent) {
        var event = event
        event.message = Logger.Message(stringLiteral: redactor.redact(event.message.description))
        event.metadata = event.metadata?.mapValues(redact)
        if let error = event.error {
            event.error = RedactedError(description: redactor.redact("\(error)"))
        }
        wrapped.log(event: event)
    }

    /// An error of a log event, as its masked description.
    private struct RedactedError: Error, CustomStringConvertible {
        var description: String
    }

    private func redact(_ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        switch value {
        case .string(let text): .string(redactor.redact(text))
        case .stringConvertible(let convertible): .string(redactor.redact(convertible.description))
        case .dictionary(let dictionary): .dictionary(dictionary.mapValues(redact))
        case .array(let array): .array(array.map(redact))
        }
    }
}
