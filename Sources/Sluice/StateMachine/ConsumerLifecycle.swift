//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Where a consumer is in its life: the one place that says whether it takes messages, drains, or
/// has stopped, and why.
///
/// ```
/// idle ──run()──▶ starting ──connected──▶ running ──stop / failure / message limit──▶ draining ──drained──▶ closing ──▶ stopped
///   │                 │                      └────────────────────── immediate stop ──────────────────────▶┘
///   └─stop──▶ stoppedBeforeStart            └──stop / failure──▶ closing (nothing to drain yet)
/// ```
enum ConsumerLifecycle: Sendable {
    /// `run()` has not been called.
    case idle
    /// Stopped before `run()` was called: `run()` returns at once.
    case stoppedBeforeStart
    /// `run()` was called: connecting, checking topics, subscribing.
    case starting
    /// Consuming.
    case running
    /// Asked to stop (or stopping on a failure): nothing new is admitted or started; in-flight
    /// handlers finish until the drain deadline.
    case draining(StopRequest)
    /// Drained (or out of time): the final commit and the close, each bounded by the deadline.
    case closing(StopRequest)
    /// `run()` is over, with the error that stopped the consumer, if any.
    case stopped(failure: SluiceError?)

    /// How a consumer is asked to stop.
    enum StopMode: Int, Comparable, Sendable {
        /// Finish in-flight work up to the drain timeout, commit, close.
        case graceful
        /// Commit what is done and close, within a short budget, without waiting for in-flight work.
        case immediate

        static func < (lhs: StopMode, rhs: StopMode) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// A stop on its way: how, why, and by when each phase must end.
    struct StopRequest: Sendable {
        var mode: StopMode
        /// The error that stops the consumer (failure policy `stop`, a dead-letter write that cannot
        /// succeed, a fatal Kafka error), or `nil` for a requested stop.
        var failure: SluiceError?
        /// When draining gives up on in-flight handlers (nanoseconds of the engine's clock).
        var drainDeadline: Int64
        /// When the final commit gives up, half way to the close deadline (so that the close, which
        /// lets the group reassign the partitions at once, keeps its share); set when closing begins.
        var commitDeadline: Int64?
        /// When the close gives up; set when closing begins.
        var closeDeadline: Int64?
    }

    /// The stop on its way, while draining or closing.
    var stopRequest: StopRequest? {
        switch self {
        case .draining(let request), .closing(let request): request
        default: nil
        }
    }

    /// Whether messages are taken and handlers started.
    var isRunning: Bool {
        if case .running = self { return true }
        return false
    }

    /// Whether a stop was requested (or a failure stops the consumer) and `run()` has not returned.
    var isStopping: Bool { stopRequest != nil }

    /// Whether an immediate stop was requested.
    var isImmediate: Bool { stopRequest?.mode == .immediate }

    /// The error that stops (or stopped) the consumer.
    var failure: SluiceError? {
        switch self {
        case .draining(let request), .closing(let request): request.failure
        case .stopped(let failure): failure
        default: nil
        }
    }
}
