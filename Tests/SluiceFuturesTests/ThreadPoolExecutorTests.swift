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
struct ThreadPoolExecutorTests {
    @Test func workRunsOnNamedDedicatedThreads() throws {
        let pool = ThreadPoolExecutor(workers: 2, name: "tp-names")
        defer { pool.shutdown() }
        let name = try pool.submit { WorkerThread.currentName }.result(timeout: .seconds(10))
        #expect(name.hasPrefix("tp-names-"))
        #expect(try pool.submit { pool.isCurrentThreadAWorker }.result(timeout: .seconds(10)))
        #expect(!pool.isCurrentThreadAWorker)
        #expect(pool.parallelism == 2)
    }

    /// How long each worker has been inside its current item: what a liveness probe judges.
    @Test func workerActivityShowsHowLongEachWorkerHasBeenBusy() throws {
        let pool = ThreadPoolExecutor(workers: 2, name: "tp-activity")
        defer { pool.shutdown() }
        #expect(pool.workerActivity == [nil, nil])
        let release = Gate()
        let started = [Gate(), Gate()]
        let calls = (0..<2).map { index in pool.submit { started[index].open(); try release.wait() } }
        for gate in started { try gate.wait() }
        let clock = ContinuousClock()
        let begin = clock.now
        while clock.now - begin < .milliseconds(50) {}
        let busy = pool.workerActivity
        #expect(busy.count == 2)
        #expect(busy.allSatisfy { ($0 ?? .zero) >= .milliseconds(50) }, "\(busy)")
        release.open()
        for call in calls { try call.result(timeout: .seconds(10)) }
        // Back to idle once each worker has put its item down.
        let deadline = clock.now + .seconds(10)
        while pool.workerActivity.contains(where: { $0 != nil }), clock.now < deadline { Thread.sleep(forTimeInterval: 0.001) }
        #expect(pool.workerActivity == [nil, nil])
    }

    @Test func longThreadNamesAreCutToFifteenBytes() {
        #expect(WorkerThread.truncated("a-very-long-thread-name-7") == "a-very-long-thr")
        #expect(WorkerThread.truncated("é").utf8.count == 2)
        #expect(WorkerThread.truncated("ééééééééé").utf8.count == 14)
    }

    @Test func workersRunInParallel() throws {
        let pool = ThreadPoolExecutor(workers: 2, name: "tp-parallel")
        defer { pool.shutdown() }
        let first = Gate()
        let second = Gate()
        // Each task waits for the other to start: both finish only if they run at the same time.
        let a = pool.submit { first.open(); try second.wait() }
        let b = pool.submit { second.open(); try first.wait() }
        try a.result(timeout: .seconds(20))
        try b.result(timeout: .seconds(20))
    }

    @Test func asyncWorkUnderATaskExecutorPreferenceRunsOnPoolThreads() async throws {
        let pool = ThreadPoolExecutor(workers: 2, name: "tp-async")
        let names = try await withTimeout {
            await withTaskExecutorPreference(pool) {
                let before = WorkerThread.currentName
                await Task.yield()
                let afterYield = WorkerThread.currentName
                let child = await Task(executorPreference: pool) { WorkerThread.currentName }.value
                return [before, afterYield, child]
            }
        }
        for name in names {
            #expect(name.hasPrefix("tp-async-"))
        }
        await pool.awaitShutdown(cancelPending: false)
        #expect(pool.isTerminated)
    }

    @Test func runBridgesWorkIntoAsyncCode() async throws {
        let pool = ThreadPoolExecutor(workers: 1, name: "tp-run")
        let value = try await withTimeout { try await pool.run { (1...100).reduce(0, +) } }
        #expect(value == 5_050)
        await pool.awaitShutdown(cancelPending: false)
    }

    @Test func submittingAfterShutdownFailsWithExecutorShutdown() {
        let pool = ThreadPoolExecutor(workers: 1, name: "tp-closed")
        pool.shutdown()
        let future = pool.submit { 1 }
        #expect(future.error as? FutureError == .executorShutdown)
        #expect(pool.isShutDown && pool.isTerminated)
    }

    @Test func shutdownWithWaitDrainsQueuedWork() throws {
        let pool = ThreadPoolExecutor(workers: 2, name: "tp-drain")
        let done = Counter()
        let gate = Gate()
        let futures = (0..<200).map { index in
            pool.submit {
                if index == 0 { try gate.wait() }
                done.increment()
            }
        }
        gate.open()
        pool.shutdown(wait: true, cancelPending: false)
        #expect(done.value == 200)
        #expect(futures.allSatisfy { $0.state == .finished })
        #expect(pool.isTerminated)
        pool.shutdown()  // idempotent
    }

    @Test func shutdownWithoutWaitReturnsWhileWorkIsStillRunning() async throws {
        let pool = ThreadPoolExecutor(workers: 1, name: "tp-nowait")
        let gate = Gate()
        let started = Gate()
        let running = pool.submit { try blockUntilOpened(gate, started: started); return 1 }
        let queued = pool.submit { 2 }
        try started.wait()

        pool.shutdown(wait: false)
        #expect(pool.isShutDown)
        #expect(!pool.isTerminated)
        #expect(queued.state == .pending, "queued work still runs unless cancelPending")

        gate.open()
        #expect(try running.result(timeout: .seconds(10)) == 1)
        #expect(try queued.result(timeout: .seconds(10)) == 2)
        try await withTimeout { await pool.awaitShutdown(cancelPending: false) }
        #expect(pool.isTerminated)
    }

    @Test func shutdownWithCancelPendingCancelsQueuedWork() throws {
        let pool = ThreadPoolExecutor(workers: 1, name: "tp-cancel")
        let gate = Gate()
        let started = Gate()
        let ran = Counter()
        let running = pool.submit { try blockUntilOpened(gate, started: started) }
        let queued = (0..<10).map { _ in pool.submit { ran.increment() } }
        try started.wait()

        pool.shutdown(wait: false, cancelPending: true)
        let allCancelled = queued.allSatisfy { $0.isCancelled }
        #expect(allCancelled)
        #expect(pool.queuedCount == 0)
        gate.open()
        try running.result(timeout: .seconds(10))
        pool.shutdown(wait: true)
        #expect(ran.value == 0)
    }

    @Test func shutdownFromAWorkerDoesNotDeadlock() throws {
        let pool = ThreadPoolExecutor(workers: 2, name: "tp-self")
        let future = pool.submit { pool.shutdown(wait: true) }
        try future.result(timeout: .seconds(10))
        pool.shutdown(wait: true)
        #expect(pool.isTerminated)
    }

    @Test func releasingThePoolLetsQueuedWorkFinish() throws {
        var pool: ThreadPoolExecutor? = ThreadPoolExecutor(workers: 1, name: "tp-deinit")
        let futures = (0..<50).map { index in pool!.submit { index } }
        pool = nil
        for (index, future) in futures.enumerated() {
            #expect(try future.result(timeout: .seconds(10)) == index)
        }
    }

    @Test func theScopedFormShutsThePoolDownWhenTheScopeEnds() throws {
        let done = Counter()
        let pool = withThreadPoolExecutor(workers: 2, name: "tp-scope") { pool in
            for _ in 0..<100 {
                _ = pool.submit { done.increment() }
            }
            return pool
        }
        #expect(done.value == 100, "the scope waits for queued work")
        #expect(pool.isTerminated)
    }

    @Test func theScopedFormShutsDownAlsoWhenTheBodyThrows() {
        let captured = Mutex<ThreadPoolExecutor?>(nil)
        #expect(throws: Boom.self) {
            try withExecutor(ThreadPoolExecutor(workers: 1, name: "tp-throw")) { pool in
                captured.withLock { $0 = pool }
                throw Boom()
            }
        }
        #expect(captured.withLock { $0?.isTerminated } == true)
    }

    @Test func theAsyncScopedFormShutsDownWithoutBlocking() async throws {
        let pool = try await withTimeout {
            try await withThreadPoolExecutor(workers: 2, name: "tp-ascope") { pool in
                let value = try await pool.run { 1 }
                #expect(value == 1)
                return pool
            }
        }
        #expect(pool.isTerminated)
    }
}

@Suite(.timeLimit(.minutes(1)))
struct InlineExecutorTests {
    @Test func workRunsOnTheSubmittingThreadBeforeSubmitReturns() throws {
        let executor = InlineExecutor()
        let caller = WorkerThread.current
        let future = executor.submit { WorkerThread.isCurrent(caller) }
        #expect(future.isDone)
        #expect(try future.result(timeout: .zero))
    }

    @Test func errorsFailTheFuture() {
        let future = InlineExecutor().submit { () throws -> Int in throw Boom() }
        #expect(future.error as? Boom == Boom())
    }

    @Test func submittingAfterShutdownFails() {
        let executor = InlineExecutor()
        executor.shutdown()
        #expect(executor.isShutDown)
        #expect(executor.submit { 1 }.error as? FutureError == .executorShutdown)
    }

    @Test func mapOnTheInlineExecutorReadsInputsLazily() throws {
        let executor = InlineExecutor()
        let calls = Counter()
        var iterator = executor.map(0..<100, lookAhead: 4) { value in
            calls.increment()
            return value * 2
        }.makeBlockingIterator()
        #expect(try iterator.next() == 0)
        #expect(calls.value == 4, "only the look-ahead window was submitted")
        #expect(try iterator.next() == 2)
        #expect(calls.value == 5)
    }
}
