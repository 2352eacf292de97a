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

    /// Creates the handler.
    public init(micros: Int) {
        self.micros = micros
    }

    /// Spins ``micros`` µs of this thread's CPU time.
    public func handle(_ message: KafkaMessage, context: HandlerContext) throws {
        Self.spin(micros: micros)
    }

    /// Busy-spins until the calling thread has used `micros` µs of CPU time (time spent
    /// preempted does not count, so the cost is the same on a busy machine).
    public static func spin(micros: Int) {
        guard micros > 0 else { return }
        let target = threadCPUNanos() + micros * 1_000
        while threadCPUNanos() < target {}
    }

    private static func threadCPUNanos() -> Int {
        var now = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
        return now.tv_sec * 1_000_000_000 + now.tv_nsec
    }
}
