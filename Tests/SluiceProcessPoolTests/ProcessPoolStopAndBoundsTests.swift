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

/// Signals from outside, the bound on what a worker may send back, and what workers inherit.
extension ProcessPoolTests {
    @Suite struct ProcessPoolStopAndBoundsTests {
        /// systemd (`KillMode=control-group`), `pkill` or an operator may signal every process of a
        /// service: the stop signals are for the pool's process, which stops its workers itself.
        @Test func workersIgnoreTheStopSignalsAndFinishTheirTask() throws {
            let pool = try ProcessPoolExecutor(configuration: TestWorker.configuration(workers: 1))
            defer { pool.shutdown() }
            let worker = try #require(pool.workerPIDs.first)
            let sleeping = pool.submit(job: "sleep-ms", input: 400, returning: Int.self)
            #expect(TestWorker.eventually(within: .seconds(10)) { sleeping.isRunning })
            usleep(50_000)  // let the worker read the task
            for signal in [SIGTERM, SIGINT, SIGHUP] {
                #expect(kill(worker, signal) == 0)
            }
            #expect(try sleeping.result(timeout: .seconds(30)) == 400)
            #expect(pool.workerPIDs == [worker], "the same worker serves on")
            let statistics = pool.statistics
            #expect(statistics.workersCrashed == 0 && statistics.tasksFailed == 0, "\(statistics)")
        }

        @Test func aWorkerKilledFromOutsideFailsItsTaskAsAnExternalStop() throws {
            let pool = try ProcessPoolExecutor(configuration: TestWorker.configuration(workers: 1))
            defer { pool.shutdown(cancelPending: true) }
            let worker = try #require(pool.workerPIDs.first)
            let hanging = pool.submit(job: "hang", payload: [])
            #expect(TestWorker.eventually(within: .seconds(10)) { hanging.isRunning })
            #expect(kill(worker, SIGKILL) == 0)
            let error = try #require(poolError(outcome(hanging, timeout: .seconds(30))))
            #expect(error.code == .workerCrashed)
            #expect(error.signal == SIGKILL)
            #expect(error.isExternalStop)
            #expect(error.message.contains("stopped from outside the pool with signal SIGKILL"), "\(error.message)")
        }

        @Test func theJobsOwnCrashesAndThePoolsOwnKillsAreNoExternalStop() throws {
            let pool = try ProcessPoolExecutor(configuration: TestWorker.configuration(workers: 1))
            defer { pool.shutdown(cancelPending: true) }
            let trap = try #require(poolError(outcome(pool.submit(job: "double-or-trap", input: -1, returning: Int.self))))
            #expect(trap.code == .workerCrashed && !trap.isExternalStop, "\(trap)")
            #expect(trap.message.contains("crashed with signal"), "\(trap.message)")
            let timeout = try #require(
                poolError(outcome(pool.submit(job: "hang", payload: [], timeout: .milliseconds(200)))))
            #expect(timeout.code == .timedOut && !timeout.isExternalStop, "\(timeout)")
        }

        @Test(arguments: [
            (SIGTERM, true), (SIGINT, true), (SIGHUP, true), (SIGQUIT, true), (SIGKILL, true),
            (SIGILL, false), (SIGTRAP, false), (SIGSEGV, false), (SIGBUS, false), (SIGABRT, false), (SIGFPE, false),
            (SIGPIPE, false), (SIGALRM, false), (SIGXCPU, false), (SIGUSR1, false),
        ])
        func isExternalStopDependsOnTheSignal(signal: Int32, isExternal: Bool) {
            let crashed = ProcessPoolError(code: .workerCrashed, message: "m", signal: signal)
            #expect(crashed.isExternalStop == isExternal, "\(ProcessPoolError.signalName(signal))")
            // The pool's own kills carry other codes, whatever the signal.
            for code in [ProcessPoolError.Code.timedOut, .shutDown, .protocolViolation, .workerExited] {
                #expect(!ProcessPoolError(code: code, message: "m", signal: signal).isExternalStop)
            }
        }

        /// A worker must not make the pool's process buffer an arbitrary amount: the length of a reply
        /// above the limit gives it away before any of it is read.
        @Test func aReplyLongerThanTheLimitKillsItsWorkerAndFailsOnlyItsTask() throws {
            var configuration = TestWorker.configuration(workers: 1)
            configuration.maximumResultBytes = 1 << 20
            let pool = try ProcessPoolExecutor(configuration: configuration)
            defer { pool.shutdown(cancelPending: true) }
            let worker = try #require(pool.workerPIDs.first)
            // 512 MiB announced: before the bound the pool waited for all of it, and the job never sends it.
            let liar = pool.submit(job: "announce-reply", input: 512 << 20, returning: Int.self)
            let error = try #require(poolError(outcome(liar, timeout: .seconds(20))), "the oversized reply was not refused")
            #expect(error.code == .protocolViolation)
            #expect(error.message.contains("a frame of 536870912 bytes, more than the 1114112 allowed"), "\(error.message)")
            #expect(TestWorker.eventually { !TestWorker.exists(worker) }, "the worker was killed")
            // A fresh worker takes over; a reply within the limit (1 MiB of output) passes.
            let big = [UInt8](repeating: 7, count: 1 << 20)
            #expect(try pool.submit(job: "echo", payload: big).result(timeout: .seconds(30)) == big)
        }

        @Test func aLongThrownErrorIsCutToFitTheReplyBound() throws {
            var configuration = TestWorker.configuration(workers: 1)
            configuration.maximumResultBytes = 1
            let pool = try ProcessPoolExecutor(configuration: configuration)
            defer { pool.shutdown() }
            let reason = String(repeating: "é", count: 100_000)  // 200 kB of UTF-8
            let error = try #require(poolError(outcome(pool.submit(job: "throw", input: reason, returning: Int.self))))
            #expect(error.code == .jobFailed, "\(error)")
            let description = try #require(error.remoteDescription)
            #expect(description.utf8.count <= 60 << 10)
            #expect(description.hasPrefix("rejected: éé"))
            #expect(description.hasSuffix("(200010 bytes, cut)"), "\(description.suffix(40))")
            #expect(pool.statistics.workersCrashed == 0)
        }

        @Test func withheldVariablesDoNotReachTheWorkers() throws {
            setenv("SLUICE_POOL_TEST_SECRET", "S3cr3t", 1)
            setenv("SLUICE_POOL_TEST_PLAIN", "visible", 1)
            defer {
                unsetenv("SLUICE_POOL_TEST_SECRET")
                unsetenv("SLUICE_POOL_TEST_PLAIN")
            }
            var configuration = TestWorker.configuration(workers: 1)
            configuration.withheldEnvironmentPrefixes = ["SLUICE_POOL_TEST_S"]
            configuration.environment["SLUICE_POOL_TEST_SET"] = "given"
            let pool = try ProcessPoolExecutor(configuration: configuration)
            defer { pool.shutdown() }
            func value(_ name: String) throws -> String? {
                try pool.submit(job: "getenv", input: name, returning: String?.self).result(timeout: .seconds(30))
            }
            #expect(try value("SLUICE_POOL_TEST_SECRET") == nil)
            #expect(try value("SLUICE_POOL_TEST_PLAIN") == "visible")
            #expect(try value("SLUICE_POOL_TEST_SET") == "given", "set explicitly: passed whatever its name")
        }
    }
}
