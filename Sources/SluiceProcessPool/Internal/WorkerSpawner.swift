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

/// Starts worker processes with `posix_spawn` (never `fork`: nothing of this process's state, threads or
/// locks is cloned), with the work socket on fd 3 and the result socket on fd 4.
enum WorkerSpawner {
    /// A started worker: its process ID and the pool's ends of its two sockets (non-blocking).
    struct Spawned {
        let pid: pid_t
        let requestFD: Int32
        let resultFD: Int32
    }

    /// The fds the worker reads work from and writes results to.
    static let workerInputFD: Int32 = 3
    static let workerOutputFD: Int32 = 4

    /// Spawns `executable arguments…` with `environment`; throws a ``ProcessPoolError/Code/spawnFailed`` error.
    static func spawn(executable: String, arguments: [String], environment: [String]) throws(ProcessPoolError)
        -> Spawned
    {
        guard let (poolRequest, workerRequestRaw) = Posix.socketPair() else {
            throw self.failure("could not create a socket pair", errno: errno, executable: executable)
        }
        guard let (poolResult, workerResultRaw) = Posix.socketPair() else {
            let code = errno
            close(poolRequest)
            close(workerRequestRaw)
            throw self.failure("could not create a socket pair", errno: code, executable: executable)
        }
        // The worker's ends must not sit on 3 or 4 already, or the first dup2 would clobber the second.
        let workerRequest = Posix.moveAbove(workerRequestRaw, minimum: 5)
        let workerResult = Posix.moveAbove(workerResultRaw, minimum: 5)
        defer {
            // The worker has its own copies now (or never started): close ours.
            close(workerRequest)
            close(workerResult)
        }

        #if canImport(Darwin)
        var actions: posix_spawn_file_actions_t? = nil
        var attributes: posix_spawnattr_t? = nil
        #else
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        #endif
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // dup2 clears close-on-exec on the new descriptor; every other descriptor of ours is close-on-exec.
        posix_spawn_file_actions_adddup2(&actions, workerRequest, self.workerInputFD)
        posix_spawn_file_actions_adddup2(&actions, workerResult, self.workerOutputFD)
        self.addCloseFrom(&actions, 5)

        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The stop signals stay blocked (pending, harmless) from exec until ProcessPoolWorker.serve(jobs:)
        // ignores them: a `kill` of the whole service (systemd's KillMode=control-group, `pkill`) is meant for
        // the pool's process, which stops its workers itself, and must not kill a worker that is still starting.
        var mask = sigset_t()
        sigemptyset(&mask)
        for signal in Posix.stopSignals {
            sigaddset(&mask, signal)
        }
        posix_spawnattr_setsigmask(&attributes, &mask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCHLD] {
            sigaddset(&defaults, signal)
        }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        // A process group of its own: Ctrl-C in a terminal reaches only the pool's process, which then shuts
        // the workers down in order instead of losing every task in flight.
        posix_spawnattr_setpgroup(&attributes, 0)
        let flags = Int32(POSIX_SPAWN_SETSIGMASK) | Int32(POSIX_SPAWN_SETSIGDEF) | Int32(POSIX_SPAWN_SETPGROUP)
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }

        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else {
            close(poolRequest)
            close(poolResult)
            throw self.failure("posix_spawn failed", errno: result, executable: executable)
        }
        Posix.setNonBlocking(poolRequest)
        Posix.setNonBlocking(poolResult)
        return Spawned(pid: pid, requestFD: poolRequest, resultFD: poolResult)
    }

    private static func failure(_ what: String, errno code: Int32, executable: String) -> ProcessPoolError {
        ProcessPoolError(
            code: .spawnFailed,
            message: "Could not start worker process \(executable): \(what): \(Posix.describe(errno: code))"
        )
    }

    #if canImport(Glibc)
    // glibc declares posix_spawn_file_actions_addclosefrom_np (2.34+) only under _GNU_SOURCE, which the
    // Swift Glibc module does not define: look it up at run time, and do without it where it is missing.
    private typealias AddCloseFrom =
        @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private static let addCloseFromFunction: AddCloseFrom? = {
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: AddCloseFrom.self)
    }()

    /// Closes every inherited descriptor from `lowest` up in the worker, including ones other code in this
    /// process opened without close-on-exec.
    private static func addCloseFrom(_ actions: inout posix_spawn_file_actions_t, _ lowest: Int32) {
        guard let function = self.addCloseFromFunction else { return }
        _ = function(&actions, lowest)
    }
    #else
    private static func addCloseFrom(_ actions: inout posix_spawn_file_actions_t?, _ lowest: Int32) {}
    #endif
}
