//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import Foundation

/// What the consumer does with a message whose handler still fails after its last attempt
/// (see ``RetryPolicy``).
///
/// Whatever the policy, a failed message's offset is committed only once the policy has dealt with
/// it: skipped, or written to the dead-letter topic and acknowledged.
///
/// ```swift
/// config.failurePolicy = .deadLetter(topic: "{topic}.dlq")
/// ```
public struct FailurePolicy: Hashable, Sendable, CustomStringConvertible {
    enum Kind: Hashable, Sendable {
        case stop
        case skip
        case deadLetter(topic: String)
    }

    let kind: Kind

    /// The default dead-letter topic: the source topic's name with `.dlq` appended.
    public static let defaultDeadLetterTopic = "{topic}.dlq"

    /// Stop consuming: finish what is in flight, commit nothing past the failed offset, and make
    /// ``SluiceConsumer/run()`` throw the handler's error. The safe default.
    public static let stop = FailurePolicy(kind: .stop)
    /// Log the failure with topic, partition and offset, then treat the message as done.
    public static let skip = FailurePolicy(kind: .skip)

    /// Write the message to a dead-letter topic, then treat it as done.
    ///
    /// The original key, value and headers are written with headers `sluice-error`,
    /// `sluice-error-type`, `sluice-source-topic`, `sluice-source-partition`,
    /// `sluice-source-offset`, `sluice-attempts` and `sluice-failed-at` added. The offset is
    /// committed only once the write is acknowledged; a failed write is retried (with the retry
    /// policy's backoff), never dropped. ``SluiceConfiguration/deadLetterGuard`` stops the consumer
    /// instead when too many messages fail.
    ///
    /// - Parameter topic: The topic to write to; `{topic}` stands for the source topic's name.
    ///   It must exist when the consumer starts.
    public static func deadLetter(topic: String = defaultDeadLetterTopic) -> FailurePolicy {
        FailurePolicy(kind: .deadLetter(topic: topic))
    }

    /// The dead-letter topic template, for the dead-letter policy.
    public var deadLetterTopicTemplate: String? {
        if case .deadLetter(let topic) = kind { return topic }
        return nil
    }

    /// The dead-letter topic of messages from `sourceTopic`, for the dead-letter policy.
    public func deadLetterTopic(for sourceTopic: String) -> String? {
        deadLetterTopicTemplate?.replacingOccurrences(of: "{topic}", with: sourceTopic)
    }

    /// `stop`, `skip` or `dead-letter` (with its topic when not the default).
    public var description: String {
        switch kind {
        case .stop: "stop"
        case .skip: "skip"
        case .deadLetter(let topic): topic == Self.defaultDeadLetterTopic ? "dead-letter" : "dead-letter to \(topic)"
        }
    }

    /// Parses `stop`, `skip` or `dead-letter` (to the default topic).
    public init?(_ string: String) {
        switch string {
        case "stop": self = .stop
        case "skip": self = .skip
        case "dead-letter": self = .deadLetter()
        default: return nil
        }
    }

    private init(kind: Kind) {
        self.kind = kind
    }

    /// Checks the dead-letter topic against the consumed topics.
    /// - Throws: ``SluiceError`` (``SluiceError/Code/configuration``) naming the problem.
    func validate(topics: [String]) throws {
        guard let template = deadLetterTopicTemplate else { return }
        guard !template.isEmpty else { throw SluiceError.configuration("the dead-letter topic is empty") }
        for topic in topics where deadLetterTopic(for: topic) == topic {
            throw SluiceError.configuration(
                "the dead-letter topic of \(topic) is \(topic) itself: failed messages would be consumed again")
        }
    }
}
