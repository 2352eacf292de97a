//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import _SluiceTime

/// One route's settings, as the state machine needs them: the consumer's, overridden by the
/// route's own (``SluiceRoute``). Without routes, the consumer has one route serving every topic.
struct RouteSettings: Sendable {
    /// The route's name, for logs and metrics (`consumer` without routes).
    var name: String
    var ordering: OrderingMode
    var retry: RetryPolicy
    var failurePolicy: FailurePolicy
    /// Its share of the window (message count), if it has one.
    var maxInFlightMessages: Int?
    /// How its batches form; `nil` for a per-message handler.
    var batch: BatchLimits?
    /// The handler deadline the machine enforces itself (threads and tasks); `nil` when there is
    /// none or the worker processes enforce it.
    var handlerTimeout: Int64?
    /// Whether a lane's queued messages start together as a lane run, on one worker, in order,
    /// up to ``ConsumerStateMachine/Settings/laneRunLimit``. The engine sets it for per-message
    /// handlers without a deadline, on threads or in worker processes that take several messages
    /// to a frame, where a run can stop at its first failure and hand the rest back un-run.
    var runsLanes = false

    /// The limits of a batch route's batches.
    struct BatchLimits: Sendable {
        var maxSize: Int
        var maxBytes: Int
        /// Nanoseconds.
        var maxDelay: Int64
    }

    init(_ configuration: SluiceConfiguration, route: SluiceRoute?, batches: Bool, isolated: Bool) {
        name = route?.name ?? "consumer"
        ordering = route?.ordering ?? configuration.ordering
        retry = route?.retry ?? configuration.retry
        failurePolicy = route?.failurePolicy ?? configuration.failurePolicy
        maxInFlightMessages = route?.maxInFlightMessages
        batch = batches
            ? BatchLimits(
                maxSize: route?.maxBatchSize ?? configuration.maxBatchSize,
                maxBytes: route?.maxBatchBytes ?? configuration.maxBatchBytes,
                maxDelay: (route?.maxBatchDelay ?? configuration.maxBatchDelay).nanoseconds)
            : nil
        handlerTimeout = isolated ? nil : configuration.handlerTimeout?.nanoseconds
    }
}
