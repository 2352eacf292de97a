//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import _SluiceTime
import Logging
import SluiceFutures
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The engine of a ``ProcessPoolExecutor``: one OS thread that polls every worker's sockets, sends queued
/// tasks, completes futures, enforces deadlines, and reaps and replaces workers.
///
/// Submitting threads share only ``Shared`` (behind a mutex) with it and wake it through a socket; all
/// worker state belongs to the supervisor thread, so none of it needs a lock.
final class ProcessPoolSupervisor: @unchecked Sendable {
    /// What submitting threads and the supervisor thread share.
    struct Shared {
        var queue = TaskQueue()
        var nextID: UInt64 = 0
        var isShutdown = false
        var cancelPending = false
        /// The supervisor is (about to be) blocked in `poll` and must be woken for new work.
        var isSleeping = false
        var wakePending = false
        var pids: [Int32] = []
        var statistics = ProcessPoolStatistics()
    }

    private struct Slot {
        var worker: WorkerProcess?
        var consecutiveFailures = 0
        var restartAt: UInt64 = 0
    }

    let configuration: ProcessPoolConfiguration
    let logger: Logger
    let shared = Mutex(Shared())
    /// Completed when every worker said hello, failed when one could not start.
    let started = Promise<Void>()
    /// Completed when the supervisor thread has reaped every worker and stopped.
    let terminated = Promise<Void>()
    private let supervisorThreadID = Mutex<UInt?>(nil)

    private let wakeReader: Int32
    private let wakeWriter: Int32
    private let environment: [String]

    // Owned by the supervisor thread (`@unchecked Sendable` above rests on this).
    private var slots: [Slot]
    private var isStarting = true
    private var stoppingSince: UInt64?
    private var scratch = [UInt8](repeating: 0, count: 1 << 16)
    /// The longest frame a worker may send: a result of the configured size plus its header or an error.
    private var maximumReplyLength: Int {
        self.configuration.maximumResultBytes + Frame.replyOverhead
    }

    init(configuration: ProcessPoolConfiguration, environment: [String], logger: Logger) throws(ProcessPoolError) {
        guard let (reader, writer) = Posix.socketPair() else {
            throw ProcessPoolError(
                code: .spawnFailed,
                message: "Could not create the pool's wake-up socket: \(Posix.describe(errno: errno))")
        }
        Posix.setNonBlocking(reader)
        Posix.setNonBlocking(writer)
        self.wakeReader = reader
        self.wakeWriter = writer
        self.configuration = configuration
        self.environment = environment
        self.logger = logger
        self.slots = Array(repeating: Slot(), count: configuration.workers)
    }

    deinit {
        close(self.wakeReader)
        close(self.wakeWriter)
    }

    /// Starts the supervisor thread, which spawns the workers.
    func start() {
        SupervisorThread.start { self.run() }
    }

    // MARK: Submitting threads

    /// Queues a task built from a fresh identifier; `false` after shutdown.
    func submit(_ makeTask: (UInt64) -> PoolTask) -> Bool {
        let (accepted, wake) = self.shared.withLock { shared -> (Bool, Bool) in
            guard !shared.isShutdown else { return (false, false) }
            shared.nextID += 1
            shared.queue.append(makeTask(shared.nextID))
            guard shared.isSleeping, !shared.wakePending else { return (true, false) }
            shared.wakePending = true
            return (true, true)
        }
        if wake { self.wake() }
        return accepted
    }

    /// Stops accepting tasks; with `cancelPending`, cancels the queued ones.
    func shutdown(cancelPending: Bool) {
        let cancelled = self.shared.withLock { shared -> [PoolTask] in
            shared.isShutdown = true
            guard cancelPending else { return [] }
            shared.cancelPending = true
            return shared.queue.removeAll()
        }
        // Outside the lock: cancelling runs the futures' callbacks.
        for task in cancelled {
            if task.isStarted {
                // Sent to a worker that died before running it: its future is already running.
                task.finish(.failure(FutureError.cancelled))
            } else {
                task.cancel()
            }
        }
        self.wake()
    }

    /// Whether the caller runs on the supervisor thread (in a future's callback), where waiting for the
    /// supervisor to finish would deadlock.
    var isCurrentThreadTheSupervisor: Bool {
        let current = SupervisorThread.currentID
        return self.supervisorThreadID.withLock { $0 == current }
    }

    private func wake() {
        var byte: UInt8 = 1
        _ = write(self.wakeWriter, &byte, 1)
    }

    // MARK: The loop

    private func run() {
        let threadID = SupervisorThread.currentID
        self.supervisorThreadID.withLock { $0 = threadID }
        while true {
            let now = UInt64(MonotonicInstant.now.nanoseconds)
            let (isShutdown, cancelPending, queueIsEmpty) = self.shared.withLock {
                ($0.isShutdown, $0.cancelPending, $0.queue.isEmpty)
            }
            let stopping = isShutdown && queueIsEmpty
            if stopping {
                if self.stoppingSince == nil { self.stoppingSince = now }
            } else {
                self.stoppingSince = nil
            }
            if stopping && self.slots.allSatisfy({ $0.worker == nil }) {
                break
            }

            if !stopping {
                self.startDueWorkers(now: now)
            }
            var again = self.assignTasks(now: now)
            self.enforceDeadlines(now: now, stopping: stopping, cancelPending: cancelPending)
            self.closeInputs(now: now, stopping: stopping, cancelPending: cancelPending)
            for slot in self.slots.indices {
                guard let worker = self.slots[slot].worker, worker.requestFD >= 0, worker.hasPendingOutput else {
                    continue
                }
                if !worker.flush() {
                    // The worker is gone; its result socket reports end of file and it is reaped below.
                    worker.closeInput()
                }
            }
            if self.reapExited(now: UInt64(MonotonicInstant.now.nanoseconds), stopping: stopping, cancelPending: cancelPending) {
                again = true
            }

            let readable = self.waitForEvents(
                timeout: again ? 0 : self.pollTimeout(now: UInt64(MonotonicInstant.now.nanoseconds), stopping: stopping))
            for slot in self.slots.indices {
                guard let worker = self.slots[slot].worker, worker.resultFD >= 0, readable.contains(worker.resultFD)
                else { continue }
                worker.receive(using: &self.scratch, upTo: self.maximumReplyLength + 4)
                self.handleFrames(of: worker, slot: slot, cancelPending: cancelPending)
            }
        }
        // The wake-up socket stays open until deinit: a late shutdown() still writes to it, and must not write
        // into whatever file reuses its number.
        // A pool shut down during startup has not completed `started`.
        self.started.fail(
            ProcessPoolError(code: .spawnFailed, message: "The pool was shut down while its workers were starting"))
        self.terminated.succeed(())
    }

    // MARK: Workers coming and going

    private func startDueWorkers(now: UInt64) {
        for slot in self.slots.indices where self.slots[slot].worker == nil && self.slots[slot].restartAt <= now {
            do {
                let spawned = try WorkerSpawner.spawn(
                    executable: self.configuration.executable,
                    arguments: self.configuration.arguments,
                    environment: self.environment
                )
                self.slots[slot].worker = WorkerProcess(spawned: spawned, now: now)
                self.shared.withLock {
                    $0.pids.append(spawned.pid)
                    $0.statistics.workersStarted += 1
                }
                self.logger.debug(
                    "started worker process", metadata: [ProcessPoolLoggingKeys.workerPID: "\(spawned.pid)"])
            } catch {
                self.logger.error("\(error)")
                if self.isStarting {
                    self.isStarting = false
                    self.started.fail(error)
                }
                self.slots[slot].consecutiveFailures += 1
                self.slots[slot].restartAt = now + self.restartDelay(failures: self.slots[slot].consecutiveFailures)
                // Without any worker nothing would ever run the queue: fail it rather than let callers wait.
                if self.slots.allSatisfy({ $0.worker == nil }) {
                    let queued = self.shared.withLock { $0.queue.removeAll() }
                    for task in queued { self.fail(task, error) }
                }
            }
        }
    }

    /// Moves queued tasks to workers with room. `true` if it should run again at once (cancelled tasks left room).
    private func assignTasks(now: UInt64) -> Bool {
        let limit = self.configuration.tasksInFlightPerWorker
        var room = 0
        for slot in self.slots {
            if let worker = slot.worker, worker.canTakeTask(limit: limit) {
                room += limit - worker.outstanding.count
            }
        }
        guard room > 0 else { return false }
        var tasks: [PoolTask] = []
        self.shared.withLock { shared in
            while tasks.count < room, let task = shared.queue.popFirst() {
                tasks.append(task)
            }
        }
        guard !tasks.isEmpty else { return false }
        var skipped = false
        var next = tasks.makeIterator()
        // Fill the emptiest workers first, so two workers with one slot free each get one task each.
        while true {
            let candidates = self.slots.compactMap(\.worker).filter { $0.canTakeTask(limit: limit) }
            guard let worker = candidates.min(by: { $0.outstanding.count < $1.outstanding.count }) else { break }
            guard let task = next.next() else { break }
            guard task.isStarted || task.start() else {
                skipped = true  // cancelled while queued
                continue
            }
            worker.send(task, now: now)
            if let maximum = self.configuration.maxTasksPerWorker, worker.assigned >= maximum {
                worker.isRetiring = true
            }
        }
        let unassigned = Array(next)
        if !unassigned.isEmpty {
            self.shared.withLock { $0.queue.prepend(unassigned) }
        }
        return skipped
    }

    private func enforceDeadlines(now: UInt64, stopping: Bool, cancelPending: Bool) {
        for slot in self.slots.indices {
            guard let worker = self.slots[slot].worker else { continue }
            if worker.killReason == nil, let head = worker.outstanding.first, let timeout = head.timeoutNanoseconds,
                now >= worker.headStartedAt &+ timeout
            {
                worker.kill(.timeout)
                worker.outstanding.removeFirst()
                let error = ProcessPoolError(
                    code: .timedOut,
                    message:
                        "Job '\(head.job)' timed out after \(Self.format(head.timeout)); its worker \(worker.pid) was killed with SIGKILL and will be replaced",
                    job: head.job,
                    workerPID: worker.pid
                )
                self.logger.warning(
                    "job timed out; killing its worker",
                    metadata: [
                        ProcessPoolLoggingKeys.job: "\(head.job)", ProcessPoolLoggingKeys.workerPID: "\(worker.pid)",
                    ]
                )
                self.shared.withLock { $0.statistics.workersTimedOut += 1 }
                self.fail(head, error)
                self.giveBack(worker, stopping: stopping, cancelPending: cancelPending)
            }
            if worker.killReason == nil, let deadline = worker.killDeadline, now >= deadline {
                worker.kill(stopping ? .shutdown : .unresponsive)
                self.logger.warning(
                    "worker did not exit in time; killed it",
                    metadata: [ProcessPoolLoggingKeys.workerPID: "\(worker.pid)"]
                )
                for task in worker.outstanding {
                    self.fail(
                        task,
                        ProcessPoolError(
                            code: .shutDown,
                            message:
                                "The pool was shut down while job '\(task.job)' was running; its worker \(worker.pid) was killed after the grace period of \(Self.format(self.configuration.shutdownGracePeriod))",
                            job: task.job,
                            workerPID: worker.pid
                        )
                    )
                }
                worker.outstanding = []
            }
        }
    }

    /// Closes the input of workers that are to exit: retiring ones once idle, all of them at shutdown.
    private func closeInputs(now: UInt64, stopping: Bool, cancelPending: Bool) {
        let grace = Self.nanoseconds(self.configuration.shutdownGracePeriod)
        for slot in self.slots.indices {
            guard let worker = self.slots[slot].worker, worker.requestFD >= 0, !worker.hasPendingOutput else {
                continue
            }
            let idle = worker.outstanding.isEmpty
            if stopping && cancelPending {
                // Tasks already sent still run; the grace period counts from the start of the shutdown.
                worker.closeInput()
                worker.killDeadline = (self.stoppingSince ?? now) &+ grace
            } else if idle && (stopping || worker.isRetiring) {
                worker.closeInput()
                worker.killDeadline = now &+ grace
            }
        }
    }

    /// Reaps workers that have exited and decides what their exit means. `true` if any was reaped.
    private func reapExited(now: UInt64, stopping: Bool, cancelPending: Bool) -> Bool {
        var reaped = false
        for slot in self.slots.indices {
            guard let worker = self.slots[slot].worker, worker.mayHaveExited else { continue }
            guard let termination = Posix.reapIfExited(worker.pid) else {
                if worker.killDeadline == nil {
                    // It closed its result socket but still runs: give it the grace period to finish exiting.
                    worker.killDeadline = now &+ Self.nanoseconds(self.configuration.shutdownGracePeriod)
                }
                continue
            }
            reaped = true
            worker.closeAll()
            self.slots[slot].worker = nil
            self.shared.withLock { $0.pids.removeAll { $0 == worker.pid } }
            self.handleExit(
                of: worker, slot: slot, termination: termination, now: now, stopping: stopping,
                cancelPending: cancelPending)
        }
        return reaped
    }

    private func handleExit(
        of worker: WorkerProcess,
        slot: Int,
        termination: Posix.Termination,
        now: UInt64,
        stopping: Bool,
        cancelPending: Bool
    ) {
        let metadata: Logger.Metadata = [
            ProcessPoolLoggingKeys.workerPID: "\(worker.pid)", ProcessPoolLoggingKeys.exit: "\(termination)",
        ]
        let plannedExit = worker.killReason == nil && worker.outstanding.isEmpty && (worker.isRetiring || stopping)
        if plannedExit || worker.killReason == .shutdown {
            if worker.isRetiring && !stopping {
                self.shared.withLock { $0.statistics.workersRecycled += 1 }
                self.logger.debug("recycled worker process", metadata: metadata)
            }
            self.slots[slot].restartAt = now
            return
        }
        if worker.killReason == nil {
            // It died on its own: that fails the task it was running, and only that one.
            let error = self.deathError(of: worker, termination: termination)
            self.logger.warning("worker process died: \(error.message)", metadata: metadata)
            self.shared.withLock {
                if case .signaled = termination {
                    $0.statistics.workersCrashed += 1
                } else {
                    $0.statistics.workersExited += 1
                }
            }
            if !worker.outstanding.isEmpty {
                self.fail(worker.outstanding.removeFirst(), error)
            }
            self.giveBack(worker, stopping: stopping, cancelPending: cancelPending)
            if self.isStarting && !worker.isReady {
                self.isStarting = false
                self.started.fail(error)
            }
        }
        self.slots[slot].consecutiveFailures += 1
        let delay = self.restartDelay(failures: self.slots[slot].consecutiveFailures)
        self.slots[slot].restartAt = now &+ delay
    }

    /// The error for the task a worker was running when it died.
    private func deathError(of worker: WorkerProcess, termination: Posix.Termination) -> ProcessPoolError {
        let job = worker.outstanding.first?.job
        let during: String
        if let job {
            during =
                worker.isReady
                ? "while running job '\(job)'" : "before it started serving jobs, with job '\(job)' queued"
        } else {
            during = worker.isReady ? "while idle" : "before it started serving jobs"
        }
        let hint =
            worker.isReady
            ? ""
            : "; does \(self.configuration.executable) call ProcessPoolWorker.serve(jobs:) when ProcessPoolWorker.isWorkerProcess is true?"
        switch termination {
        case .signaled(let signal):
            // The pool's own kills never get here (they have a kill reason): this signal came from the job or
            // from outside.
            let what =
                ProcessPoolError.externalStopSignals.contains(signal)
                ? "was stopped from outside the pool with signal" : "crashed with signal"
            return ProcessPoolError(
                code: .workerCrashed,
                message: "Worker \(worker.pid) \(what) \(SignalNames.explained(signal)) \(during)\(hint)",
                job: job,
                signal: signal,
                workerPID: worker.pid
            )
        case .exited(let status):
            return ProcessPoolError(
                code: .workerExited,
                message: "Worker \(worker.pid) exited with status \(status) \(during)\(hint)",
                job: job,
                exitStatus: status,
                workerPID: worker.pid
            )
        case .unknown:
            return ProcessPoolError(
                code: .workerExited,
                message:
                    "Worker \(worker.pid) ended \(during), and its exit status could not be read (was it reaped by someone else?)\(hint)",
                job: job,
                workerPID: worker.pid
            )
        }
    }

    /// Hands the tasks a dead worker never started back to the queue (or fails them when the pool is
    /// stopping without waiting).
    private func giveBack(_ worker: WorkerProcess, stopping: Bool, cancelPending: Bool) {
        let unstarted = worker.outstanding
        worker.outstanding = []
        guard !unstarted.isEmpty else { return }
        if stopping && cancelPending {
            for task in unstarted {
                self.fail(
                    task,
                    ProcessPoolError(
                        code: .shutDown,
                        message: "The pool was shut down before job '\(task.job)' could run on another worker",
                        job: task.job
                    )
                )
            }
        } else {
            self.shared.withLock { $0.queue.prepend(unstarted) }
        }
    }

    // MARK: Results

    private func handleFrames(of worker: WorkerProcess, slot: Int, cancelPending: Bool) {
        var offset = 0
        defer {
            if offset > 0 { worker.input.removeFirst(offset) }
        }
        while worker.killReason == nil {
            switch Frame.decode(from: worker.input, at: offset, maximumLength: self.maximumReplyLength) {
            case .incomplete:
                return
            case .corrupt(let what):
                self.protocolViolation(worker, "sent \(what)", cancelPending: cancelPending)
                return
            case .frame(let frame, let next):
                offset = next
                switch frame {
                case .hello(let version, _):
                    guard version == Frame.protocolVersion else {
                        self.protocolViolation(
                            worker,
                            "speaks protocol version \(version), this pool \(Frame.protocolVersion) (a stale worker binary?)",
                            cancelPending: cancelPending)
                        return
                    }
                    worker.isReady = true
                    if self.isStarting && self.slots.allSatisfy({ $0.worker?.isReady == true }) {
                        self.isStarting = false
                        self.started.succeed(())
                    }
                case .success(let id, let payload):
                    guard let task = self.popHead(of: worker, id: id, cancelPending: cancelPending) else { return }
                    self.slots[slot].consecutiveFailures = 0
                    self.shared.withLock { $0.statistics.tasksSucceeded += 1 }
                    task.finish(.success(payload))
                    self.checkMemory(of: worker)
                case .thrown(let id, let type, let description):
                    guard let task = self.popHead(of: worker, id: id, cancelPending: cancelPending) else { return }
                    self.slots[slot].consecutiveFailures = 0
                    self.fail(
                        task,
                        ProcessPoolError(
                            code: .jobFailed,
                            message: "Job '\(task.job)' threw \(type): \(description)",
                            job: task.job,
                            workerPID: worker.pid,
                            remoteErrorType: type,
                            remoteDescription: description
                        )
                    )
                    self.checkMemory(of: worker)
                case .notFound(let id, let description):
                    guard let task = self.popHead(of: worker, id: id, cancelPending: cancelPending) else { return }
                    self.fail(
                        task,
                        ProcessPoolError(code: .jobNotFound, message: description, job: task.job, workerPID: worker.pid)
                    )
                case .run:
                    self.protocolViolation(worker, "sent a run frame", cancelPending: cancelPending)
                    return
                }
            }
        }
    }

    /// Removes the task a result is for: the first outstanding one, whose identifier it must carry.
    private func popHead(of worker: WorkerProcess, id: UInt64, cancelPending: Bool) -> PoolTask? {
        guard let head = worker.outstanding.first, head.id == id else {
            self.protocolViolation(
                worker, "answered task \(id), which it was not running", cancelPending: cancelPending)
            return nil
        }
        worker.outstanding.removeFirst()
        worker.headStartedAt = UInt64(MonotonicInstant.now.nanoseconds)
        return head
    }

    private func protocolViolation(_ worker: WorkerProcess, _ what: String, cancelPending: Bool) {
        worker.kill(.protocolViolation)
        self.logger.error(
            "worker \(worker.pid) \(what); killed it", metadata: [ProcessPoolLoggingKeys.workerPID: "\(worker.pid)"])
        if !worker.outstanding.isEmpty {
            let task = worker.outstanding.removeFirst()
            self.fail(
                task,
                ProcessPoolError(
                    code: .protocolViolation,
                    message:
                        "Worker \(worker.pid) \(what) while running job '\(task.job)'; it was killed and will be replaced",
                    job: task.job,
                    workerPID: worker.pid
                )
            )
        }
        let stopping = self.shared.withLock { $0.isShutdown && $0.queue.isEmpty }
        self.giveBack(worker, stopping: stopping, cancelPending: cancelPending)
    }

    /// Recycles a worker whose resident memory exceeds the limit, between tasks.
    private func checkMemory(of worker: WorkerProcess) {
        guard let limit = self.configuration.maxMemoryBytes, !worker.isRetiring else { return }
        // Reading /proc costs a few microseconds: after every task, but at most once a millisecond.
        let now = UInt64(MonotonicInstant.now.nanoseconds)
        guard now &- worker.lastMemoryCheck >= 1_000_000 else { return }
        worker.lastMemoryCheck = now
        guard let resident = Posix.residentBytes(of: worker.pid), resident > limit else { return }
        worker.isRetiring = true
        self.logger.info(
            "recycling worker above its memory limit",
            metadata: [ProcessPoolLoggingKeys.workerPID: "\(worker.pid)", "process-pool.worker.rss": "\(resident)"]
        )
    }

    private func fail(_ task: PoolTask, _ error: any Error) {
        self.shared.withLock { $0.statistics.tasksFailed += 1 }
        task.finish(.failure(error))
    }

    // MARK: Waiting

    /// Milliseconds until the next deadline: a task timeout, a kill, a restart, or reaping.
    private func pollTimeout(now: UInt64, stopping: Bool) -> Int32 {
        var next: UInt64?
        func consider(_ time: UInt64) {
            next = min(next ?? time, time)
        }
        for slot in self.slots {
            guard let worker = slot.worker else {
                if !stopping { consider(slot.restartAt) }
                continue
            }
            if worker.mayHaveExited {
                // An exiting process closes its sockets a moment before it can be reaped: check back soon.
                consider(now &+ 2_000_000)
            }
            if let deadline = worker.killDeadline { consider(deadline) }
            if worker.killReason == nil, let timeout = worker.outstanding.first?.timeoutNanoseconds {
                consider(worker.headStartedAt &+ timeout)
            }
        }
        guard let next else { return -1 }
        guard next > now else { return 0 }
        // Round up so that the deadline has passed when poll returns.
        return Int32(min((next - now + 999_999) / 1_000_000, 60_000))
    }

    /// Blocks in `poll` until a worker socket or the wake-up socket is ready, or `timeout` ms pass.
    /// - Returns: the result sockets that are readable (or hung up).
    private func waitForEvents(timeout: Int32) -> Set<Int32> {
        var descriptors: [pollfd] = [pollfd(fd: self.wakeReader, events: Int16(POLLIN), revents: 0)]
        for slot in self.slots {
            guard let worker = slot.worker else { continue }
            if worker.resultFD >= 0 && !worker.reachedEndOfFile {
                descriptors.append(pollfd(fd: worker.resultFD, events: Int16(POLLIN), revents: 0))
            }
            if worker.requestFD >= 0 && worker.hasPendingOutput {
                descriptors.append(pollfd(fd: worker.requestFD, events: Int16(POLLOUT), revents: 0))
            }
        }
        var timeout = timeout
        if timeout != 0 {
            let hasWork = self.shared.withLock { shared -> Bool in
                guard shared.queue.isEmpty && !shared.wakePending else { return true }
                shared.isSleeping = true
                return false
            }
            if hasWork,
                self.slots.contains(where: {
                    $0.worker?.canTakeTask(limit: self.configuration.tasksInFlightPerWorker) == true
                })
            {
                timeout = 0
            }
        }
        Posix.waitForEvents(&descriptors, timeout: timeout)
        self.shared.withLock {
            $0.isSleeping = false
            $0.wakePending = false
        }
        if descriptors[0].revents != 0 {
            var drain = [UInt8](repeating: 0, count: 64)
            while read(self.wakeReader, &drain, drain.count) > 0 {}
        }
        var readable = Set<Int32>()
        for descriptor in descriptors.dropFirst() where descriptor.revents != 0 && descriptor.events == Int16(POLLIN) {
            readable.insert(descriptor.fd)
        }
        return readable
    }

    // MARK: Helpers

    private func restartDelay(failures: Int) -> UInt64 {
        let initial = Self.nanoseconds(self.configuration.initialRestartDelay)
        let maximum = Self.nanoseconds(self.configuration.maximumRestartDelay)
        guard failures > 1 else { return min(initial, maximum) }
        let shift = UInt64(min(failures - 1, 30))
        let (doubled, overflow) = initial.multipliedReportingOverflow(by: 1 << shift)
        return overflow ? maximum : min(doubled, maximum)
    }

    static func nanoseconds(_ duration: Duration) -> UInt64 {
        UInt64(max(0, duration.nanoseconds))
    }

    static func format(_ duration: Duration?) -> String {
        guard let duration else { return "no limit" }
        let nanoseconds = Self.nanoseconds(duration)
        if nanoseconds >= 1_000_000_000 {
            let tenths = (nanoseconds + 50_000_000) / 100_000_000
            return "\(tenths / 10).\(tenths % 10) s"
        }
        return "\(nanoseconds / 1_000_000) ms"
    }
}
