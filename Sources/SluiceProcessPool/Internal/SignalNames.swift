//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Names and short explanations of the signals that end worker processes.
enum SignalNames {
    private static let table: [Int32: (name: String, meaning: String)] = [
        SIGHUP: ("SIGHUP", "hang-up"),
        SIGINT: ("SIGINT", "interrupt"),
        SIGQUIT: ("SIGQUIT", "quit"),
        // Swift traps (fatalError, failed preconditions, overflow, out-of-range index) are `ud2` on x86_64
        // (SIGILL) and `brk` on arm64 (SIGTRAP).
        SIGILL: ("SIGILL", "illegal instruction, e.g. a Swift runtime trap"),
        SIGTRAP: ("SIGTRAP", "trace trap, e.g. a Swift runtime trap"),
        SIGABRT: ("SIGABRT", "abort"),
        SIGBUS: ("SIGBUS", "bus error"),
        SIGFPE: ("SIGFPE", "arithmetic exception"),
        SIGKILL: ("SIGKILL", "killed, e.g. by the OOM killer or kill -9"),
        SIGUSR1: ("SIGUSR1", "user signal 1"),
        SIGSEGV: ("SIGSEGV", "segmentation fault"),
        SIGUSR2: ("SIGUSR2", "user signal 2"),
        SIGPIPE: ("SIGPIPE", "broken pipe"),
        SIGALRM: ("SIGALRM", "alarm"),
        SIGTERM: ("SIGTERM", "terminated"),
        SIGXCPU: ("SIGXCPU", "CPU time limit exceeded"),
        SIGXFSZ: ("SIGXFSZ", "file size limit exceeded"),
        SIGSYS: ("SIGSYS", "bad system call"),
    ]

    /// `"SIGILL"`, or `"signal 42"`.
    static func name(of signal: Int32) -> String {
        self.table[signal]?.name ?? "signal \(signal)"
    }

    /// `"SIGILL (illegal instruction, e.g. a Swift runtime trap)"`.
    static func explained(_ signal: Int32) -> String {
        guard let entry = self.table[signal] else { return "signal \(signal)" }
        return "\(entry.name) (\(entry.meaning))"
    }
}
