//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Synchronization
import Testing

@testable import SluiceFutures

/// A thread-safe counter for tests.
final class Counter: Sendable {
    private let storage = Atomic<Int>(0)

    init() {}

    @discardableResult
    func increment(by amount: Int = 1) -> Int {
        self.storage.add(amount, ordering: .relaxed).newValue
    }

    func decrement(by amount: Int = 1) {
        self.storage.subtract(amount, ordering: .relaxed)
    }

    var value: Int { self.storage.load(ordering: .relaxed) }
}

/// A one-shot signal a test can open from one thread and wait for, bounded, on another.
final class Gate: Sendable {
    private let promise = Promise<Void>()

    init() {}

    func open() { self.promise.succeed(()) }

    /// Blocks until opened; fails (throws) after `timeout` so a bug cannot hang the suite.
    func wait(timeout: Duration = .seconds(20)) throws {
        try self.promise.future.result(timeout: timeout)
    }

    func waitAsync(timeout: Duration = .seconds(20)) async throws {
        try await withTimeout(timeout) { try await self.promise.future.value }
    }

    var isOpen: Bool { self.promise.future.isDone }
}

struct TestTimedOut: Error, CustomStringConvertible {
    var description: String { "the test waited too long: something did not happen" }
}

struct Boom: Error, Equatable {
    var id = 0
}

/// Runs `operation`, failing with ``TestTimedOut`` if it takes longer than `timeout`.
/// (The sleep only bounds the wait; it never synchronises anything.)
func withTimeout<T: Sendable>(
    _ timeout: Duration = .seconds(20),
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: timeout)
            throw TestTimedOut()
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

/// The number of completion callbacks still registered on `future` (to check waiters clean up).
func registeredCallbacks<T>(_ future: Future<T>) -> Int {
    future.box.withLock { $0.callbackCount }
}

/// Blocks the calling worker until the test opens `gate`, telling the test via `started` that it runs.
@Sendable
func blockUntilOpened(_ gate: Gate, started: Gate? = nil) throws {
    started?.open()
    try gate.wait()
}
