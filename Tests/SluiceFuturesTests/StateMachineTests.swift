//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Testing

@testable import SluiceFutures

@Suite struct InFlightLimiterStateMachineTests {
    @Test func releaseGrantsQueuedRequestsInOrderWhileTheyFit() {
        var machine = InFlightLimiterStateMachine<String>(maxCount: 3, maxWeight: 10)
        let acquired = machine.tryAcquire(weight: 10)
        #expect(acquired)
        #expect(machine.acquire(id: 1, weight: 4, waiter: "a") == .enqueued)
        #expect(machine.acquire(id: 2, weight: 4, waiter: "b") == .enqueued)
        #expect(machine.acquire(id: 3, weight: 4, waiter: "c") == .enqueued)
        #expect(machine.release(weight: 10) == ["a", "b"])
        #expect(machine.count == 2 && machine.weight == 8)
        #expect(machine.waiters.map(\.waiter) == ["c"])
    }

    @Test func cancellingTheHeadGrantsTheRequestsBehindIt() {
        var machine = InFlightLimiterStateMachine<String>(maxCount: 5, maxWeight: 10)
        let acquired = machine.tryAcquire(weight: 5)
        #expect(acquired)
        #expect(machine.acquire(id: 1, weight: 8, waiter: "heavy") == .enqueued)
        #expect(machine.acquire(id: 2, weight: 5, waiter: "light") == .enqueued)
        let (removed, granted) = machine.cancel(id: 1)
        #expect(removed == "heavy")
        #expect(granted == ["light"])
        #expect(machine.cancel(id: 2).removed == nil, "a granted request cannot be cancelled")
    }

    @Test func hugeWeightsDoNotOverflowAnUnboundedBudget() {
        var machine = InFlightLimiterStateMachine<String>(maxCount: 5, maxWeight: .max)
        let first = machine.tryAcquire(weight: 10)
        let huge = machine.tryAcquire(weight: .max)
        let rest = machine.tryAcquire(weight: .max - 10)
        #expect(first && !huge && rest)
        #expect(machine.weight == .max)
    }

    @Test func anOversizedRequestWaitsUntilTheLimiterIsEmpty() {
        var machine = InFlightLimiterStateMachine<String>(maxCount: 5, maxWeight: 10)
        let acquired = machine.tryAcquire(weight: 2)
        #expect(acquired)
        #expect(machine.acquire(id: 1, weight: 50, waiter: "huge") == .enqueued)
        #expect(machine.release(weight: 2) == ["huge"])
        #expect(machine.weight == 50)
    }
}

@Suite struct ThreadPoolStateMachineTests {
    @Test func aSubmitWakesOneIdleWorkerOnce() {
        var machine = ThreadPoolStateMachine<Int>(workers: 2)
        guard case .wait = machine.nextWork() else { Issue.record("expected wait"); return }
        guard case .wait = machine.nextWork() else { Issue.record("expected wait"); return }
        #expect(machine.submit(1) == .wakeWorker)
        #expect(machine.submit(2) == .wakeWorker)
        #expect(machine.submit(3) == .none, "both idle workers are already being woken")
        machine.workerWokeUp()
        guard case .run(1) = machine.nextWork() else { Issue.record("expected item 1"); return }
    }

    @Test func shutdownDrainsOnlyCancellableItemsAndTheLastWorkerTerminates() {
        var machine = ThreadPoolStateMachine<Int>(workers: 2)
        #expect(machine.submit(1) == .none)
        #expect(machine.submit(2) == .none)
        guard case .wakeAllWorkers(let cancelled) = machine.shutdown(cancelPending: true, isCancellable: { $0 == 1 })
        else {
            Issue.record("expected wakeAllWorkers")
            return
        }
        #expect(cancelled == [1])
        #expect(machine.submit(3) == .rejected)
        #expect(machine.enqueueJob(4) == .none, "jobs are accepted while workers are alive")
        guard case .run(2) = machine.nextWork() else { Issue.record("expected 2"); return }
        guard case .run(4) = machine.nextWork() else { Issue.record("expected 4"); return }
        guard case .exit(isLast: false) = machine.nextWork() else { Issue.record("expected exit"); return }
        guard case .exit(isLast: true) = machine.nextWork() else { Issue.record("expected last exit"); return }
        #expect(machine.lifecycle == .terminated)
        #expect(machine.enqueueJob(5) == .rejected)
    }
}

@Suite struct FutureStateMachineTests {
    @Test func startingTwiceRunsTheWorkOnce() {
        var machine = FutureStateMachine(work: { .success(1) })
        guard case .run = machine.start() else { Issue.record("expected run"); return }
        guard case .notPending = machine.start() else { Issue.record("expected notPending"); return }
        #expect(machine.futureState == .running)
    }

    @Test func cancelWinsOnlyWhilePendingAndHandsBackTheCallbacks() {
        var machine = FutureStateMachine(work: { .success(1) })
        #expect(machine.addCallback(id: machine.makeCallbackID()) { _ in }.isRegistered)
        guard case .runCallbacks(let callbacks) = machine.cancel() else { Issue.record("expected cancel"); return }
        #expect(callbacks.count == 1)
        #expect(machine.callbackCount == 0)
        guard case .alreadyCancelled = machine.cancel() else { Issue.record("expected alreadyCancelled"); return }
        guard case .notPending = machine.start() else { Issue.record("a cancelled future must not start"); return }
        guard case .alreadyDone = machine.complete(.success(2)) else { Issue.record("expected alreadyDone"); return }
        #expect(machine.futureState == .cancelled)
    }

    @Test func aCompletedFutureRunsNewCallbacksAtOnce() {
        var machine = FutureStateMachine(work: nil)
        guard case .started = machine.start() else { Issue.record("expected started"); return }
        guard case .notCancellable = machine.cancel() else { Issue.record("running cannot be cancelled"); return }
        guard case .runCallbacks = machine.complete(.failure(Boom())) else { Issue.record("expected completion"); return }
        #expect(machine.futureState == .failed)
        #expect(!machine.addCallback(id: machine.makeCallbackID()) { _ in }.isRegistered)
    }
}

extension FutureStateMachine.AddCallbackAction {
    var isRegistered: Bool {
        if case .registered = self { return true }
        return false
    }
}
