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

/// The system calls the pool makes, in one place, with `errno` turned into values.
enum Posix {
    /// `errno` as text, e.g. "No such file or directory (errno 2)".
    static func describe(errno code: Int32) -> String {
        "\(String(cString: strerror(code))) (errno \(code))"
    }

    /// A connected pair of close-on-exec Unix stream sockets.
    ///
    /// Sockets rather than pipes so that the supervisor can write with `MSG_NOSIGNAL`: a worker that died
    /// must not kill the consumer with `SIGPIPE`, and the process-wide signal disposition stays untouched.
    static func socketPair() -> (Int32, Int32)? {
        var fds: [Int32] = [-1, -1]
        #if canImport(Darwin)
        let type = SOCK_STREAM
        #else
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        #endif
        guard socketpair(AF_UNIX, type, 0, &fds) == 0 else { return nil }
        #if canImport(Darwin)
        // No MSG_NOSIGNAL there: the socket itself must not raise SIGPIPE.
        var on: Int32 = 1
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &on, socklen_t(MemoryLayout<Int32>.size))
        }
        #endif
        return (fds[0], fds[1])
    }

    /// Moves `fd` to a number of at least `minimum` (close-on-exec), closing the original.
    static func moveAbove(_ fd: Int32, minimum: Int32) -> Int32 {
        guard fd < minimum else { return fd }
        let moved = fcntl(fd, F_DUPFD_CLOEXEC, minimum)
        guard moved >= 0 else { return fd }
        close(fd)
        return moved
    }

    static func waitForEvents(_ descriptors: inout [pollfd], timeout: Int32) {
        _ = poll(&descriptors, nfds_t(descriptors.count), timeout)
    }

    /// Asks the kernel to kill this process with SIGKILL when the thread that spawned it ends (the pool's
    /// supervisor thread, which outlives its workers unless the pool's process dies). Linux only.
    static func dieWithSpawningThread() {
        #if os(Linux)
        // prctl is variadic in C and so not imported; PR_SET_PDEATHSIG takes its argument in a register either
        // way on the Linux ABIs.
        typealias Prctl = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32
        guard let symbol = dlsym(nil, "prctl") else { return }
        let prctl = unsafeBitCast(symbol, to: Prctl.self)
        let setParentDeathSignal: Int32 = 1
        _ = prctl(setParentDeathSignal, UInt(SIGKILL), 0, 0, 0)
        #endif
    }

    /// The signals that ask a whole service to stop: workers ignore them, and the pool stops them itself.
    static let stopSignals: [Int32] = [SIGHUP, SIGINT, SIGTERM]

    /// Ignores ``stopSignals`` in this process (a worker), then unblocks them on the calling thread (the spawner
    /// started the worker with them blocked). Ignoring, rather than catching, means no system call of a job is
    /// ever interrupted by one (`EINTR`); processes the job starts inherit the ignored disposition unless
    /// they reset it (as `posix_spawn` with `POSIX_SPAWN_SETSIGDEF` does).
    static func ignoreStopSignals() {
        var set = sigset_t()
        sigemptyset(&set)
        for stopSignal in self.stopSignals {
            _ = signal(stopSignal, SIG_IGN)
            sigaddset(&set, stopSignal)
        }
        // Pending ones were discarded when they became ignored.
        _ = pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    static func sendSignal(_ signal: Int32, to pid: pid_t) {
        _ = kill(pid, signal)
    }

    static func setNonBlocking(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
    }

    /// The outcome of a non-blocking transfer.
    enum Transfer {
        case bytes(Int)
        case wouldBlock
        case closed
    }

    /// Sends what the socket takes without blocking and without `SIGPIPE`.
    static func sendSome(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Transfer {
        while true {
            #if canImport(Darwin)
            let flags: Int32 = 0
            #else
            let flags = Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT)
            #endif
            let sent = send(fd, bytes.baseAddress, bytes.count, flags)
            if sent >= 0 { return .bytes(sent) }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock
            default: return .closed
            }
        }
    }

    /// Reads what is there without blocking; `.closed` at end of file or on an error.
    static func receiveSome(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> Transfer {
        while true {
            let received = read(fd, buffer.baseAddress, buffer.count)
            if received > 0 { return .bytes(received) }
            if received == 0 { return .closed }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock
            default: return .closed
            }
        }
    }

    /// Writes all of `bytes` to a blocking descriptor; `false` if the other side is gone.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    return false
                }
            }
            return true
        }
    }

    /// How a reaped process ended (decoded by hand: the `W*` macros are not imported into Swift).
    enum Termination: Equatable {
        case exited(Int32)
        case signaled(Int32)
        case unknown
    }

    static func termination(fromWaitStatus status: Int32) -> Termination {
        let low = status & 0x7f
        if low == 0 { return .exited((status >> 8) & 0xff) }
        if low != 0x7f { return .signaled(low) }
        return .unknown
    }

    /// Reaps `pid` if it has exited; `nil` while it still runs.
    static func reapIfExited(_ pid: pid_t) -> Termination? {
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid { return self.termination(fromWaitStatus: status) }
            if result == 0 { return nil }
            if errno == EINTR { continue }
            // ECHILD: someone else reaped it (a waitpid(-1) elsewhere in the process).
            return .unknown
        }
    }

    /// The resident set size of `pid` in bytes, from `/proc/PID/statm`; `nil` where it cannot be read.
    static func residentBytes(of pid: pid_t) -> Int? {
        let fd = open("/proc/\(pid)/statm", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 128)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        // "size resident shared text lib data dt", in pages.
        let fields = buffer[0..<count].split(separator: UInt8(ascii: " "))
        guard fields.count >= 2, let pages = Int(String(decoding: fields[1], as: UTF8.self)) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
