//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// CPU-bound work of a fixed cost, measured in the thread's own CPU time so that preemption does not
/// shorten it.
enum Spin {
    /// CPU time consumed by the calling thread, in nanoseconds (`CLOCK_THREAD_CPUTIME_ID`).
    static func threadCPUNanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    /// CPU time consumed by the whole process, in seconds (`CLOCK_PROCESS_CPUTIME_ID`).
    static func processCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// Busy-spins until the calling thread has used `nanoseconds` of CPU time.
    ///
    /// - Returns: the number of loop iterations, so the loop cannot be optimised away.
    @inline(never)
    static func run(nanoseconds: UInt64) -> Int {
        let end = threadCPUNanoseconds() + nanoseconds
        var iterations = 0
        while threadCPUNanoseconds() < end {
            iterations &+= 1
        }
        return iterations
    }

    /// A tiny piece of work for overhead measurements.
    @inline(never)
    static func tiny(_ value: Int) -> Int {
        value &* 31 &+ 7
    }
}
