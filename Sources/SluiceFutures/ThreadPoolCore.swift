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
import Synchronization
import _SluiceTime

/// An item in a ``ThreadPoolCore`` queue: submitted work or a job of a task that prefers the pool.
enum ThreadPoolWorkItem {
    case task(any ThreadPoolTask)
    /// A job and the executor it must report running on (the public ``ThreadPoolExecutor``).
    case job(UnownedJob, UnownedTaskExecutor)
}

/// Work the pool can run or cancel; ``Future`` is one.
protocol ThreadPoolTask: AnyObject, Sendable {
    func run()
    @discardableResult func cancel() -> Bool
}

extension Future: ThreadPoolTask {}

/// The threads, queue and lock of a ``ThreadPoolExecutor``.
///
/// It is separate from the public class so that the worker threads keep this core alive, not the
/// executor: when the last user reference to a `ThreadPoolExecutor` goes away, its `deinit` shuts the
/// pool down and the threads exit. The runtime sees the public class as the task executor (and keeps it
/// alive while a task prefers it); jobs carry it so that workers can run them on its behalf.
// @unchecked Sendable: `stateMachine`, `workerThreads` and `terminationWaiters` are only accessed with
// `lock` held; `terminated` and `queuedHint` are thread-safe themselves.
final class ThreadPoolCore: @unchecked Sendable {
    private let lock = ConditionLock()
    private var stateMachine: ThreadPoolStateMachine<ThreadPoolWorkItem>
    private var workerThreads: [pthread_t] = []
    private var terminationWaiters: [CheckedContinuation<Void, Never>] = []
    private let terminated = BlockingEvent()
    /// The queue length as of the last change, readable without the lock so that spinning workers do not
    /// fight the submitter for it. Only a hint: decisions are taken under the lock.
    private let queuedHint = Atomic<Int>(0)
    /// When each worker started the item it runs (``MonotonicInstant`` nanoseconds; 0: idle), for
    /// ``workerActivity``: two relaxed stores per item.
    private let busySince: [BusySlot]

    /// One worker's start time, in its own object: `Atomic` cannot live in an array directly.
    private final class BusySlot: Sendable {
        let since = Atomic<Int64>(0)
    }

    init(workers: Int, name: String) {
        self.stateMachine = ThreadPoolStateMachine(workers: workers)
        self.busySince = (0..<workers).map { _ in BusySlot() }
        for index in 0..<workers {
            WorkerThread.start(name: "\(name)-\(index)") { [self] in
                self.lock.withLock { self.workerThreads.append(WorkerThread.current) }
                self.workerLoop(busy: self.busySince[index])
            }
        }
    }

    /// How long each worker has been running its current item; `nil` for an idle one.
    var workerActivity: [Duration?] {
        let now = MonotonicInstant.now.nanoseconds
        return busySince.map { slot in
            let since = slot.since.load(ordering: .relaxed)
            return since == 0 ? nil : .nanoseconds(now - since)
        }
    }

    // MARK: Submitting

    /// Queues `task`. `false` if the pool is shutting down.
    func submit(_ task: any ThreadPoolTask) -> Bool {
        self.lock.lock()
        let action = self.stateMachine.submit(.task(task))
        self.queuedHint.store(self.stateMachine.queue.count, ordering: .relaxed)
        self.lock.unlock()
        switch action {
        case .wakeWorker:
            self.lock.signal()
            return true
        case .none:
            return true
        case .rejected:
            return false
        }
    }

    func enqueue(_ job: consuming ExecutorJob, on executor: UnownedTaskExecutor) {
        let job = UnownedJob(job)
        self.lock.lock()
        let action = self.stateMachine.enqueueJob(.job(job, executor))
        self.queuedHint.store(self.stateMachine.queue.count, ordering: .relaxed)
        self.lock.unlock()
        switch action {
        case .wakeWorker:
            self.lock.signal()
        case .none:
            break
        case .rejected:
            // Every worker has exited, but the task must still resume somewhere.
            globalConcurrentExecutor.enqueue(ExecutorJob(job))
        }
    }

    // MARK: Workers

    /// How many times an idle worker yields the CPU and looks at the queue again before it sleeps on the
    /// condition. A few dozen `sched_yield` calls cost microseconds, and save a futex wake-up per item
    /// when small items arrive one by one; an idle pool still goes to sleep almost at once.
    static let spinsBeforeSleeping = 32

    private func workerLoop(busy: BusySlot) {
        var spins = 0
        self.lock.lock()
        while true {
            switch self.stateMachine.nextWork(maySleep: spins >= Self.spinsBeforeSleeping) {
            case .run(let item):
                self.queuedHint.store(self.stateMachine.queue.count, ordering: .relaxed)
                self.lock.unlock()
                busy.since.store(MonotonicInstant.now.nanoseconds, ordering: .relaxed)
                self.execute(item)
                busy.since.store(0, ordering: .relaxed)
                spins = 0
                self.lock.lock()
            case .retry:
                self.lock.unlock()
                repeat {
                    sched_yield()
                    spins += 1
                } while spins < Self.spinsBeforeSleeping && self.queuedHint.load(ordering: .relaxed) == 0
                self.lock.lock()
            case .wait:
                self.lock.wait()
                self.stateMachine.workerWokeUp()
            case .exit(let isLast):
                let waiters = isLast ? self.terminationWaiters : []
                if isLast { self.terminationWaiters = [] }
                self.workerThreads.removeAll { pthread_equal($0, WorkerThread.current) != 0 }
                self.lock.unlock()
                if isLast {
                    self.terminated.set()
                    for waiter in waiters { waiter.resume() }
                }
                return
            }
        }
    }

    private func execute(_ item: ThreadPoolWorkItem) {
        switch item {
        case .task(let task):
            task.run()
        case .job(let job, let executor):
            job.runSynchronously(on: executor)
        }
    }

    // MARK: Shutdown

    func shutdown(wait: Bool, cancelPending: Bool) {
        self.lock.lock()
        let action = self.stateMachine.shutdown(cancelPending: cancelPending) { item in
            if case .task = item { return true }
            return false
        }
        self.queuedHint.store(self.stateMachine.queue.count, ordering: .relaxed)
        let onWorkerThread = self.workerThreads.contains { pthread_equal($0, WorkerThread.current) != 0 }
        self.lock.unlock()

        let drained: [ThreadPoolWorkItem]
        switch action {
        case .wakeAllWorkers(let cancel):
            self.lock.broadcast()
            drained = cancel
        case .alreadyShuttingDown(let cancel):
            drained = cancel
        }
        for case .task(let task) in drained {
            task.cancel()
        }
        // A worker cannot wait for itself to exit; it returns and exits after its current item.
        if wait, !onWorkerThread {
            _ = self.terminated.wait(until: nil)
        }
    }

    func awaitTermination() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            self.lock.lock()
            if self.stateMachine.lifecycle == .terminated {
                self.lock.unlock()
                continuation.resume()
            } else {
                self.terminationWaiters.append(continuation)
                self.lock.unlock()
            }
        }
    }

    // MARK: Introspection

    var isTerminated: Bool {
        self.lock.withLock { self.stateMachine.lifecycle == .terminated }
    }

    var isShutDown: Bool {
        self.lock.withLock { self.stateMachine.lifecycle != .running }
    }

    var queuedCount: Int {
        self.lock.withLock { self.stateMachine.queue.count }
    }

    var isCurrentThreadAWorker: Bool {
        self.lock.withLock { self.workerThreads.contains { pthread_equal($0, WorkerThread.current) != 0 } }
    }
}
