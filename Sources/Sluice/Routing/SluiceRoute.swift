//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Topics (names or patterns) and the handler that serves them, with their own ordering,
/// failure policy and dead-letter topic, and optionally their own share of the window and their
/// own worker threads, so that one slow route cannot starve another.
///
/// A consumer with routes (``SluiceConfiguration/routes``) is still one consumer: one group
/// membership, one poll loop, one commit path. A topic goes to the first route that matches it.
///
/// ```swift
/// var config = SluiceConfiguration(brokers: brokers, groupID: "shop", topics: [])
/// config.routes = [
///     SluiceRoute(topics: ["orders"], handler: .sync(ScoreOrder())),
///     SluiceRoute(topics: ["audit.*"], handler: .batch(ArchiveAudit()), ordering: .unordered,
///                 failurePolicy: .deadLetter(topic: "dlq.{topic}"), maxInFlightMessages: 200, workers: 1),
/// ]
/// let consumer = try SluiceConsumer(configuration: config)
/// ```
public struct SluiceRoute: Sendable {
    /// The route's name, for logs and metrics. Default: its first topic or pattern.
    public var name: String
    /// The topics it serves: names, or patterns with `*`.
    public var topics: [TopicPattern]
    /// The handler.
    public var handler: SluiceHandler
    /// Its ordering; `nil`: the consumer's ``SluiceConfiguration/ordering``.
    public var ordering: OrderingMode?
    /// Its failure policy (with its dead-letter topic); `nil`: the consumer's.
    public var failurePolicy: FailurePolicy?
    /// Its retries; `nil`: the consumer's.
    public var retry: RetryPolicy?
    /// Most of its messages in flight at once: its share of the consumer's window. At that
    /// share its partitions alone are paused, and other routes keep flowing. `nil`: no share of
    /// its own (bounded by the consumer's window only).
    public var maxInFlightMessages: Int?
    /// Worker threads of its own for a synchronous handler; `nil`: it shares the consumer's
    /// ``SluiceConfiguration/workers``.
    public var workers: Int?
    /// Its batch limits (batch handlers only); `nil`: the consumer's.
    public var maxBatchSize: Int?
    /// See ``maxBatchSize``.
    public var maxBatchBytes: Int?
    /// See ``maxBatchSize``.
    public var maxBatchDelay: Duration?

    /// Creates a route; every setting not given is the consumer's.
    public init(
        name: String? = nil, topics: [TopicPattern], handler: SluiceHandler, ordering: OrderingMode? = nil,
        failurePolicy: FailurePolicy? = nil, retry: RetryPolicy? = nil, maxInFlightMessages: Int? = nil,
        workers: Int? = nil, maxBatchSize: Int? = nil, maxBatchBytes: Int? = nil, maxBatchDelay: Duration? = nil
    ) {
        self.name = name ?? topics.first?.text ?? ""
        self.topics = topics
        self.handler = handler
        self.ordering = ordering
        self.failurePolicy = failurePolicy
        self.retry = retry
        self.maxInFlightMessages = maxInFlightMessages
        self.workers = workers
        self.maxBatchSize = maxBatchSize
        self.maxBatchBytes = maxBatchBytes
        self.maxBatchDelay = maxBatchDelay
    }

    /// Whether it serves `topic`.
    public func matches(_ topic: String) -> Bool {
        topics.contains { $0.matches(topic) }
    }
}
