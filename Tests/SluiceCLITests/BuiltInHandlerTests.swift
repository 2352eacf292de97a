//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Sluice
@testable import SluiceCLI
import SluiceDemoHandlers
import Testing

struct BuiltInHandlerTests {
    private func message(_ value: String, offset: Int64 = 17) -> KafkaMessage {
        KafkaMessage(topic: "orders", partition: 2, offset: offset, key: Array("k".utf8), value: Array(value.utf8))
    }

    @Test func spinBurnsAtLeastTheCPUTimeAsked() throws {
        let clock = ContinuousClock()
        let started = clock.now
        try SpinHandler(micros: 20_000).handle(message("x"), context: HandlerContext())
        // Thread CPU time never runs ahead of wall time; no upper bound (the machine may be busy).
        #expect(started.duration(to: clock.now) >= .milliseconds(20))
    }

    @Test func spinOfZeroReturnsAtOnce() {
        let clock = ContinuousClock()
        let started = clock.now
        SpinHandler.spin(micros: 0)
        #expect(started.duration(to: clock.now) < .seconds(1))
    }

    @Test func sha256MatchesTheStandardTestVector() {
        let hex = SHA256Handler.digest(Array("abc".utf8), rounds: 1).map { String(format: "%02x", $0) }.joined()
        #expect(hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func sha256RoundsChainTheDigest() {
        let payload = Array("abc".utf8)
        let one = SHA256Handler.digest(payload, rounds: 1)
        let three = SHA256Handler.digest(payload, rounds: 3)
        #expect(three.count == 32)
        #expect(three != one)
        #expect(three == SHA256Handler.digest(payload, rounds: 3))
        #expect(SHA256Handler.digest(payload, rounds: 0) == one)
    }

    @Test func noopAndSha256HandleAnyPayload() throws {
        try NoopHandler().handle(message(""), context: HandlerContext())
        try SHA256Handler(rounds: 2).handle(message("anything"), context: HandlerContext())
    }

    /// Messages with `sluice-id` headers `ids`.
    private func batch(ids: [Int]) -> [KafkaMessage] {
        ids.enumerated().map { offset, id in
            KafkaMessage(
                topic: "t", partition: 0, offset: Int64(offset), key: nil, value: Array("\(id):x".utf8),
                headers: [KafkaHeader(name: "sluice-id", string: "\(id)")])
        }
    }

    @Test func spinBatchSpinsTheCallCostOncePlusTheCostPerMessage() throws {
        let clock = ContinuousClock()
        let started = clock.now
        let outcome = try SpinBatchHandler(callMicros: 10_000, micros: 1_000)
            .handle(batch(ids: Array(0..<10)), context: BatchContext(attempts: Array(repeating: 1, count: 10)))
        #expect(outcome.isDone)
        // 10 ms + 10 × 1 ms of thread CPU time; wall time is at least that (no upper bound: the machine may be busy).
        #expect(started.duration(to: clock.now) >= .milliseconds(20))
    }

    @Test func spinBatchReportsTheChosenMessagesFailedAndTheRestDone() throws {
        let handler = SpinBatchHandler(callMicros: 0, micros: 0, failEvery: 4, failOn: 5)
        let outcome = try handler.handle(batch(ids: [2, 3, 4, 5, 6, 7]), context: BatchContext(attempts: Array(repeating: 1, count: 6)))
        #expect(outcome.failures.keys.sorted() == [1, 3, 5], "ids 3 and 7 (fail-every=4), id 5 (fail-on=5)")
        #expect("\(outcome.failures[1]!)" == "spin-batch: message 3 fails on every attempt (fail-every=4)")
        #expect("\(outcome.failures[3]!)" == "spin-batch: message 5 fails on every attempt (fail-on=5)")
        #expect("\(outcome.failures[5]!)" == "spin-batch: message 7 fails on every attempt (fail-every=4)")
        // An empty batch, and one without a chosen message, are done.
        #expect(try handler.handle([], context: BatchContext(attempts: [])).isDone)
        #expect(try handler.handle(batch(ids: [0, 1, 2]), context: BatchContext(attempts: [1, 1, 1])).isDone)
    }

    @Test func spinBatchFromTheRegistryTakesItsOptions() throws {
        let made = try HandlerRegistry.builtIn.make(
            "spin-batch", setup: HandlerSetup(options: HandlerOptions(["call-micros": "0", "micros": "0", "fail-on": "11"])))
        guard case .batch(let handler) = made.kind else {
            Issue.record("spin-batch is not a synchronous batch handler")
            return
        }
        let outcome = try handler.handle(batch(ids: [10, 11]), context: BatchContext(attempts: [1, 1]))
        #expect(outcome.failures.keys.sorted() == [1])
    }

    @Test func flakyFailsEveryNthIdOnEveryAttemptAndTheFirstKAttemptsOfAll() {
        let handler = FlakyHandler(failEvery: 4, transient: 1)
        func outcome(id: String?, offset: Int64, attempt: Int) -> String {
            let headers = id.map { [KafkaHeader(name: "sluice-id", string: $0)] } ?? []
            let message = KafkaMessage(topic: "t", partition: 0, offset: offset, key: nil, value: [], headers: headers)
            do {
                try handler.handle(message, context: HandlerContext(attempt: attempt))
                return "ok"
            } catch {
                return "\(error)"
            }
        }
        #expect(outcome(id: "3", offset: 0, attempt: 2) == "flaky: message 3 fails on every attempt (fail-every=4)")
        #expect(outcome(id: "7", offset: 0, attempt: 5) == "flaky: message 7 fails on every attempt (fail-every=4)")
        #expect(outcome(id: "4", offset: 3, attempt: 2) == "ok", "the id wins over the offset")
        #expect(outcome(id: nil, offset: 11, attempt: 2) == "flaky: message 11 fails on every attempt (fail-every=4)")
        #expect(outcome(id: "5", offset: 0, attempt: 1) == "flaky: attempt 1 of message 5 fails (transient=1)")
        #expect(outcome(id: "5", offset: 0, attempt: 2) == "ok")
    }
}
