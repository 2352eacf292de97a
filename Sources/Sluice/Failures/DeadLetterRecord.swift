//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import Foundation

/// The record a failed message becomes in its dead-letter topic.
enum DeadLetterRecord {
    /// The headers a dead-lettered message carries besides its own.
    enum Header {
        static let error = "sluice-error"
        static let errorType = "sluice-error-type"
        static let sourceTopic = "sluice-source-topic"
        static let sourcePartition = "sluice-source-partition"
        static let sourceOffset = "sluice-source-offset"
        static let attempts = "sluice-attempts"
        static let failedAt = "sluice-failed-at"

        static let all: Set<String> = [error, errorType, sourceTopic, sourcePartition, sourceOffset, attempts, failedAt]
    }

    /// The record written for `failed`: its key, value (a tombstone stays a tombstone) and headers,
    /// plus the `sluice-*` headers (which replace any the message already had, e.g. when it comes
    /// from a dead-letter topic). The error's text is shown with `redactor`'s secrets masked.
    static func make(
        for failed: KafkaMessage, topic: String, error: any Error, attempts: Int, failedAt: Date,
        redactor: SecretRedactor = SecretRedactor()
    ) -> KafkaProducerMessage {
        var headers = failed.headers.filter { !Header.all.contains($0.name) }
        // A worker process's error is named by its original type.
        let errorType = (error as? WorkerHandlerError)?.typeName ?? String(reflecting: type(of: error))
        headers += [
            KafkaHeader(name: Header.error, string: redactor.redact("\(error)")),
            KafkaHeader(name: Header.errorType, string: errorType),
            KafkaHeader(name: Header.sourceTopic, string: failed.topic),
            KafkaHeader(name: Header.sourcePartition, string: "\(failed.partition)"),
            KafkaHeader(name: Header.sourceOffset, string: "\(failed.offset)"),
            KafkaHeader(name: Header.attempts, string: "\(attempts)"),
            KafkaHeader(name: Header.failedAt, string: failedAt.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))),
        ]
        return KafkaProducerMessage(
            topic: topic, key: failed.key, value: failed.isTombstone ? nil : failed.value, headers: headers)
    }
}
