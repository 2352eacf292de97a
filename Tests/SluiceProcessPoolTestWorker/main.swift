//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

// sluice-pool-test-worker: the worker executable of SluiceProcessPoolTests. Run by a ProcessPoolExecutor,
// it serves the jobs below; run by hand, it says so and exits 64.

import SluiceFutures
import SluiceProcessPool
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the `throw` job throws.
struct RejectedInput: Error, CustomStringConvertible {
    var reason: String
    var description: String { "rejected: \(self.reason)" }
}

/// Memory the `grow` job keeps, so that the worker's resident size stays up.
let retained = Mutex<[[UInt8]]>([])

let jobs: [String: ProcessPoolWorker.Job] = [
    "echo": { $0 },
    "square": ProcessPoolWorker.codableJob { (n: Int) in n * n },
    // Returns its input and the worker's pid.
    "pid": ProcessPoolWorker.codableJob { (n: Int) in [n, Int(getpid())] },
    // Traps (fatalError, as a failed precondition or bad index would) on negative numbers, doubles others.
    "double-or-trap": ProcessPoolWorker.codableJob { (n: Int) -> Int in
        if n < 0 { fatalError("poison pill \(n)") }
        return 2 * n
    },
    "hang": { _ in
        while true { sleep(60) }
    },
    "sleep-ms": ProcessPoolWorker.codableJob { (milliseconds: Int) -> Int in
        usleep(useconds_t(milliseconds * 1000))
        return milliseconds
    },
    "throw": ProcessPoolWorker.codableJob { (reason: String) -> Int in throw RejectedInput(reason: reason) },
    "exit": ProcessPoolWorker.codableJob { (status: Int) -> Int in exit(Int32(status)) },
    // Allocates and keeps `megabytes` MiB (touched, so it is resident); returns the pid.
    "grow": ProcessPoolWorker.codableJob { (megabytes: Int) -> Int in
        let block = [UInt8](repeating: 1, count: megabytes << 20)
        retained.withLock { $0.append(block) }
        return Int(getpid())
    },
    // Misbehaves: writes the start of a reply claiming `bytes` bytes straight to the result socket (fd 4),
    // then hangs without sending them.
    "announce-reply": ProcessPoolWorker.codableJob { (bytes: Int) -> Int in
        var header = (0..<4).map { UInt8(truncatingIfNeeded: UInt32(bytes) >> (8 * $0)) } + [11]
        _ = header.withUnsafeMutableBytes { write(4, $0.baseAddress, $0.count) }
        while true { sleep(60) }
    },
    // The value of an environment variable in the worker, or nil.
    "getenv": ProcessPoolWorker.codableJob { (name: String) -> String? in
        getenv(name).map { String(cString: $0) }
    },
    // Prints to stdout and stderr, which the pool leaves to the jobs.
    "print": { bytes in
        print("job output on stdout: \(bytes.count) bytes")
        return bytes
    },
]

func printToStandardError(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

// `sluice-pool-test-worker host-pool`: a process that hosts a pool of one worker (this executable) running
// the `hang` job, prints "worker PID", and waits to be killed.
if !ProcessPoolWorker.isWorkerProcess && CommandLine.arguments.dropFirst().first == "host-pool" {
    var configuration = ProcessPoolConfiguration(executable: ProcessPoolConfiguration.currentExecutablePath, workers: 1)
    configuration.environment = ["SWIFT_BACKTRACE": "enable=no"]
    let pool = try ProcessPoolExecutor(configuration: configuration)
    let hanging = pool.submit(job: "hang", payload: [])
    while !hanging.isRunning { usleep(1_000) }
    print("worker \(pool.workerPIDs[0])")
    fflush(nil)
    while true { sleep(60) }
}

if ProcessPoolWorker.isWorkerProcess {
    do {
        try ProcessPoolWorker.serve(jobs: jobs)
    } catch {
        printToStandardError("sluice-pool-test-worker: \(error)")
        exit(70)
    }
    exit(0)
}
printToStandardError(
    "sluice-pool-test-worker serves the jobs of SluiceProcessPoolTests; it is started by a ProcessPoolExecutor")
exit(64)
