//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Synchronization
import Testing

@testable import SluiceFutures

@Suite(.timeLimit(.minutes(2)))
struct FutureTests {
    let pool = ThreadPoolExecutor(workers: 2, name: "future-tests")

    @Test func submittedWorkFinishesWithItsValue() throws {
        defer { pool.shutdown() }
        let future = pool.submit { 6 * 7 }
        #expect(try future.result(timeout: .seconds(10)) == 42)
        #expect(future.state == .finished)
        #expect(future.isDone)
        #expect(!future.isRunning && !future.isCancelled)
        #expect(future.error == nil)
    }

    @Test func errorPropagatesThroughResult() throws {
        defer { pool.shutdown() }
        let future = pool.submit { () throws -> Int in throw Boom(id: 7) }
        #expect(throws: Boom(id: 7)) { try future.result(timeout: .seconds(10)) }
        #expect(future.state == .failed)
        #expect(future.error as? Boom == Boom(id: 7))
    }

    @Test func errorPropagatesThroughAsyncValue() async throws {
        defer { pool.shutdown() }
        let future = pool.submit { () throws -> Int in throw Boom(id: 3) }
        await #expect(throws: Boom(id: 3)) {
            try await withTimeout { try await future.value }
        }
    }

    @Test func asyncValueDeliversTheResult() async throws {
        defer { pool.shutdown() }
        let gate = Gate()
        let future = pool.submit { try gate.wait(); return "done" }
        async let value = withTimeout { try await future.value }
        gate.open()
        #expect(try await value == "done")
    }

    @Test func resultTimesOutWhileTheWorkRunsAndLeavesNoWaiterBehind() throws {
        defer { pool.shutdown() }
        let gate = Gate()
        let started = Gate()
        let future = pool.submit { try blockUntilOpened(gate, started: started); return 1 }
        try started.wait()

        #expect(throws: FutureError.timedOut) { try future.result(timeout: .milliseconds(20)) }
        #expect(throws: FutureError.timedOut) { try future.result(timeout: .zero) }
        #expect(future.state == .running)
        #expect(registeredCallbacks(future) == 0)

        gate.open()
        #expect(try future.result(timeout: .seconds(10)) == 1)
    }

    @Test func cancelSucceedsOnlyBeforeTheWorkStarts() throws {
        let single = ThreadPoolExecutor(workers: 1, name: "cancel-test")
        defer { single.shutdown() }
        let gate = Gate()
        let started = Gate()
        let ran = Counter()
        let running = single.submit { try blockUntilOpened(gate, started: started) }
        let queued = single.submit { ran.increment() }
        try started.wait()

        #expect(!running.cancel())
        #expect(running.state == .running)
        #expect(queued.cancel())
        #expect(queued.cancel(), "cancelling twice still reports success, as in Python")
        #expect(queued.state == .cancelled)
        #expect(throws: FutureError.cancelled) { try queued.result(timeout: .seconds(1)) }

        gate.open()
        try running.result(timeout: .seconds(10))
        #expect(!running.cancel(), "a finished future cannot be cancelled")
        single.shutdown(wait: true)
        #expect(ran.value == 0, "cancelled work never runs")
    }

    @Test func cancelAndStartRaceHasExactlyOneWinner() throws {
        defer { pool.shutdown() }
        for _ in 0..<2_000 {
            let ran = Counter()
            let future = pool.submit { ran.increment() }
            let cancelled = future.cancel()
            _ = try? future.result(timeout: .seconds(10))
            #expect(future.isDone)
            #expect(cancelled == (ran.value == 0))
            #expect(cancelled == future.isCancelled)
        }
    }

    @Test func callbacksRunExactlyOnceIncludingThoseAddedAfterCompletion() throws {
        defer { pool.shutdown() }
        let gate = Gate()
        let future = pool.submit { try gate.wait(); return 5 }
        let calls = (0..<3).map { _ in Counter() }
        let seen = Mutex<[Int]>([])
        for (index, counter) in calls.enumerated() {
            future.whenComplete { result in
                counter.increment()
                seen.withLock { $0.append(index) }
                #expect((try? result.get()) == 5)
            }
        }
        gate.open()
        _ = try future.result(timeout: .seconds(10))
        // The worker makes the result visible, then runs the callbacks: `result` may return while
        // they still run (it found the result already there). Wait for them, bounded.
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(10))
        while seen.withLock({ $0.count }) < calls.count, clock.now < deadline { Thread.sleep(forTimeInterval: 0.001) }

        let late = Counter()
        future.whenComplete { _ in late.increment() }
        #expect(late.value == 1, "a callback added after completion runs at once, on this thread")
        #expect(calls.map(\.value) == [1, 1, 1])
        #expect(seen.withLock { $0 } == [0, 1, 2], "callbacks run in registration order")
        #expect(registeredCallbacks(future) == 0)
    }

    @Test func callbacksOfACancelledFutureSeeTheCancellation() throws {
        let promise = Promise<Int>()
        let error = Mutex<(any Error)?>(nil)
        let calls = Counter()
        promise.future.whenComplete { result in
            calls.increment()
            if case .failure(let failure) = result { error.withLock { $0 = failure } }
        }
        #expect(promise.future.cancel())
        #expect(!promise.succeed(1), "completing a cancelled future is ignored")
        #expect(calls.value == 1)
        #expect(error.withLock { $0 as? FutureError } == .cancelled)
        #expect(promise.future.error as? FutureError == .cancelled)
    }

    @Test func asyncValueHonoursTaskCancellationWithoutCancellingTheWork() async throws {
        let promise = Promise<Int>()
        let waiting = Task { try await promise.future.value }
        waiting.cancel()
        await #expect(throws: CancellationError.self) {
            try await withTimeout { try await waiting.value }
        }
        #expect(promise.future.state == .pending, "other holders may still want the result")
        #expect(registeredCallbacks(promise.future) == 0)
        #expect(promise.succeed(9))
    }

    @Test func asyncValueCanCancelThePendingWorkWhenItsTaskIsCancelled() async throws {
        let promise = Promise<Int>()
        let waiting = Task {
            try await promise.future.value(cancellingOnTaskCancellation: true)
        }
        waiting.cancel()
        await #expect(throws: CancellationError.self) {
            try await withTimeout { try await waiting.value }
        }
        #expect(promise.future.isCancelled)
    }

    @Test func completedFuturesAnswerWithoutWaiting() async throws {
        let succeeded = Future.succeeded(1)
        let failed = Future<Int>.failed(Boom())
        #expect(try succeeded.result(timeout: .zero) == 1)
        #expect(try await succeeded.value == 1)
        #expect(throws: Boom()) { try failed.result(timeout: .zero) }
        #expect(failed.state == .failed)
        #expect(succeeded.completedResult.map { try? $0.get() } == 1)
    }

    @Test func futuresAreEqualOnlyToThemselves() {
        let a = Future.succeeded(1)
        let b = Future.succeeded(1)
        #expect(a == a)
        #expect(a != b)
        #expect(Set([a, b, a]).count == 2)
    }

    @Test func futureErrorsDescribeTheProblem() {
        #expect(FutureError.timedOut.description.contains("Timed out"))
        #expect(FutureError.executorShutdown.description.contains("shut down"))
        #expect(FutureError.cancelled.code == .cancelled)
        #expect(FutureError.brokenPromise != FutureError.cancelled)
        #expect(FutureState.running.description == "running")
    }
}

@Suite(.timeLimit(.minutes(1)))
struct FutureValueTypeTests {
    @Test func optionalVoidAndExistentialValuesRoundTrip() async throws {
        let executor = InlineExecutor()
        #expect(try executor.submit { Int?.none }.result(timeout: .zero) == nil)
        #expect(try executor.submit { Int?.some(4) }.result(timeout: .zero) == 4)
        try executor.submit {}.result(timeout: .zero)
        let existential: any Sendable = "text"
        let value = try await executor.submit { existential }.value
        #expect(value as? String == "text")
        let promise = Promise<[String: Int]>()
        promise.succeed(["a": 1])
        #expect(promise.future.completedResult.map { try? $0.get() } == ["a": 1])
    }
}
