//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Testing

import SluiceFutures

/// The behaviour every ``Executor`` must have, checked through the protocol for each conforming type.
@Suite(.timeLimit(.minutes(1)))
struct ExecutorContractTests {
    static let makers: [@Sendable () -> any Executor] = [
        { InlineExecutor() },
        { ThreadPoolExecutor(workers: 2, name: "contract") },
    ]

    @Test(arguments: 0..<2)
    func submitReturnsTheValueOrTheErrorAndShutdownRejectsLaterWork(index: Int) async throws {
        let executor: any Executor = Self.makers[index]()
        let value = executor.submit { "ok" }
        let failure = executor.submit { () throws -> Int in throw Boom(id: 1) }
        #expect(try value.result(timeout: .seconds(10)) == "ok")
        #expect(throws: Boom(id: 1)) { try failure.result(timeout: .seconds(10)) }
        #expect(try await executor.run { 2 } == 2)
        #expect(try executor.map([3, 1, 2]) { $0 * 2 }.collect(timeout: .seconds(10)) == [6, 2, 4])

        await executor.awaitShutdown(cancelPending: false)
        executor.shutdown()
        #expect(executor.submit { 1 }.error as? FutureError == .executorShutdown)
    }
}
