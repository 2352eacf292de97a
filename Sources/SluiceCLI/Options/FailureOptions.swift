//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import ArgumentParser
internal import Sluice

/// The failure-handling options of `sluice run`: retries, the final policy, the dead-letter topic
/// and its guard, and the handler timeout.
struct FailureOptions: ParsableArguments {
    @Option(name: .customLong("max-attempts"), help: "Attempts per message, the first included; 1 turns retries off. (env: SLUICE_MAX_ATTEMPTS)")
    var maxAttempts: Int = RetryPolicy().maxAttempts

    @Option(name: .customLong("retry-backoff"), help: "Wait before the first retry; each further one waits --retry-backoff-multiplier times longer, ±20% jitter. (env: SLUICE_RETRY_BACKOFF)")
    var retryBackoff: DurationArgument = DurationArgument(RetryPolicy().initialBackoff)

    @Option(name: .customLong("retry-backoff-max"), help: "Longest wait between two attempts. (env: SLUICE_RETRY_BACKOFF_MAX)")
    var retryBackoffMax: DurationArgument = DurationArgument(RetryPolicy().maxBackoff)

    @Option(name: .customLong("retry-backoff-multiplier"), help: "Growth of the wait from one retry to the next. (env: SLUICE_RETRY_BACKOFF_MULTIPLIER)")
    var retryBackoffMultiplier: Double = RetryPolicy().multiplier

    @Option(name: .customLong("on-failure"), help: "stop | skip | dead-letter: what a message failing its last attempt leads to. (env: SLUICE_ON_FAILURE)")
    var onFailure: FailurePolicy = .stop

    @Option(name: .customLong("dead-letter-topic"), help: "Dead-letter topic for --on-failure dead-letter; {topic} is the source topic; it must exist. Default: {topic}.dlq. (env: SLUICE_DEAD_LETTER_TOPIC)")
    var deadLetterTopic: String?

    @Option(name: .customLong("dead-letter-max-consecutive"), help: "Stop instead when more than this many messages in a row would be dead-lettered; 0 turns it off. (env: SLUICE_DEAD_LETTER_MAX_CONSECUTIVE)")
    var deadLetterMaxConsecutive: Int = DeadLetterGuard().maxConsecutive

    @Option(name: .customLong("dead-letter-max-ratio"), help: "Stop instead when more than this share of the last --dead-letter-ratio-window messages would be dead-lettered; 1 turns it off. (env: SLUICE_DEAD_LETTER_MAX_RATIO)")
    var deadLetterMaxRatio: Double = DeadLetterGuard().maxRatio

    @Option(name: .customLong("dead-letter-ratio-window"), help: "Recent messages --dead-letter-max-ratio looks at. (env: SLUICE_DEAD_LETTER_RATIO_WINDOW)")
    var deadLetterRatioWindow: Int = DeadLetterGuard().window

    @Option(name: .customLong("dead-letter-timeout"), help: "How long writes to the dead-letter topic may keep failing with retriable errors before the consumer stops with exit 1; a permanent error (too large, not authorized) stops it at once. (env: SLUICE_DEAD_LETTER_TIMEOUT)")
    var deadLetterTimeout: DurationArgument = DurationArgument(.seconds(60))

    @Option(name: .customLong("handler-timeout"), help: "Longest a handler call may take before it counts as a failed attempt (default: none). An async handler is cancelled; a sync handler's thread stays busy until it returns. (env: SLUICE_HANDLER_TIMEOUT)")
    var handlerTimeout: DurationArgument?

    mutating func validate() throws {
        guard maxAttempts >= 1 else { throw ValidationError("--max-attempts must be at least 1, got \(maxAttempts)") }
        if deadLetterTopic != nil, onFailure.deadLetterTopicTemplate == nil {
            throw ValidationError("--dead-letter-topic needs --on-failure dead-letter (it is \(onFailure))")
        }
        if deadLetterTimeout.duration < .zero {
            throw ValidationError("--dead-letter-timeout must not be negative, got \(deadLetterTimeout)")
        }
        if let handlerTimeout, handlerTimeout.duration <= .zero {
            throw ValidationError("--handler-timeout must be positive, got \(handlerTimeout)")
        }
    }

    /// The failure policy, with the dead-letter topic given.
    var failurePolicy: FailurePolicy {
        guard onFailure.deadLetterTopicTemplate != nil else { return onFailure }
        return .deadLetter(topic: deadLetterTopic ?? FailurePolicy.defaultDeadLetterTopic)
    }

    /// Sets the failure settings of `config`; the engine's validation checks the values.
    func apply(to config: inout SluiceConfiguration) {
        config.retry = RetryPolicy(
            maxAttempts: maxAttempts, initialBackoff: retryBackoff.duration, multiplier: retryBackoffMultiplier,
            maxBackoff: retryBackoffMax.duration)
        config.failurePolicy = failurePolicy
        config.deadLetterGuard = DeadLetterGuard(
            maxConsecutive: deadLetterMaxConsecutive, maxRatio: deadLetterMaxRatio, window: deadLetterRatioWindow)
        config.deadLetterTimeout = deadLetterTimeout.duration
        config.handlerTimeout = handlerTimeout?.duration
    }
}
