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
struct ExecutorMapTests {
    @Test func resultsComeInInputOrderEvenWhenLaterItemsFinishFirst() async throws {
        let pool = ThreadPoolExecutor(workers: 2, name: "map-order")
        let othersDone = Gate()
        let finished = Counter()
        let count = 20
        // Item 0 waits until every other item has finished, so completion order differs from input order.
        let results = try await withTimeout {
            var results: [Int] = []
            let mapped = pool.map(0..<count, lookAhead: count) { (index: Int) throws -> Int in
                if index == 0 {
                    try othersDone.wait()
                } else if finished.increment() == count - 1 {
                    othersDone.open()
                }
                return index * 10
            }
            for try await value in mapped {
                results.append(value)
            }
            return results
        }
        #expect(results == (0..<count).map { $0 * 10 })
        await pool.awaitShutdown(cancelPending: false)
    }

    @Test func aSlowFirstItemDoesNotIdleThePool() throws {
        let pool = ThreadPoolExecutor(workers: 2, name: "map-slow")
        defer { pool.shutdown() }
        let releaseFirst = Gate()
        let allOthersDone = Gate()
        let othersDone = Counter()
        let lookAhead = 8

        var iterator = pool.map(0..<lookAhead, lookAhead: lookAhead) { (index: Int) throws -> Int in
            if index == 0 {
                try releaseFirst.wait()
            } else if othersDone.increment() == lookAhead - 1 {
                allOthersDone.open()
            }
            return index
        }.makeBlockingIterator(timeout: .seconds(30))

        // The consumer is blocked on item 0, but the other worker gets through the rest of the window.
        let consumer = ThreadPoolExecutor(workers: 1, name: "map-consumer")
        defer { consumer.shutdown() }
        let first = consumer.submit { () throws -> Int? in
            try allOthersDone.wait()
            releaseFirst.open()
            return nil
        }
        #expect(try iterator.next() == 0)
        _ = try first.result(timeout: .seconds(20))
        #expect(othersDone.value == lookAhead - 1)
        var rest: [Int] = []
        while let value = try iterator.next() { rest.append(value) }
        #expect(rest == Array(1..<lookAhead))
    }

    @Test func theLookAheadBoundsTheItemsSubmittedAheadOfTheConsumer() throws {
        let pool = ThreadPoolExecutor(workers: 2, name: "map-bound")
        defer { pool.shutdown() }
        let started = Counter()
        let gate = Gate()
        var iterator = pool.map(0..<1_000, lookAhead: 5) { (index: Int) throws -> Int in
            started.increment()
            try gate.wait()
            return index
        }.makeBlockingIterator()
        gate.open()
        #expect(try iterator.next() == 0)
        #expect(started.value <= 5)
        #expect(try iterator.next() == 1)
        #expect(started.value <= 6)
    }

    @Test func theFirstErrorIsDeliveredInItsPositionAndLaterItemsAreCancelled() throws {
        let pool = ThreadPoolExecutor(workers: 1, name: "map-error")
        defer { pool.shutdown() }
        let failNow = Gate()
        let errorSeen = Gate()
        let startedAfterError = Counter()
        var iterator = pool.map(0..<10, lookAhead: 10) { (index: Int) throws -> Int in
            switch index {
            case 0:
                return index
            case 1:
                try failNow.wait()
                throw Boom(id: index)
            default:
                // The single worker starts item 2 before the consumer sees the error; the rest stay queued.
                startedAfterError.increment()
                try errorSeen.wait()
                return index
            }
        }.makeBlockingIterator()
        #expect(try iterator.next() == 0)
        failNow.open()
        #expect(throws: Boom(id: 1)) { try iterator.next() }
        errorSeen.open()
        #expect(try iterator.next() == nil, "iteration ends after an error")
        pool.shutdown(wait: true)
        #expect(startedAfterError.value <= 1, "items not yet started were cancelled")
    }

    @Test func collectTimesOut() throws {
        let pool = ThreadPoolExecutor(workers: 1, name: "map-timeout")
        let gate = Gate()
        defer {
            gate.open()
            pool.shutdown()
        }
        #expect(throws: FutureError.timedOut) {
            try pool.map([1, 2, 3], lookAhead: 2) { (value: Int) throws -> Int in
                try gate.wait()
                return value
            }.collect(timeout: .milliseconds(30))
        }
    }

    @Test func collectReturnsEveryResult() throws {
        let squares = try withThreadPoolExecutor(workers: 2, name: "map-collect") { pool in
            try pool.map(1...100) { $0 * $0 }.collect(timeout: .seconds(30))
        }
        #expect(squares == (1...100).map { $0 * $0 })
    }

    @Test func cancellingTheConsumingTaskEndsTheIteration() async throws {
        let pool = ThreadPoolExecutor(workers: 1, name: "map-cancel")
        let gate = Gate()
        let started = Gate()
        let consumer = Task {
            var count = 0
            for try await _ in pool.map(0..<4, lookAhead: 2, { (index: Int) throws -> Int in
                if index == 0 { try blockUntilOpened(gate, started: started) }
                return index
            }) {
                count += 1
            }
            return count
        }
        try await started.waitAsync()
        consumer.cancel()
        await #expect(throws: CancellationError.self) { try await withTimeout { try await consumer.value } }
        gate.open()
        await pool.awaitShutdown(cancelPending: false)
    }
}
