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

/// A running worker process as the supervisor sees it: its sockets, buffers and the tasks sent to it.
/// Only the supervisor thread touches it.
final class WorkerProcess {
    /// Why the pool killed a worker (a worker that died on its own has none).
    enum KillReason {
        case timeout
        case shutdown
        case protocolViolation
        case unresponsive
    }

    let pid: pid_t
    /// The pool's end of the work socket (the worker's fd 3); `-1` once closed.
    var requestFD: Int32
    /// The pool's end of the result socket (the worker's fd 4); `-1` once closed.
    var resultFD: Int32
    let startedAt: UInt64

    /// Encoded frames not yet taken by the socket.
    var output: [UInt8] = []
    var outputOffset = 0
    /// Bytes received and not yet decoded.
    var input: [UInt8] = []

    /// Tasks sent to the worker, oldest first; the worker runs the first one.
    var outstanding: [PoolTask] = []
    /// When the first outstanding task became first, i.e. roughly when the worker started it.
    var headStartedAt: UInt64 = 0
    /// Tasks given to this worker so far.
    var assigned = 0
    /// When its resident memory was last read.
    var lastMemoryCheck: UInt64 = 0

    /// The worker said hello: it runs ``ProcessPoolWorker/serve(jobs:)``.
    var isReady = false
    /// It takes no new tasks and is replaced once its outstanding ones are done.
    var isRetiring = false
    /// The result socket reached end of file: the worker exited or is exiting.
    var reachedEndOfFile = false
    var killReason: KillReason?
    /// Kill the worker with SIGKILL if it still runs at this time.
    var killDeadline: UInt64?

    init(spawned: WorkerSpawner.Spawned, now: UInt64) {
        self.pid = spawned.pid
        self.requestFD = spawned.requestFD
        self.resultFD = spawned.resultFD
        self.startedAt = now
    }

    var hasPendingOutput: Bool { self.outputOffset < self.output.count }

    /// Whether the worker can be given another task.
    func canTakeTask(limit: Int) -> Bool {
        self.requestFD >= 0 && !self.isRetiring && !self.reachedEndOfFile && self.killReason == nil
            && self.outstanding.count < limit
    }

    /// Whether the pool should check if the process has exited.
    var mayHaveExited: Bool { self.reachedEndOfFile || self.killReason != nil }

    func send(_ task: PoolTask, now: UInt64) {
        Frame.run(id: task.id, job: task.job, payload: task.payload).encode(into: &self.output)
        var task = task
        task.isStarted = true
        self.outstanding.append(task)
        if self.outstanding.count == 1 {
            self.headStartedAt = now
        }
        self.assigned += 1
    }

    /// Writes what the socket takes. `false` if the worker is gone.
    func flush() -> Bool {
        while self.hasPendingOutput {
            let transfer = self.output.withUnsafeBytes { bytes in
                Posix.sendSome(self.requestFD, UnsafeRawBufferPointer(rebasing: bytes[self.outputOffset...]))
            }
            switch transfer {
            case .bytes(let count):
                self.outputOffset += count
            case .wouldBlock:
                return true
            case .closed:
                self.output = []
                self.outputOffset = 0
                return false
            }
        }
        self.output.removeAll(keepingCapacity: true)
        self.outputOffset = 0
        return true
    }

    /// Reads what is available into ``input``, but no more once it holds `limit` bytes (the rest waits in the
    /// socket until these are decoded); notes end of file.
    ///
    /// With `limit` above the longest valid frame, what is read always holds a whole frame or a length that
    /// gives the worker away: a worker cannot make the pool buffer more than that.
    func receive(using scratch: inout [UInt8], upTo limit: Int) {
        while !self.reachedEndOfFile && self.input.count < limit {
            let transfer = scratch.withUnsafeMutableBytes { Posix.receiveSome(self.resultFD, into: $0) }
            switch transfer {
            case .bytes(let count):
                self.input.append(contentsOf: scratch[0..<count])
                if count < scratch.count { return }
            case .wouldBlock:
                return
            case .closed:
                self.reachedEndOfFile = true
            }
        }
    }

    /// Closes the work socket: the worker reads end of file after the tasks it has, and exits.
    func closeInput() {
        guard self.requestFD >= 0 else { return }
        close(self.requestFD)
        self.requestFD = -1
    }

    func kill(_ reason: KillReason) {
        guard self.killReason == nil else { return }
        self.killReason = reason
        Posix.sendSignal(SIGKILL, to: self.pid)
    }

    /// Closes both sockets once the process has been reaped.
    func closeAll() {
        self.closeInput()
        if self.resultFD >= 0 {
            close(self.resultFD)
            self.resultFD = -1
        }
    }
}
