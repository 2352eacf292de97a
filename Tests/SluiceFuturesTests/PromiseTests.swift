//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Testing

@testable import SluiceFutures

@Suite(.timeLimit(.minutes(1)))
struct PromiseTests {
    @Test func succeedCompletesTheFutureAndLaterCompletionsAreIgnored() throws {
        let promise = Promise<String>()
        #expect(promise.future.state == .pending)
        #expect(promise.succeed("first"))
        #expect(!promise.succeed("second"))
        #expect(!promise.fail(Boom()))
        #expect(try promise.future.result(timeout: .zero) == "first")
    }

    @Test func failPropagatesTheError() async throws {
        let promise = Promise<Int>()
        #expect(promise.complete(with: .failure(Boom(id: 2))))
        await #expect(throws: Boom(id: 2)) { try await promise.future.value }
        #expect(promise.future.state == .failed)
    }

    @Test func aPromiseCompletedOnAnotherThreadWakesABlockedWaiter() throws {
        let pool = ThreadPoolExecutor(workers: 1, name: "promise-test")
        defer { pool.shutdown() }
        let promise = Promise<Int>()
        let started = Gate()
        let waiter = pool.submit { () throws -> Int in
            started.open()
            return try promise.future.result(timeout: .seconds(20)) + 1
        }
        try started.wait()
        promise.succeed(41)
        #expect(try waiter.result(timeout: .seconds(20)) == 42)
    }

    @Test func markRunningMakesTheFutureUncancellable() {
        let promise = Promise<Int>()
        #expect(promise.markRunning())
        #expect(promise.future.state == .running)
        #expect(!promise.future.cancel())
        #expect(!promise.markRunning())
        promise.succeed(1)
        #expect(promise.future.state == .finished)
    }

    @Test func markRunningReportsAnEarlierCancellation() {
        let promise = Promise<Int>()
        #expect(promise.future.cancel())
        #expect(!promise.markRunning())
        #expect(promise.future.isCancelled)
    }

    @Test func releasingAnUncompletedPromiseFailsItsFuture() {
        var promise: Promise<Int>? = Promise()
        let future = promise!.future
        promise = nil
        #expect(future.error as? FutureError == .brokenPromise)
    }

    @Test func releasingACompletedPromiseKeepsItsResult() throws {
        var promise: Promise<Int>? = Promise()
        let future = promise!.future
        promise!.succeed(3)
        promise = nil
        #expect(try future.result(timeout: .zero) == 3)
    }
}
