//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import SluiceFutures
import SluiceProcessPool
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Workers that crash, hang, exit, grow or get recycled, and shutdown. Serialized: each test starts worker
/// processes and checks the process table.
extension ProcessPoolTests {
    @Suite struct ProcessPoolSupervisionTests {
        @Test func aTrappingJobFailsOnlyItsOwnFutureAndItsWorkerIsReplaced() throws {
            let pool = try ProcessPoolExecutor(configuration: TestWorker.configuration())
            defer { pool.shutdown() }
            let firstWorkers = Set(pool.workerPIDs)
            // Every tenth input, from 3 on, is a poison pill: -3, -13, -23, -33.
            let inputs = (0..<40).map { $0 % 10 == 3 ? -$0 : $0 }
            let futures = inputs.map { pool.submit(job: "double-or-trap", input: $0, returning: Int.self) }
            for (input, future) in zip(inputs, futures) {
                let result = outcome(future)
                if input < 0 {
                    let error = try #require(poolError(result), "poison pill \(input) did not fail")
                    #expect(error.code == .workerCrashed)
                    #expect(error.job == "double-or-trap")
                    #expect(error.signal == SIGILL || error.signal == SIGTRAP)
                    let named = error.message.contains("SIGILL") || error.message.contains("SIGTRAP")
                    #expect(named, "\(error.message)")
                    #expect(error.message.contains("while running job 'double-or-trap'"))
                } else {
                    let value = try result.get()
                    #expect(value == 2 * input)
                }
            }
            // Replaced: two workers again, and not both of the first ones.
            #expect(TestWorker.eventually { pool.statistics.workersStarted == 6 && pool.workerPIDs.count == 2 })
            #expect(Set(pool.workerPIDs) != firstWorkers)
            let statistics = pool.statistics
            #expect(statistics.workersCrashed == 4)
            #expect(statistics.tasksSucceeded == 36)
            #expect(statistics.tasksFailed == 4)
            #expect(statistics.workersStarted == 6)
        }

        @Test func aHangingJobTimesOutAndItsWorkerIsReplaced() throws {
            let pool = try ProcessPoolExecutor(configuration: TestWorker.configuration())
            defer { pool.shutdown() }
            let clock = ContinuousClock()
            let start = clock.now
            let hanging = pool.submit(job: "hang", payload: [], timeout: .milliseconds(300))
            let others = (1...20).map {
                pool.submit(job: "square", input: $0, returning: Int.self, timeout: .seconds(30))
            }
            let error = try #require(poolError(outcome(hanging, timeout: .seconds(30))))
            let waited = clock.now - start
            #expect(error.code == .timedOut)
            #expect(error.job == "hang")
            #expect(error.message.contains("timed out after 300 ms"))
            #expect(waited >= .milliseconds(300))
            let killed = try #require(error.workerPID)
            for (n, future) in zip(1...20, others) {
                let square = try future.result(timeout: .seconds(30))
                #expect(square == n * n)
            }
            // The killed worker is reaped and replaced; later tasks run.
            #expect(TestWorker.eventually { !TestWorker.exists(killed) && pool.workerPIDs.count == 2 })
            #expect(!pool.workerPIDs.contains(killed))
            let later = try pool.submit(job: "square", input: 12, returning: Int.self).result(timeout: .seconds(30))
            #expect(later == 144)
            #expect(pool.statistics.workersTimedOut == 1)
            #expect(pool.statistics.workersStarted == 3)
        }

        @Test func aJobThatExitsFailsWithTheExitStatus() throws {
            let pool = try ProcessPoolExecutor(configuration: TestWorker.configuration(workers: 1))
            defer { pool.shutdown() }
            let error = try #require(poolError(outcome(pool.submit(job: "exit", input: 3, returning: Int.self))))
            #expect(error.code == .workerExited)
            #expect(error.exitStatus == 3)
            #expect(error.message.contains("exited with status 3 while running job 'exit'"))
            let after = try pool.submit(job: "square", input: 5, returning: Int.self).result(timeout: .seconds(30))
            #expect(after == 25)
            #expect(pool.statistics.workersExited == 1)
        }

        @Test func replacementsBackOffAfterRepeatedFailuresAndResetAfterASuccess() throws {
            var configuration = TestWorker.configuration(workers: 1)
            configuration.initialRestartDelay = .milliseconds(100)
            configuration.maximumRestartDelay = .milliseconds(1_600)
            let pool = try ProcessPoolExecutor(configuration: configuration)
            defer { pool.shutdown() }
            let clock = ContinuousClock()
            /// Submits a job that kills its worker, and returns when it failed.
            func crash() throws -> ContinuousClock.Instant {
                let error = try #require(poolError(outcome(pool.submit(job: "exit", input: 1, returning: Int.self))))
                #expect(error.code == .workerExited)
                return clock.now
            }
            // Each task after a crash waits for the replacement: 100, 200, 400, 800 ms (doubling).
            var failures = [try crash()]
            for _ in 0..<4 { failures.append(try crash()) }
            let gaps = zip(failures, failures.dropFirst()).map { $1 - $0 }
            for (gap, delay) in zip(gaps, [100, 200, 400, 800]) {
                #expect(gap >= .milliseconds(delay), "gaps \(gaps)")
            }
            // A success on the slot resets the backoff: the next replacement comes after 100 ms again, not 1.6 s.
            let square = try pool.submit(job: "square", input: 4, returning: Int.self).result(timeout: .seconds(30))
            #expect(square == 16)
            let beforeReset = try crash()
            let afterReset = try crash()
            #expect(afterReset - beforeReset >= .milliseconds(100))
            #expect(afterReset - beforeReset < .milliseconds(1_500), "backoff was not reset by the successful task")
            #expect(pool.statistics.workersExited == 7)
        }

        @Test func recyclingAfterNTasksLosesNothing() throws {
            var configuration = TestWorker.configuration()
            configuration.maxTasksPerWorker = 5
            let pool = try ProcessPoolExecutor(configuration: configuration)
            defer { pool.shutdown() }
            let firstWorkers = Set(pool.workerPIDs)
            let futures = (0..<100).map { pool.submit(job: "pid", input: $0, returning: [Int].self) }
            var tasksPerWorker: [Int: Int] = [:]
            for (n, future) in zip(0..<100, futures) {
                let answer = try future.result(timeout: .seconds(60))
                #expect(answer.first == n)
                tasksPerWorker[answer[1], default: 0] += 1
            }
            // 100 tasks, at most 5 per worker: at least 20 workers, none of them over its quota.
            #expect(tasksPerWorker.count >= 20)
            let overQuota = tasksPerWorker.filter { $0.value > 5 }
            #expect(overQuota.isEmpty)
            let statistics = pool.statistics
            #expect(statistics.tasksSucceeded == 100)
            #expect(statistics.tasksFailed == 0)
            #expect(statistics.workersRecycled >= 18)
            #expect(statistics.workersCrashed == 0)
            #expect(statistics.workersExited == 0)
            #expect(Set(pool.workerPIDs).isDisjoint(with: firstWorkers))
        }

        @Test func aWorkerAboveTheMemoryLimitIsRecycledBetweenTasks() throws {
            var configuration = TestWorker.configuration(workers: 1)
            configuration.maxMemoryBytes = 96 << 20
            let pool = try ProcessPoolExecutor(configuration: configuration)
            defer { pool.shutdown() }
            // One at a time, so that the check after each task decides where the next one runs.
            var pids: [Int] = []
            for _ in 0..<4 {
                pids.append(try pool.submit(job: "grow", input: 64, returning: Int.self).result(timeout: .seconds(60)))
            }
            // 64 MiB fits, 128 MiB does not: each worker runs two tasks, then makes way for a fresh one.
            #expect(pids[0] == pids[1])
            #expect(pids[1] != pids[2])
            #expect(pids[2] == pids[3])
            #expect(pool.statistics.workersRecycled >= 1)
            #expect(pool.statistics.tasksFailed == 0)
        }

        @Test func shutdownLeavesNoWorkerProcessBehind() throws {
            let pool = try ProcessPoolExecutor(configuration: TestWorker.configuration(workers: 3))
            let pids = pool.workerPIDs
            #expect(pids.count == 3)
            #expect(Set(TestWorker.childWorkers()) == Set(pids))
            let running = (0..<6).map { pool.submit(job: "sleep-ms", input: 50 + $0, returning: Int.self) }
            pool.shutdown(wait: true, cancelPending: false)
            // Without cancelPending, what was submitted still ran.
            for (n, future) in zip(0..<6, running) {
                let slept = try future.result(timeout: .zero)
                #expect(slept == 50 + n)
            }
            #expect(pool.isTerminated)
            #expect(pool.workerPIDs.isEmpty)
            let leftovers = pids.filter(TestWorker.exists)
            #expect(leftovers.isEmpty, "worker processes still in the process table: \(leftovers)")
            #expect(TestWorker.childWorkers().isEmpty)
        }

        @Test func shutdownWithCancelPendingCancelsQueuedTasksAndKillsStragglers() throws {
            var configuration = TestWorker.configuration(workers: 1)
            configuration.tasksInFlightPerWorker = 1
            configuration.shutdownGracePeriod = .milliseconds(300)
            let pool = try ProcessPoolExecutor(configuration: configuration)
            let pid = try #require(pool.workerPIDs.first)
            let hanging = pool.submit(job: "hang", payload: [])
            let queued = (0..<5).map { pool.submit(job: "square", input: $0, returning: Int.self) }
            #expect(TestWorker.eventually { hanging.isRunning })
            let clock = ContinuousClock()
            let start = clock.now
            pool.shutdown(wait: true, cancelPending: true)
            let took = clock.now - start
            #expect(took >= .milliseconds(300))
            #expect(took < .seconds(10))
            let error = try #require(poolError(outcome(hanging, timeout: .zero)))
            #expect(error.code == .shutDown)
            #expect(error.message.contains("job 'hang'"))
            for future in queued {
                #expect(future.isCancelled)
            }
            #expect(!TestWorker.exists(pid))
            #expect(TestWorker.childWorkers().isEmpty)
        }

        @Test func workersDieWithAPoolProcessKilledWithSIGKILL() throws {
            // A process hosting a pool whose only worker hangs in a job: kill -9 the host.
            let output = Pipe()
            let host = Process()
            host.executableURL = URL(fileURLWithPath: TestWorker.executable)
            host.arguments = ["host-pool"]
            host.standardOutput = output
            try host.run()
            defer {
                if host.isRunning {
                    kill(host.processIdentifier, SIGKILL)
                    host.waitUntilExit()
                }
            }
            var line = ""
            let gotLine = TestWorker.eventually {
                let data = output.fileHandleForReading.availableData
                line += String(decoding: data, as: UTF8.self)
                return line.contains("\n") || data.isEmpty
            }
            #expect(gotLine)
            let worker = try #require(
                Int32(line.trimmingCharacters(in: .whitespacesAndNewlines).dropFirst("worker ".count)))
            #expect(TestWorker.isAlive(worker))
            kill(host.processIdentifier, SIGKILL)
            host.waitUntilExit()
            // The hung worker is killed with its pool (PR_SET_PDEATHSIG), not left running forever.
            #expect(TestWorker.eventually { !TestWorker.isAlive(worker) })
        }

        @Test func jobsMayPrintWithoutDisturbingTheProtocol() throws {
            let pool = try ProcessPoolExecutor(configuration: TestWorker.configuration(workers: 1))
            defer { pool.shutdown() }
            let payload = Array("hello".utf8)
            let echoed = try pool.submit(job: "print", payload: payload).result(timeout: .seconds(30))
            #expect(echoed == payload)
        }
    }
}
