//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import DequeModule

/// Lanes serialize work: items with the same lane run one at a time, in admission order; items
/// without a lane run at once.
///
/// The scheduler only decides; it runs nothing. The consumer loop admits each message with the
/// lane its ``OrderingMode`` gives it, starts what ``admit(_:lane:)`` hands back, and calls
/// ``complete(lane:)`` when a laned item finishes, starting what that hands back:
///
/// ```swift
/// var scheduler = OrderingScheduler<OrderingLane, Int64>()
/// let lane = OrderingLane.partition(LanePartition(number: 0))
/// scheduler.admit(10, lane: lane)  // 10: start it
/// scheduler.admit(11, lane: lane)  // nil: queued behind 10
/// scheduler.complete(lane: lane)   // 11: now running
/// scheduler.complete(lane: lane)   // nil: the lane is idle
/// ```
///
/// The running item of a lane is not stored, only that the lane is busy, and an idle lane holds no
/// memory: with one lane per key, the state stays bounded by the in-flight window, not by the
/// number of keys ever seen.
struct OrderingScheduler<Lane: Hashable & Sendable, Item: Sendable>: Sendable {
    /// Busy lanes and the items waiting on each, oldest first. A lane is present exactly while one
    /// of its items runs; it is removed as soon as it is idle.
    private var lanes: [Lane: LaneQueue] = [:]

    /// A busy lane's waiting items. `isNew` only between its insertion by ``admit(_:lane:)`` and
    /// that call's return: so that admitting finds or makes the lane in one look-up.
    private struct LaneQueue: Sendable {
        /// `nil` until an item waits. An empty `Deque` is not free: it references one storage
        /// object that every empty deque of the process shares, so making a lane (poll thread)
        /// and freeing it (a worker) would each count a reference on that one object, a cache
        /// line the threads pass back and forth once per message with key order.
        var items: Deque<Item>?
        var isNew = false

        /// How many items wait.
        var count: Int { items?.count ?? 0 }

        /// Hands `item` back to start on a lane just made busy, or queues it behind the running one.
        mutating func admit(_ item: consuming Item) -> Item? {
            if isNew {
                isNew = false
                return item
            }
            // Room for a few at once: a queue grown from empty by appends (by half each time)
            // reallocates at 1, 2, 3, 5, 8 items, which cost 0.3 allocations per message with
            // key order on a topic of about 20 keys per partition.
            if items == nil { items = Deque(minimumCapacity: Self.initialCapacity) }
            items!.append(item)
            return nil
        }

        /// Takes the oldest waiting item; one must wait.
        mutating func removeFirst() -> Item {
            items!.removeFirst()
        }

        /// Puts `waiting` in front of the waiting items, in their order.
        mutating func prepend(_ waiting: [Item]) {
            if items == nil { items = Deque(minimumCapacity: waiting.count) }
            items!.prepend(contentsOf: waiting)
        }

        /// The room a lane's queue is given for its first waiting item.
        static var initialCapacity: Int { 8 }
    }

    /// The number of items waiting on their lane, over all lanes.
    private(set) var queuedCount: Int = 0

    /// Creates a scheduler with every lane idle.
    init() {}

    /// The number of lanes with an item running.
    var activeLaneCount: Int {
        self.lanes.count
    }

    /// Admits an item.
    ///
    /// - Parameters:
    ///   - item: The work to run.
    ///   - lane: The lane to serialize it on, or nil to run it at once.
    /// - Returns: The item back if it may start now (its lane was idle, and is now busy, or it has
    ///   no lane); nil if it was queued behind its lane.
    mutating func admit(_ item: consuming Item, lane: Lane?) -> Item? {
        guard let lane else {
            return item
        }
        // One hash of the lane (a key lane hashes its key's bytes), whether it was idle or busy.
        guard let started = self.lanes[lane, default: LaneQueue(isNew: true)].admit(item) else {
            self.queuedCount += 1
            return nil
        }
        return started
    }

    /// Marks the running item of `lane` finished.
    ///
    /// Items admitted without a lane need no completion call. Completing a lane that is idle does
    /// nothing and returns nil.
    ///
    /// - Parameter lane: The lane of the item that finished.
    /// - Returns: The next queued item of that lane, which is now running; or nil, and the lane
    ///   becomes idle.
    mutating func complete(lane: Lane) -> Item? {
        guard let index = self.lanes.index(forKey: lane) else {
            return nil
        }
        if self.lanes.values[index].count == 0 {
            // Free the lane so that one-off keys do not accumulate.
            self.lanes.remove(at: index)
            return nil
        }
        self.queuedCount -= 1
        return self.lanes.values[index].removeFirst()
    }

    /// The next item queued on `lane`, if any, left in place.
    func peekQueued(lane: Lane) -> Item? {
        self.lanes[lane]?.items?.first
    }

    /// How many items wait on `lane`.
    func queuedCount(on lane: Lane) -> Int {
        self.lanes[lane]?.count ?? 0
    }

    /// A lane run: `first` (the lane's item that starts now) and up to `limit` items queued behind
    /// it, oldest first, taken in one look-up of the lane and into an array sized once; nil when
    /// none wait. The lane stays busy, and one ``complete(lane:)`` later frees it for all of them.
    mutating func run(startingWith first: Item, lane: Lane, upTo limit: Int) -> [Item]? {
        guard limit > 0, let index = self.lanes.index(forKey: lane) else { return nil }
        let count = Swift.min(limit, self.lanes.values[index].count)
        guard count > 0 else { return nil }
        var run: [Item] = []
        run.reserveCapacity(1 + count)
        run.append(first)
        for _ in 0..<count { run.append(self.lanes.values[index].removeFirst()) }
        self.queuedCount -= count
        return run
    }

    /// Takes the next item queued on `lane` to run together with the lane's running item (a
    /// batch): the lane stays busy, and one ``complete(lane:)`` later frees it for both.
    mutating func takeQueued(lane: Lane) -> Item? {
        guard let index = self.lanes.index(forKey: lane), self.lanes.values[index].count > 0 else {
            return nil
        }
        self.queuedCount -= 1
        return self.lanes.values[index].removeFirst()
    }

    /// Puts items back at the front of a busy lane's queue, in their order: the un-run rest of a
    /// lane run whose member failed (the failed member holds the lane). The lane must be busy.
    mutating func requeueFront(_ items: [Item], lane: Lane) {
        assert(self.lanes[lane] != nil, "requeued on an idle lane")
        self.lanes[lane, default: LaneQueue()].prepend(items)
        self.queuedCount += items.count
    }

    /// Removes the queued items matching the predicate and returns them; running items are
    /// untouched and their lanes stay busy until completed.
    ///
    /// On revocation the engine drops the queued messages of the revoked partitions: their new
    /// owner will receive them again.
    ///
    /// - Parameter predicate: Called once per queued item; true removes it.
    /// - Returns: The removed items, in admission order within each lane.
    mutating func removeQueued(where predicate: (Item) -> Bool) -> [Item] {
        var removed: [Item] = []
        // A manual index walk: iterating `indices` would hold a second reference to the storage
        // and make every in-place write below copy the whole dictionary.
        var index = self.lanes.startIndex
        while index != self.lanes.endIndex {
            if let queued = self.lanes.values[index].items, !queued.isEmpty {
                var kept: Deque<Item> = []
                for item in queued {
                    if predicate(item) {
                        removed.append(item)
                    } else {
                        kept.append(item)
                    }
                }
                if kept.count != queued.count {
                    self.lanes.values[index].items = kept
                }
            }
            self.lanes.formIndex(after: &index)
        }
        self.queuedCount -= removed.count
        return removed
    }
}
