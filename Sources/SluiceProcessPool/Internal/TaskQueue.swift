//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// A FIFO of tasks that can also put tasks back at the front (those a dead worker never started).
struct TaskQueue {
    private var storage: [PoolTask] = []
    private var head = 0

    var isEmpty: Bool { self.head == self.storage.count }
    var count: Int { self.storage.count - self.head }

    mutating func append(_ task: PoolTask) {
        self.storage.append(task)
    }

    /// Puts `tasks` back at the front, in their order.
    mutating func prepend(_ tasks: [PoolTask]) {
        guard !tasks.isEmpty else { return }
        self.storage.replaceSubrange(0..<self.head, with: [])
        self.head = 0
        self.storage.insert(contentsOf: tasks, at: 0)
    }

    mutating func popFirst() -> PoolTask? {
        guard self.head < self.storage.count else { return nil }
        let task = self.storage[self.head]
        self.head += 1
        // Drop the consumed prefix now and then, so the array does not grow without bound.
        if self.head == self.storage.count {
            self.storage.removeAll(keepingCapacity: true)
            self.head = 0
        } else if self.head >= 1024 && self.head * 2 >= self.storage.count {
            self.storage.removeFirst(self.head)
            self.head = 0
        }
        return task
    }

    mutating func removeAll() -> [PoolTask] {
        let tasks = Array(self.storage[self.head...])
        self.storage = []
        self.head = 0
        return tasks
    }
}
