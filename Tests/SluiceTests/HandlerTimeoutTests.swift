//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Sluice
import Synchronization
import Testing

extension EngineIntegrationTests {
    /// Handler calls that overrun ``SluiceConfiguration/handlerTimeout`` take the failure
    /// policy's path, for async and sync handlers.
    @Suite(.timeLimit(.minutes(5)), .serialized)
    struct HandlerTimeoutTests {
        @Test func anAsyncHandlerPastItsDeadlineIsCancelledAndDeadLettered() async throws {
            let topic = "timeout-async"
            let group = "timeout-async"
            let partitions = 2
            let total = 500
            let broker = try EngineFixture.broker(topic: topic, partitions: partitions)
            try EngineFixture.produce(to: topic, on: broker, count: total)
            var config = try EngineFixture.deadLetterConfiguration(broker: broker, group: group, topic: topic, maxAttempts: 2)
            config.handlerTimeout = .milliseconds(300)
            let hanging = Set((0..<total).filter { $0 % 100 == 11 })
            let log = AttemptLog()
            let cancelled = Mutex(0)
            let consumer = try SluiceConsumer(
                configuration: config,
                asyncHandler: ClosureAsyncMessageHandler { message, context in
                    log.attempt(message, context.attempt)
                    if hanging.contains(HandledLog.id(of: message)) {
                        do {
                            try await Task.sleep(for: .seconds(30))
                        } catch {
                            cancelled.withLock { $0 += 1 }
                            throw error
                        }
                    }
                    log.success(message)
                },
                logger: EngineFixture.quietLogger)
            let run = EngineFixture.start(consumer)
            let outcome = try await EngineFixture.finish(
                consumer, run, broker: broker, group: group, topic: topic, partitions: partitions
            ) { log.succeeded.count >= total - hanging.count }
            let (allDone, committed, end) = (outcome.allDone, outcome.committed, outcome.end)
            let stats = outcome.stats

            #expect(allDone)
            #expect(committed == end)
            #expect(stats.timedOut == hanging.count * 2, "each hanging message timed out on both attempts")
            #expect(cancelled.withLock { $0 } == hanging.count * 2, "and each timed-out call was cancelled")
            let deadLetters = try EngineFixture.readAll(topic: "\(topic).dlq", broker: broker, count: hanging.count)
            #expect(Set(deadLetters.map(HandledLog.id(of:))) == hanging)
            #expect(deadLetters.count == hanging.count)
            for letter in deadLetters {
                let errorType = letter.headers.string(named: "sluice-error-type") ?? ""
                #expect(errorType == "Sluice.HandlerTimeoutError", "\(errorType)")
                let error = letter.headers.string(named: "sluice-error") ?? ""
                #expect(error.contains("did not finish within 0.3 seconds (attempt 2)"), "\(error)")
            }
        }

        @Test func aSyncHandlerPastItsDeadlineIsRetriedWhileItsThreadFinishes() async throws {
            let topic = "timeout-sync"
            let group = "timeout-sync"
            let partitions = 2
            let total = 600
            let broker = try EngineFixture.broker(topic: topic, partitions: partitions)
            try EngineFixture.produce(to: topic, on: broker, count: total)
            var config = EngineFixture.configuration(broker: broker, group: group, topic: topic)
            config.workers = 2
            config.handlerTimeout = .milliseconds(200)
            config.retry = RetryPolicy(maxAttempts: 2, initialBackoff: .milliseconds(10), jitter: 0)
            config.failurePolicy = .stop
            // The first attempt of these spins for 1 s; their second attempt is quick.
            let slow = Set((0..<total).filter { $0 % 200 == 17 })
            let log = AttemptLog()
            let consumer = try SluiceConsumer(
                configuration: config,
                handler: ClosureMessageHandler { message, context in
                    log.attempt(message, context.attempt)
                    if slow.contains(HandledLog.id(of: message)), context.attempt == 1 {
                        EngineFixture.spin(for: .seconds(1))
                    }
                    log.success(message)
                },
                logger: EngineFixture.quietLogger)
            let run = EngineFixture.start(consumer)
            // The late successes of first attempts count in `succeeded` too: wait for all ids.
            let outcome = try await EngineFixture.finish(
                consumer, run, broker: broker, group: group, topic: topic, partitions: partitions
            ) { log.succeeded.count >= total }
            let (allDone, committed, end) = (outcome.allDone, outcome.committed, outcome.end)
            let stats = outcome.stats

            #expect(allDone)
            #expect(committed == end)
            #expect(stats.timedOut == slow.count, "each slow first attempt timed out")
            #expect(stats.retried == slow.count)
            #expect(stats.failed == 0)
            #expect(stats.completed == total, "a late result of a timed-out call is not counted again")
            let attempts = log.attempts
            let slowAttempts = Set(slow.map { attempts[$0] ?? [] })
            #expect(slowAttempts == [[1, 2]], "slow messages ran twice: \(slowAttempts)")
        }

        @Test func aTimedOutSyncHandlerUnderTheStopPolicyStopsAtItsOffset() async throws {
            let topic = "timeout-stop"
            let group = "timeout-stop"
            let total = 200
            let broker = try EngineFixture.broker(topic: topic, partitions: 1)
            try EngineFixture.produce(to: topic, on: broker, count: total)
            var config = EngineFixture.configuration(broker: broker, group: group, topic: topic)
            config.workers = 1
            config.ordering = .partition
            config.handlerTimeout = .milliseconds(200)
            config.retry = .none
            config.failurePolicy = .stop
            let consumer = try SluiceConsumer(
                configuration: config,
                handler: ClosureMessageHandler { message, _ in
                    if HandledLog.id(of: message) == 50 { EngineFixture.spin(for: .seconds(1)) }
                },
                logger: EngineFixture.quietLogger)
            let outcome = await EngineFixture.start(consumer).result
            guard case .failure(let error) = outcome else {
                Issue.record("run() returned without an error")
                return
            }
            let sluiceError = try #require(error as? SluiceError)
            #expect(sluiceError.code == .handlerFailed)
            #expect(sluiceError.offset == 50)
            #expect(sluiceError.underlying is HandlerTimeoutError)
            let (committed, _) = try EngineFixture.committedAndEnd(broker: broker, group: group, topic: topic, partitions: 1)
            #expect(committed[0] == 50)
        }
    }
}
