//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Testing

@testable import SluiceFutures

@Suite(.timeLimit(.minutes(1)))
struct AsCompletedTests {
    @Test func theBlockingIteratorDeliversFuturesInCompletionOrder() throws {
        let promises = (0..<3).map { _ in Promise<Int>() }
        var iterator = asCompleted(promises.map(\.future), timeout: .seconds(20)).makeBlockingIterator()
        for index in [2, 0, 1] {
            promises[index].succeed(index)
            let next = try #require(try iterator.next())
            #expect(next === promises[index].future)
        }
        #expect(try iterator.next() == nil)
    }

    @Test func theAsyncSequenceDeliversFuturesInCompletionOrder() async throws {
        let promises = (0..<3).map { _ in Promise<Int>() }
        let futures = promises.map(\.future)
        var iterator = asCompleted(futures).makeAsyncIterator()
        for index in [1, 2, 0] { promises[index].succeed(index) }
        for index in [1, 2, 0] {
            #expect(try await iterator.next() === futures[index])
        }
        #expect(try await iterator.next() == nil)
    }

    @Test func aSuspendedConsumerIsWokenByACompletion() async throws {
        let promise = Promise<Int>()
        let consumer = Task {
            var iterator = asCompleted([promise.future]).makeAsyncIterator()
            return try await iterator.next()
        }
        let completer = ThreadPoolExecutor(workers: 1, name: "as-completer")
        _ = completer.submit { promise.succeed(5) }
        let delivered = try await withTimeout { try await consumer.value }
        #expect(delivered === promise.future)
        await completer.awaitShutdown(cancelPending: false)
    }

    @Test func alreadyCompletedFuturesComeFirstInTheirGivenOrder() throws {
        let pending = Promise<Int>()
        let futures = [pending.future, Future.succeeded(1), Future.failed(Boom())]
        var iterator = asCompleted(futures).makeBlockingIterator()
        #expect(try iterator.next() === futures[1])
        #expect(try iterator.next() === futures[2])
        pending.succeed(0)
        #expect(try iterator.next() === futures[0])
    }

    @Test func duplicatesAreDeliveredOnce() throws {
        let future = Future.succeeded(1)
        var iterator = asCompleted([future, future, future]).makeBlockingIterator()
        #expect(try iterator.next() === future)
        #expect(try iterator.next() == nil)
    }

    @Test func theBlockingIteratorThrowsWhenTheTimeoutPasses() throws {
        let pending = Promise<Int>()
        var iterator = asCompleted([Future.succeeded(1), pending.future], timeout: .milliseconds(30))
            .makeBlockingIterator()
        #expect(try iterator.next() != nil)
        #expect(throws: FutureError.timedOut) { try iterator.next() }
    }

    @Test func theAsyncSequenceThrowsWhenTheTimeoutPasses() async throws {
        let pending = Promise<Int>()
        await #expect(throws: FutureError.timedOut) {
            try await withTimeout {
                for try await _ in asCompleted([pending.future], timeout: .milliseconds(30)) {}
            }
        }
    }

    @Test func cancellingTheTaskEndsTheAsyncIteration() async throws {
        let pending = Promise<Int>()
        let task = Task {
            for try await _ in asCompleted([pending.future]) {}
        }
        task.cancel()
        await #expect(throws: CancellationError.self) { try await withTimeout { try await task.value } }
    }

    @Test func anAbandonedIterationLeavesNoCallbacksBehind() throws {
        let pending = Promise<Int>()
        do {
            var iterator = asCompleted([pending.future], timeout: .zero).makeBlockingIterator()
            #expect(registeredCallbacks(pending.future) == 1)
            #expect(throws: FutureError.timedOut) { try iterator.next() }
        }
        #expect(registeredCallbacks(pending.future) == 0)
    }

    @Test func futuresFromAPoolArriveAsTheyComplete() async throws {
        let pool = ThreadPoolExecutor(workers: 2, name: "as-completed")
        let futures = (0..<50).map { index in pool.submit { index } }
        var seen = Set<Int>()
        try await withTimeout {
            var seen = Set<Int>()
            for try await future in asCompleted(futures) {
                #expect(future.isDone)
                seen.insert(try future.result(timeout: .zero))
            }
            return seen
        }.forEach { seen.insert($0) }
        #expect(seen == Set(0..<50))
        await pool.awaitShutdown(cancelPending: false)
    }
}
