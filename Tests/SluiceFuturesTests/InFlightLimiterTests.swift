//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Synchronization
import Testing

@testable import SluiceFutures

@Suite(.timeLimit(.minutes(2)))
struct InFlightLimiterTests {
    @Test func theCountBoundsPermits() {
        let limiter = InFlightLimiter(maxCount: 3, maxWeight: .max)
        #expect((0..<3).allSatisfy { _ in limiter.tryAcquire(weight: 1) })
        #expect(!limiter.tryAcquire(weight: 0))
        #expect(limiter.count == 3)
        limiter.release(weight: 1)
        #expect(limiter.tryAcquire(weight: 1))
    }

    @Test func theWeightBudgetBoundsPermits() {
        let limiter = InFlightLimiter(maxCount: 10, maxWeight: 100)
        #expect(limiter.tryAcquire(weight: 60))
        #expect(!limiter.tryAcquire(weight: 41))
        #expect(limiter.tryAcquire(weight: 40))
        #expect(limiter.weight == 100)
        #expect(!limiter.tryAcquire(weight: 1))
    }

    @Test func anOversizedRequestIsGrantedOnlyWhenNothingIsHeld() {
        let limiter = InFlightLimiter(maxCount: 10, maxWeight: 100)
        #expect(limiter.tryAcquire(weight: 1))
        #expect(!limiter.tryAcquire(weight: 500))
        limiter.release(weight: 1)
        #expect(limiter.tryAcquire(weight: 500))
        #expect(limiter.weight == 500 && limiter.count == 1)
        #expect(!limiter.tryAcquire(weight: 0), "nothing else fits beside an oversized holder")
    }

    @Test func asyncAcquireWaitsForARelease() async throws {
        let limiter = InFlightLimiter(maxCount: 1, maxWeight: .max)
        try await limiter.acquire(weight: 1)
        let waiter = Task { try await limiter.acquire(weight: 1) }
        let releaser = ThreadPoolExecutor(workers: 1, name: "limiter-rel")
        _ = releaser.submit {
            // Release once the waiter is queued, so the test shows a real hand-over.
            while limiter.waitingCount == 0 {
                _ = limiter.acquire(weight: 0, timeout: .milliseconds(1))
            }
            limiter.release(weight: 1)
        }
        try await withTimeout { try await waiter.value }
        #expect(limiter.count == 1)
        await releaser.awaitShutdown(cancelPending: false)
    }

    @Test func waitersAreServedInArrivalOrder() async throws {
        let limiter = InFlightLimiter(maxCount: 10, maxWeight: 10)
        #expect(limiter.tryAcquire(weight: 8))
        // A heavy request queues first; a light one that would fit must not overtake it.
        let big = Task { try await limiter.acquire(weight: 9) }
        try await withTimeout {
            while limiter.waitingCount < 1 { await Task.yield() }
        }
        #expect(!limiter.tryAcquire(weight: 1), "tryAcquire does not jump the queue")
        let small = Task { try await limiter.acquire(weight: 1) }
        try await withTimeout {
            while limiter.waitingCount < 2 { await Task.yield() }
        }
        #expect(limiter.count == 1, "the light request fits but waits behind the heavy one")
        limiter.release(weight: 8)
        try await withTimeout { try await big.value }
        try await withTimeout { try await small.value }
        #expect(limiter.weight == 10 && limiter.count == 2)
    }

    @Test func cancellingAWaiterThrowsAndHoldsNothing() async throws {
        let limiter = InFlightLimiter(maxCount: 1, maxWeight: .max)
        #expect(limiter.tryAcquire(weight: 1))
        let waiter = Task { try await limiter.acquire(weight: 1) }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await withTimeout { try await waiter.value } }
        #expect(limiter.waitingCount == 0)
        limiter.release(weight: 1)
        #expect(limiter.count == 0)
    }

    @Test func cancellingTheHeadWaiterLetsTheNextOneIn() async throws {
        let limiter = InFlightLimiter(maxCount: 10, maxWeight: 10)
        #expect(limiter.tryAcquire(weight: 5))
        let heavy = Task { try await limiter.acquire(weight: 10) }
        try await withTimeout { while limiter.waitingCount < 1 { await Task.yield() } }
        let light = Task { try await limiter.acquire(weight: 5) }
        try await withTimeout { while limiter.waitingCount < 2 { await Task.yield() } }
        heavy.cancel()
        await #expect(throws: CancellationError.self) { try await withTimeout { try await heavy.value } }
        try await withTimeout { try await light.value }
        #expect(limiter.weight == 10 && limiter.count == 2)
    }

    @Test func theBlockingFormTimesOutAndHoldsNothing() {
        let limiter = InFlightLimiter(maxCount: 1, maxWeight: .max)
        #expect(limiter.acquire(weight: 1, timeout: .zero))
        #expect(!limiter.acquire(weight: 1, timeout: .milliseconds(20)))
        #expect(limiter.count == 1 && limiter.waitingCount == 0)
    }

    @Test func theBlockingFormIsWokenByAReleaseOnAnotherThread() throws {
        let limiter = InFlightLimiter(maxCount: 1, maxWeight: .max)
        #expect(limiter.tryAcquire(weight: 1))
        let pool = ThreadPoolExecutor(workers: 1, name: "limiter-block")
        defer { pool.shutdown() }
        let acquired = pool.submit { limiter.acquire(weight: 1, timeout: .seconds(20)) }
        while limiter.waitingCount == 0, !acquired.isDone {
            _ = try? acquired.result(timeout: .milliseconds(1))
        }
        limiter.release(weight: 1)
        #expect(try acquired.result(timeout: .seconds(20)))
        #expect(limiter.count == 1)
    }

    @Test func releaseWhenCompleteReturnsThePermit() throws {
        let limiter = InFlightLimiter(maxCount: 2, maxWeight: 100)
        let promise = Promise<Int>()
        #expect(limiter.tryAcquire(weight: 30))
        limiter.releaseWhenComplete(promise.future, weight: 30)
        #expect(limiter.count == 1)
        promise.fail(Boom())
        #expect(limiter.count == 0 && limiter.weight == 0)
    }

    @Test func boundsAreNeverExceededUnderConcurrentAcquireAndRelease() async throws {
        let limiter = InFlightLimiter(maxCount: 4, maxWeight: 100)
        let holders = Counter()
        let heldWeight = Counter()
        let violations = Counter()
        let grants = Counter()
        let pool = ThreadPoolExecutor(workers: 2, name: "limiter-stress")

        // Async acquirers on the cooperative pool, blocking acquirers on pool threads, all at once.
        @Sendable func hold(_ weight: Int) {
            let count = holders.increment()
            let total = heldWeight.increment(by: weight)
            if count > 4 || (total > 100 && count > 1) { violations.increment() }
            grants.increment()
            heldWeight.decrement(by: weight)
            holders.decrement()
            limiter.release(weight: weight)
        }

        let blocking = (0..<2).map { worker in
            pool.submit {
                var generator = SplitMix64(seed: UInt64(worker) + 100)
                for _ in 0..<2_000 {
                    let weight = Int(generator.next() % 60)
                    while !limiter.acquire(weight: weight, timeout: .seconds(5)) {}
                    hold(weight)
                }
            }
        }
        try await withTimeout(.seconds(60)) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<6 {
                    group.addTask {
                        var generator = SplitMix64(seed: UInt64(worker))
                        for _ in 0..<2_000 {
                            let weight = Int(generator.next() % 130)  // sometimes oversized
                            try await limiter.acquire(weight: weight)
                            hold(weight)
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        for future in blocking { try future.result(timeout: .seconds(60)) }
        await pool.awaitShutdown(cancelPending: false)

        #expect(violations.value == 0)
        #expect(grants.value == 16_000)
        #expect(limiter.count == 0 && limiter.weight == 0 && limiter.waitingCount == 0)
    }
}

/// A small deterministic random generator for tests.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { self.state = seed }

    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
