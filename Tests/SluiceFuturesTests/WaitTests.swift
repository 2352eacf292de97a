//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Testing

@testable import SluiceFutures

@Suite(.timeLimit(.minutes(1)))
struct WaitTests {
    @Test func allCompletedReturnsWhenEveryFutureIsDone() throws {
        let pool = ThreadPoolExecutor(workers: 2, name: "wait-all")
        defer { pool.shutdown() }
        let futures = (0..<20).map { index in pool.submit { index } }
        let result = wait(futures, timeout: .seconds(20), returnWhen: .allCompleted)
        #expect(result.done == Set(futures))
        #expect(result.notDone.isEmpty)
    }

    @Test func firstCompletedReturnsAfterOneFutureIsDone() throws {
        let promises = (0..<3).map { _ in Promise<Int>() }
        let completer = ThreadPoolExecutor(workers: 1, name: "wait-first")
        defer { completer.shutdown() }
        _ = completer.submit { promises[1].succeed(1) }
        let result = wait(promises.map(\.future), timeout: .seconds(20), returnWhen: .firstCompleted)
        #expect(result.done == [promises[1].future])
        #expect(result.notDone == [promises[0].future, promises[2].future])
    }

    @Test func firstExceptionReturnsAtTheFirstFailure() throws {
        let succeeded = Future.succeeded(1)
        let failing = Promise<Int>()
        let pending = Promise<Int>()
        let completer = ThreadPoolExecutor(workers: 1, name: "wait-exc")
        defer { completer.shutdown() }
        _ = completer.submit { failing.fail(Boom()) }
        let result = wait(
            [succeeded, failing.future, pending.future],
            timeout: .seconds(20),
            returnWhen: .firstException
        )
        #expect(result.done == [succeeded, failing.future])
        #expect(result.notDone == [pending.future])
    }

    @Test func firstExceptionIgnoresCancellationAndSuccess() {
        let cancelled = Promise<Int>()
        cancelled.future.cancel()
        let pending = Promise<Int>()
        let result = wait(
            [Future.succeeded(1), cancelled.future, pending.future],
            timeout: .milliseconds(30),
            returnWhen: .firstException
        )
        #expect(result.done.count == 2)
        #expect(result.notDone == [pending.future], "it kept waiting until the timeout")
    }

    @Test func aTimeoutReturnsTheFuturesNotYetDone() {
        let pending = Promise<Int>()
        let result = wait([pending.future, Future.succeeded(2)], timeout: .milliseconds(20))
        #expect(result.done.count == 1)
        #expect(result.notDone == [pending.future])
        #expect(registeredCallbacks(pending.future) == 0)
    }

    @Test func waitingOnNothingReturnsAtOnce() {
        let result = wait([Future<Int>](), returnWhen: .allCompleted)
        #expect(result.done.isEmpty && result.notDone.isEmpty)
    }

    @Test(arguments: [WaitCondition.firstCompleted, .firstException, .allCompleted])
    func theAsyncFormHonoursEachCondition(condition: WaitCondition) async throws {
        let failing = Promise<Int>()
        let pending = Promise<Int>()
        let completer = ThreadPoolExecutor(workers: 1, name: "wait-async")
        _ = completer.submit { failing.fail(Boom()) }
        let result = try await withTimeout {
            try await wait([failing.future, pending.future], timeout: .seconds(1), returnWhen: condition)
        }
        #expect(result.done == [failing.future])
        #expect(result.notDone == [pending.future])
        await completer.awaitShutdown(cancelPending: false)
    }

    @Test func conditionsUsePythonsNames() {
        #expect(WaitCondition.firstCompleted.description == "FIRST_COMPLETED")
        #expect(WaitCondition.firstException.description == "FIRST_EXCEPTION")
        #expect(WaitCondition.allCompleted.description == "ALL_COMPLETED")
    }
}
