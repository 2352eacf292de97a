//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import _SluiceTime
internal import Sluice
internal import Synchronization

/// Records when each message of a benchmark was handled, cheaply enough for a no-op handler:
/// one clock read, one store into a preallocated slot per offset, one atomic increment.
///
/// From those times it derives the rate (first to last, and over the second half) and how long
/// each message waited, once done, for its partition's commit point to pass it (the commit point
/// passes offset `o` when every offset up to `o` is done).
///
/// `@unchecked Sendable`: each slot is written by the one thread that handled its message, and
/// read only after the consumer has stopped (``count`` and the marks are atomics).
final class CompletionRecorder: @unchecked Sendable {
    /// Done times per partition index, per offset (0: not handled).
    private let times: [UnsafeMutableBufferPointer<Int64>]
    /// The partitions of the topic, by number: a message is checked against its partition in
    /// place (``KafkaMessage/isFrom(_:)``), without copying the topic's name.
    private let partitions: [TopicPartition]
    private let target: Int
    private let handledCount = Atomic<Int>(0)
    private let firstAt = Atomic<Int64>(0)
    private let middleAt = Atomic<Int64>(0)
    private let lastAt = Atomic<Int64>(0)
    /// Process CPU time at the first and the `target`-th message, in µs (0: not yet).
    private let firstCPU = Atomic<Int64>(0)
    private let lastCPU = Atomic<Int64>(0)
    /// The process's allocation count at the first and the `target`-th message (-1: not yet, or
    /// no allocation counter).
    private let firstAllocations = Atomic<Int64>(-1)
    private let lastAllocations = Atomic<Int64>(-1)
    /// Messages outside the slots (an unexpected partition or offset), or handled twice.
    private let strays = Atomic<Int>(0)

    /// - Parameters:
    ///   - topic: The topic read.
    ///   - endOffsets: Each partition's end offset: the slots to allocate.
    ///   - target: Messages to handle; the last mark is set when this many are handled.
    init(topic: String, endOffsets: [Int64], target: Int) {
        self.partitions = endOffsets.indices.map { TopicPartition(topic: topic, partition: Int32($0)) }
        self.target = target
        self.times = endOffsets.map { end in
            let buffer = UnsafeMutableBufferPointer<Int64>.allocate(capacity: Int(max(end, 0)))
            buffer.initialize(repeating: 0)
            return buffer
        }
    }

    deinit {
        for buffer in times { buffer.deallocate() }
    }

    /// Messages handled so far.
    var count: Int { handledCount.load(ordering: .acquiring) }

    /// Records that `message` was handled now.
    func record(_ message: KafkaMessage) {
        let now = MonotonicInstant.now.nanoseconds
        let partition = Int(message.partition)
        let offset = Int(message.offset)
        if times.indices.contains(partition), message.isFrom(partitions[partition]), times[partition].indices.contains(offset),
           times[partition][offset] == 0 {
            times[partition][offset] = now
        } else {
            strays.add(1, ordering: .relaxed)
        }
        tally(at: now)
    }

    /// Records that a message was handled now, without its position (the raw poll loop's
    /// messages are never copied out of librdkafka).
    func recordUncopied() {
        tally(at: MonotonicInstant.now.nanoseconds)
    }

    private func tally(at now: Int64) {
        let count = handledCount.add(1, ordering: .acquiringAndReleasing).newValue
        if count == 1 {
            firstAt.store(now, ordering: .releasing)
            firstCPU.store(Int64(ProcessMetrics.cpuSeconds() * 1e6), ordering: .releasing)
            if let allocations = AllocationCounter.allocations() { firstAllocations.store(allocations, ordering: .releasing) }
        }
        if count == max(1, target / 2) { middleAt.store(now, ordering: .releasing) }
        if count == target {
            lastAt.store(now, ordering: .releasing)
            lastCPU.store(Int64(ProcessMetrics.cpuSeconds() * 1e6), ordering: .releasing)
            if let allocations = AllocationCounter.allocations() { lastAllocations.store(allocations, ordering: .releasing) }
        }
    }

    /// CPU seconds the whole process used from the first handled message to the `target`-th;
    /// `nil` before that.
    var cpuSeconds: Double? {
        let first = firstCPU.load(ordering: .acquiring)
        let last = lastCPU.load(ordering: .acquiring)
        guard first > 0, last > 0 else { return nil }
        return Double(last - first) / 1e6
    }

    /// `malloc` calls of the whole process from the first handled message to the `target`-th;
    /// `nil` before that or without ``AllocationCounter``.
    var allocations: Int64? {
        let first = firstAllocations.load(ordering: .acquiring)
        let last = lastAllocations.load(ordering: .acquiring)
        guard first >= 0, last >= 0 else { return nil }
        return last - first
    }

    /// Seconds from the first handled message to the `target`-th; `nil` before that.
    var seconds: Double? {
        let first = firstAt.load(ordering: .acquiring)
        let last = lastAt.load(ordering: .acquiring)
        guard first > 0, last > 0 else { return nil }
        return Double(last - first) / 1e9
    }

    /// The rate over the second half of the `target` messages.
    var steadyRate: Double? {
        let middle = middleAt.load(ordering: .acquiring)
        let last = lastAt.load(ordering: .acquiring)
        guard middle > 0, last > middle else { return nil }
        return Double(target - max(1, target / 2)) / (Double(last - middle) / 1e9)
    }

    /// Done → commit point for every message of each partition's handled prefix. Call after the
    /// consumer has stopped.
    func commitPointWaits() -> LatencyHistogram {
        var histogram = LatencyHistogram()
        for buffer in times {
            guard let start = buffer.firstIndex(where: { $0 != 0 }) else { continue }
            var commitPoint: Int64 = 0  // when the commit point passed the offsets so far
            for offset in start..<buffer.count {
                let done = buffer[offset]
                if done == 0 { break }  // not handled: the commit point stops here
                commitPoint = max(commitPoint, done)
                histogram.record(.nanoseconds(commitPoint - done))
            }
        }
        return histogram
    }

    /// Messages handled outside the expected slots, or twice.
    var strayCount: Int { strays.load(ordering: .relaxed) }
}
