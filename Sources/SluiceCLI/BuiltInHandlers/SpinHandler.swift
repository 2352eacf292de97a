//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

public import Sluice

#if canImport(Glibc)
// `timespec` resolves through Dispatch's C module once NIO is in the build graph.
internal import CDispatch
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// Busy-spins a fixed amount of *thread CPU time* per message: a CPU-bound handler of known cost,
/// for benchmarks (`ideal throughput = workers / cost`).
public struct SpinHandler: MessageHandler {
    /// Thread CPU time to burn per message, in microseconds.
    public var micros: Int

    /// Creates the handler, and measures what a read of the CPU clock costs
    /// (``clockReadNanos``) now, before it handles a message.
    public init(micros: Int) {
        self.micros = micros
        _ = Self.clockReadNanos
    }

    /// Spins ``micros`` µs of this thread's CPU time.
    public func handle(_ message: KafkaMessage, context: HandlerContext) throws {
        Self.spin(micros: micros)
    }

    /// Busy-spins until the calling thread has used `micros` µs of CPU time, the call included
    /// (time spent preempted does not count, so the cost is the same on a busy machine).
    ///
    /// Reading the thread's CPU clock is a system call: about 0.5 µs on this project's virtual
    /// machines, where a spin that polled it until its target cost 10.9 µs for 10. So the spin
    /// runs on the monotonic clock (read in user space) and reads the CPU clock twice: to start,
    /// and to check that it was not preempted (if it was, it spins the rest). It takes those two
    /// reads' cost off its time, and no more, so that it errs long, not short: a spin shorter
    /// than its nominal cost would flatter every figure measured against it.
    public static func spin(micros: Int) {
        guard micros > 0 else { return }
        let nanos = micros * 1_000
        spin(nanos: nanos - min(nanos / 2, 2 * clockReadNanos))
    }

    /// What one read of the thread's CPU clock costs on this thread, in nanoseconds: the least of
    /// 15 rounds of 64 reads, measured once per process (about half a millisecond). The least,
    /// not the median: a round slowed by the machine would make every spin short.
    public static let clockReadNanos: Int = {
        let rounds = (0..<15).map { _ in
            let before = threadCPUNanos()
            for _ in 0..<64 { _ = threadCPUNanos() }
            return (threadCPUNanos() - before) / 65
        }
        return rounds.min() ?? 0
    }()

    /// The thread CPU time one ``spin(micros:)`` of `micros` takes on the calling thread, in µs:
    /// the median of three rounds of `calls` spins. `sluice bench` prints it beside the figures,
    /// whose ideal assumes the nominal cost.
    public static func measuredCost(micros: Int, calls: Int) -> Double {
        let calls = max(1, calls)
        let rounds = (0..<3).map { _ in
            let before = threadCPUNanos()
            for _ in 0..<calls { spin(micros: micros) }
            return Double(threadCPUNanos() - before) / Double(calls) / 1_000
        }
        return rounds.sorted()[1]
    }

    /// Spins `nanos` of thread CPU time from the first read of the CPU clock, plus one read.
    private static func spin(nanos: Int) {
        let target = threadCPUNanos() + nanos
        var left = nanos
        while left > 0 {
            let end = monotonicNanos() + left
            while monotonicNanos() < end {}
            left = target - threadCPUNanos()  // short when preempted: spin the rest
        }
    }

    private static func threadCPUNanos() -> Int {
        var now = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
        return now.tv_sec * 1_000_000_000 + now.tv_nsec
    }

    private static func monotonicNanos() -> Int {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return now.tv_sec * 1_000_000_000 + now.tv_nsec
    }
}
