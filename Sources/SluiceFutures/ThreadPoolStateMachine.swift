//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import DequeModule

/// The queue and worker bookkeeping of a ``ThreadPoolExecutor``, as a value type that returns actions.
///
/// It is generic over the queued item so that tests can drive it with plain values. The owner keeps it
/// behind its ``ConditionLock`` and performs the returned actions (signal a worker, cancel drained work,
/// announce termination) after unlocking where it can.
///
/// ```
/// running ──shutdown──▶ shuttingDown ──last worker exits──▶ terminated
/// ```
struct ThreadPoolStateMachine<Item> {
    enum Lifecycle: Equatable {
        case running
        case shuttingDown
        case terminated
    }

    private(set) var lifecycle: Lifecycle = .running
    private(set) var queue = Deque<Item>()
    /// Workers that have not exited.
    private(set) var liveWorkers: Int
    /// Workers blocked in (or about to block in) the condition wait.
    private(set) var idleWorkers = 0
    /// Signals sent to idle workers that have not woken up yet, so one submit wakes one worker.
    private(set) var pendingWakeups = 0

    init(workers: Int) {
        precondition(workers > 0, "a thread pool needs at least one worker, got \(workers)")
        self.liveWorkers = workers
    }

    enum EnqueueAction: Equatable {
        /// Signal the condition once: an idle worker is waiting.
        case wakeWorker
        /// Every worker is busy (or already being woken); one will take the item when it is done.
        case none
        /// Not accepted: the pool no longer takes this kind of item.
        case rejected
    }

    /// Queues work submitted through `Executor.submit`; only a running pool accepts it.
    mutating func submit(_ item: Item) -> EnqueueAction {
        guard self.lifecycle == .running else { return .rejected }
        return self.append(item)
    }

    /// Queues a job of a task that prefers this executor. Jobs cannot be refused while workers are alive
    /// (the task would never resume), so they are taken until the last worker has exited.
    mutating func enqueueJob(_ item: Item) -> EnqueueAction {
        guard self.lifecycle != .terminated else { return .rejected }
        return self.append(item)
    }

    private mutating func append(_ item: Item) -> EnqueueAction {
        self.queue.append(item)
        if self.idleWorkers > self.pendingWakeups {
            self.pendingWakeups += 1
            return .wakeWorker
        }
        return .none
    }

    enum WorkerAction {
        /// Run this item, then ask again.
        case run(Item)
        /// Nothing to do: wait on the condition, then call ``workerWokeUp()`` and ask again.
        case wait
        /// Nothing to do, but the worker may not sleep yet: yield the CPU briefly and ask again.
        case retry
        /// Exit the thread. `isLast` is set for the worker whose exit terminates the pool.
        case exit(isLast: Bool)
    }

    /// What a worker should do next; called by the worker with the lock held.
    ///
    /// - Parameter maySleep: `false` while the worker is still in its short spin after finding the queue
    ///   empty. A spinning worker is not counted as idle, so submitters do not pay for a wake-up call
    ///   when a burst of small items arrives; it goes to sleep once the spin is over.
    mutating func nextWork(maySleep: Bool = true) -> WorkerAction {
        if let item = self.queue.popFirst() {
            return .run(item)
        }
        if self.lifecycle == .running {
            guard maySleep else { return .retry }
            self.idleWorkers += 1
            return .wait
        }
        self.liveWorkers -= 1
        if self.liveWorkers == 0 {
            self.lifecycle = .terminated
            return .exit(isLast: true)
        }
        return .exit(isLast: false)
    }

    /// Bookkeeping after a condition wait returns (signalled or spurious).
    mutating func workerWokeUp() {
        self.idleWorkers -= 1
        if self.pendingWakeups > 0 {
            self.pendingWakeups -= 1
        }
    }

    enum ShutdownAction {
        /// Wake every idle worker so they can exit, and cancel these drained items after unlocking.
        case wakeAllWorkers(cancel: [Item])
        /// Shutdown was already requested; nothing new to do except cancelling newly drained items.
        case alreadyShuttingDown(cancel: [Item])
    }

    /// Stops accepting submissions. With `cancelPending`, removes the queued items `isCancellable` selects
    /// (jobs of async tasks are kept: they must run) and returns them to be cancelled.
    mutating func shutdown(cancelPending: Bool, isCancellable: (Item) -> Bool) -> ShutdownAction {
        var drained: [Item] = []
        if cancelPending {
            var kept = Deque<Item>()
            while let item = self.queue.popFirst() {
                if isCancellable(item) {
                    drained.append(item)
                } else {
                    kept.append(item)
                }
            }
            self.queue = kept
        }
        guard self.lifecycle == .running else { return .alreadyShuttingDown(cancel: drained) }
        self.lifecycle = .shuttingDown
        return .wakeAllWorkers(cancel: drained)
    }
}
