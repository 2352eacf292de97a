//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

@testable import Sluice
import Testing

/// The retry policy's backoff, the dead-letter guard's limits, and the failure settings'
/// validation, without a broker.
@Suite struct FailureSettingsTests {
    @Test func backoffGrowsByTheMultiplierIsCappedAndSpreadByTheJitter() {
        let policy = RetryPolicy(maxAttempts: 10, initialBackoff: .milliseconds(100), multiplier: 2, maxBackoff: .seconds(1), jitter: 0.2)
        #expect(policy.backoff(after: 1, random: 0.5) == .milliseconds(100))
        #expect(policy.backoff(after: 2, random: 0.5) == .milliseconds(200))
        #expect(policy.backoff(after: 3, random: 0.5) == .milliseconds(400))
        #expect(policy.backoff(after: 5, random: 0.5) == .seconds(1), "capped at the maximum")
        #expect(policy.backoff(after: 60, random: 0.5) == .seconds(1), "no overflow for late attempts")
        #expect(policy.backoff(after: 2, random: 0) == .milliseconds(160), "-20%")
        #expect(policy.backoff(after: 2, random: 0.999_999) <= .milliseconds(240), "+20%")
        #expect(policy.backoff(after: 2, random: 0.999_999) > .milliseconds(239))
        #expect(policy.backoff(after: 9, random: 1) == .seconds(1), "the jitter never passes the maximum")
        for attempt in 1...12 {
            let delay = policy.backoff(after: attempt)
            #expect(delay >= .milliseconds(80) && delay <= .seconds(1), "attempt \(attempt): \(delay)")
        }
    }

    @Test func guardRefusesTheRunAfterItsLimitAndResetsOnASuccess() {
        var state = DeadLetterGuardState(DeadLetterGuard(maxConsecutive: 3, maxRatio: 1, window: 10))
        for _ in 0..<3 {
            #expect(state.refusal() == nil)
            state.record(deadLettered: true)
        }
        #expect(state.refusal() == "4 messages in a row would be dead-lettered (limit 3)")
        state.record(deadLettered: false)
        #expect(state.refusal() == nil, "a success ends the run")
    }

    @Test func guardRefusesPastItsShareOfTheRecentWindowOnly() {
        var state = DeadLetterGuardState(DeadLetterGuard(maxConsecutive: 0, maxRatio: 0.3, window: 10))
        // 3 of 10 may be dead-lettered; alternate so that no run limit applies.
        for deadLettered in [false, false, true, false, true, false, true, false, false, false] {
            state.record(deadLettered: deadLettered)
        }
        #expect(state.refusal() == "4 of the last 10 messages would be dead-lettered (limit 30%)")
        // Ten successes later the old failures have left the window.
        for _ in 0..<10 { state.record(deadLettered: false) }
        #expect(state.refusal() == nil)
    }

    @Test func guardDropsTheOldestOutcomeWhenTheWindowIsFull() {
        var state = DeadLetterGuardState(DeadLetterGuard(maxConsecutive: 0, maxRatio: 0.2, window: 5))
        state.record(deadLettered: true)
        for _ in 0..<4 { state.record(deadLettered: false) }
        // The next outcome pushes the dead-lettered one out: 1 of 5 is within 20%.
        #expect(state.refusal() == nil)
    }

    @Test func failurePolicyParsesItsNamesAndResolvesTheTopicTemplate() throws {
        #expect(FailurePolicy("stop") == .stop)
        #expect(FailurePolicy("skip") == .skip)
        #expect(FailurePolicy("dead-letter") == .deadLetter())
        #expect(FailurePolicy("dlq") == nil)
        #expect(FailurePolicy.deadLetter().deadLetterTopic(for: "orders") == "orders.dlq")
        #expect(FailurePolicy.deadLetter(topic: "failed-{topic}-v2").deadLetterTopic(for: "orders") == "failed-orders-v2")
        #expect(FailurePolicy.deadLetter(topic: "all-failures").deadLetterTopic(for: "orders") == "all-failures")
        #expect(FailurePolicy.skip.deadLetterTopic(for: "orders") == nil)
    }

    @Test func badFailureSettingsAreRejectedByName() {
        func rejection(_ change: (inout SluiceConfiguration) -> Void) -> String {
            var config = SluiceConfiguration(brokers: ["127.0.0.1:9092"], groupID: "g", topics: ["orders"])
            change(&config)
            do {
                try config.validate()
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        let cases: [(String, String)] = [
            (rejection { $0.retry.maxAttempts = 0 }, "max attempts must be at least 1, got 0"),
            (rejection { $0.retry.maxBackoff = .milliseconds(10) }, "the maximum retry backoff 0.01 seconds is below the initial one 0.1 seconds"),
            (rejection { $0.retry.jitter = 2 }, "the retry jitter must be in 0...1, got 2.0"),
            (rejection { $0.failurePolicy = .deadLetter(topic: "{topic}") }, "the dead-letter topic of orders is orders itself"),
            (rejection { $0.deadLetterGuard.maxRatio = 0 }, "the dead-letter guard's ratio must be in (0, 1], got 0.0"),
            (rejection { $0.handlerTimeout = .zero }, "the handler timeout must be positive"),
        ]
        for (message, expected) in cases {
            #expect(message.contains(expected), "\(message)")
        }
        #expect(rejection { $0.failurePolicy = .deadLetter() } == "accepted")
    }
}
