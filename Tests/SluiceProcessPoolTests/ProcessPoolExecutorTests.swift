//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SluiceFutures
import SluiceProcessPool
import Testing

/// Results and errors crossing between the pool and its workers. Serialized: each test starts worker
/// processes, and the machine has two cores.
extension ProcessPoolTests {
    @Suite struct ProcessPoolExecutorTests {
        @Test func echoAndComputeJobsReturnTheirResults() throws {
            let pool = try ProcessPoolExecutor(configuration: TestWorker.configuration())
            defer { pool.shutdown() }
            #expect(pool.workers == 2)
            #expect(pool.workerPIDs.count == 2)

            // Sizes from empty to 4 MiB, larger than any socket buffer, so frames arrive in pieces.
            var payloads = (0..<40).map { size in (0..<size * 37).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ size) } }
            payloads.append((0..<(4 << 20)).map { UInt8(truncatingIfNeeded: $0 >> 3) })
            let echoes = payloads.map { pool.submit(job: "echo", payload: $0) }
            for (payload, future) in zip(payloads, echoes) {
                let echoed = try future.result(timeout: .seconds(60))
                #expect(echoed == payload)
            }

            let squares = (1...100).map { pool.submit(job: "square", input: $0, returning: Int.self) }
            for (n, future) in zip(1...100, squares) {
                let square = try future.result(timeout: .seconds(60))
                #expect(square == n * n)
            }
            let statistics = pool.statistics
            #expect(statistics.tasksSucceeded == 141)
            #expect(statistics.tasksFailed == 0)
            #expect(statistics.workersStarted == 2)
        }

        @Test func theScopedFormRunsJobsAndStopsTheWorkers() async throws {
            var pids: [Int32] = []
            let total = try await withProcessPoolExecutor(configuration: TestWorker.configuration()) { pool in
                pids = pool.workerPIDs
                var sum = 0
                for n in 1...10 {
                    sum += try await pool.run(job: "square", input: n, returning: Int.self)
                }
                return sum
            }
            #expect(total == 385)
            #expect(pids.count == 2)
            let leftovers = pids.filter(TestWorker.exists)
            #expect(leftovers.isEmpty)
        }

        @Test func aThrownErrorCrossesAsItsTypeAndDescription() throws {
            let pool = try ProcessPoolExecutor(configuration: TestWorker.configuration())
            defer { pool.shutdown() }
            let result = outcome(pool.submit(job: "throw", input: "too spicy", returning: Int.self))
            let error = try #require(poolError(result))
            #expect(error.code == .jobFailed)
            #expect(error.job == "throw")
            #expect(error.remoteErrorType?.hasSuffix("RejectedInput") == true)
            #expect(error.remoteDescription == "rejected: too spicy")
            #expect(error.message.contains("Job 'throw' threw"))
            // Throwing is not crashing: the worker lives on.
            #expect(pool.statistics.workersStarted == 2)
            let after = try pool.submit(job: "square", input: 3, returning: Int.self).result(timeout: .seconds(30))
            #expect(after == 9)
        }

        @Test func anUnknownJobIsReportedWithTheJobsTheWorkerServes() throws {
            let pool = try ProcessPoolExecutor(configuration: TestWorker.configuration(workers: 1))
            defer { pool.shutdown() }
            let error = try #require(poolError(outcome(pool.submit(job: "resize", payload: [1, 2, 3]))))
            #expect(error.code == .jobNotFound)
            #expect(error.job == "resize")
            #expect(error.message.contains("Job 'resize' is not registered"))
            #expect(error.message.contains("echo, exit"))
            #expect(pool.statistics.workersStarted == 1)
        }

        @Test func aValueThatCannotBeEncodedFailsAtSubmission() throws {
            struct Reading: Codable, Sendable {
                var sensor: String
                var value: Double
            }
            let pool = try ProcessPoolExecutor(configuration: TestWorker.configuration(workers: 1))
            defer { pool.shutdown() }
            // JSON has no NaN: the future fails before anything is sent.
            let future = pool.submit(job: "echo", input: Reading(sensor: "t1", value: .nan), returning: Reading.self)
            #expect(future.isDone)
            let error = try #require(poolError(outcome(future, timeout: .zero)))
            #expect(error.code == .encodingFailed)
            #expect(error.job == "echo")
            #expect(error.message.contains("input of job 'echo'"))
            #expect(error.message.contains("Reading"))
            #expect(error.underlying is EncodingError)
            #expect(pool.statistics.tasksSucceeded == 0)
        }

        @Test func anOutputOfTheWrongTypeFailsToDecode() throws {
            let pool = try ProcessPoolExecutor(configuration: TestWorker.configuration(workers: 1))
            defer { pool.shutdown() }
            let error = try #require(poolError(outcome(pool.submit(job: "echo", input: "text", returning: Int.self))))
            #expect(error.code == .decodingFailed)
            #expect(error.message.contains("output of job 'echo'"))
            #expect(error.message.contains("Int"))
        }

        @Test func anExecutableThatDoesNotServeIsRefusedAtStartup() throws {
            var configuration = TestWorker.configuration(workers: 1)
            configuration.executable = "/bin/true"
            let result = Result { () throws(ProcessPoolError) -> ProcessPoolExecutor in
                try ProcessPoolExecutor(configuration: configuration)
            }
            let error = try #require(poolError(result.mapError { $0 as any Error }))
            #expect(error.code == .workerExited)
            #expect(error.exitStatus == 0)
            #expect(error.message.contains("before it started serving jobs"))
            #expect(error.message.contains("ProcessPoolWorker.serve(jobs:)"))

            configuration.executable = "/nonexistent/worker"
            let missing = Result { () throws(ProcessPoolError) -> ProcessPoolExecutor in
                try ProcessPoolExecutor(configuration: configuration)
            }
            let missingError = try #require(poolError(missing.mapError { $0 as any Error }))
            #expect(missingError.code == .spawnFailed)
            #expect(missingError.message.contains("/nonexistent/worker"))
            #expect(TestWorker.childWorkers().isEmpty)
        }

        @Test func shutdownFromAFutureCallbackDoesNotDeadlock() throws {
            let pool = try ProcessPoolExecutor(configuration: TestWorker.configuration(workers: 1))
            let pids = pool.workerPIDs
            // Callbacks run on the pool's supervisor thread, which cannot wait for itself.
            pool.submit(job: "echo", payload: [1]).whenComplete { _ in pool.shutdown(wait: true) }
            #expect(TestWorker.eventually { pool.isTerminated })
            let leftovers = pids.filter(TestWorker.isAlive)
            #expect(leftovers.isEmpty)
        }

        @Test func workAfterShutdownFailsWithExecutorShutdown() throws {
            let pool = try ProcessPoolExecutor(configuration: TestWorker.configuration(workers: 1))
            pool.shutdown()
            #expect(pool.isShutDown)
            #expect(pool.isTerminated)
            let late = outcome(pool.submit(job: "echo", payload: [1]), timeout: .zero)
            guard case .failure(let error) = late else {
                Issue.record("a task submitted after shutdown ran")
                return
            }
            #expect(error as? FutureError == .executorShutdown)
        }
    }
}
