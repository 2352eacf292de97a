//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SluiceFutures
import SluiceProcessPool
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The suites that start worker processes, nested here so that they run one test at a time: they check
/// the process table for leftover workers, and the machine has two cores.
@Suite(.serialized, .timeLimit(.minutes(3)))
enum ProcessPoolTests {}

/// The `sluice-pool-test-worker` executable and helpers around pools of it.
enum TestWorker {
    /// The built `sluice-pool-test-worker`: next to the test bundle in `.build/<configuration>/`.
    static let executable: String = {
        var directories: [String] = []
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if length > 0 {
            directories.append(
                directory(of: String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)))
        }
        directories.append(directory(of: CommandLine.arguments[0]))
        for directory in directories {
            let candidate = directory + "/sluice-pool-test-worker"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return directories[0] + "/sluice-pool-test-worker"
    }()

    private static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return String(path[..<slash])
    }

    /// A configuration for `workers` test workers that crash without a backtrace (faster) and restart
    /// after 10 ms.
    static func configuration(workers: Int = 2) -> ProcessPoolConfiguration {
        var configuration = ProcessPoolConfiguration(executable: self.executable, workers: workers)
        configuration.environment = ["SWIFT_BACKTRACE": "enable=no"]
        configuration.startupTimeout = .seconds(60)
        configuration.initialRestartDelay = .milliseconds(10)
        configuration.maximumRestartDelay = .milliseconds(200)
        return configuration
    }

    /// The pids of this process's live children that run the test worker.
    static func childWorkers() -> [Int32] {
        guard let directory = opendir("/proc") else { return [] }
        defer { closedir(directory) }
        var children: [Int32] = []
        let me = getpid()
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let pid = Int32(name), let stat = self.read("/proc/\(pid)/stat") else { continue }
            // "pid (comm) state ppid …"; comm may contain spaces, so split after the last ')'.
            guard let close = stat.lastIndex(of: ")"), let open = stat.firstIndex(of: "(") else { continue }
            let comm = stat[stat.index(after: open)..<close]
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 2, Int32(fields[1]) == me, "sluice-pool-test-worker".hasPrefix(comm) else { continue }
            children.append(pid)
        }
        return children
    }

    /// Whether a process with this pid exists (a zombie counts: it has not been reaped).
    static func exists(_ pid: Int32) -> Bool {
        access("/proc/\(pid)", F_OK) == 0
    }

    /// Whether a process with this pid runs (exists and is not a zombie).
    static func isAlive(_ pid: Int32) -> Bool {
        guard let stat = self.read("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: close)...].split(separator: " ").first
        return state != "Z" && state != "X"
    }

    static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 1024)
        let count = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        return String(decoding: bytes[0..<count], as: UTF8.self)
    }

    /// Waits (at most `timeout`) until `condition` holds.
    static func eventually(within timeout: Duration = .seconds(20), _ condition: () -> Bool) -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while !condition() {
            if clock.now >= deadline { return false }
            usleep(5_000)
        }
        return true
    }
}

/// The outcome of a future, waiting at most `timeout`.
func outcome<T>(_ future: Future<T>, timeout: Duration = .seconds(60)) -> Result<T, any Error> {
    Result { try future.result(timeout: timeout) }
}

/// The ``ProcessPoolError`` a result failed with, if it did.
func poolError<T>(_ result: Result<T, any Error>) -> ProcessPoolError? {
    guard case .failure(let error) = result else { return nil }
    return error as? ProcessPoolError
}
