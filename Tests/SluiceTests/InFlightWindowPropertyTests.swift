//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import PropertyBased
import Testing

@testable import Sluice

/// The window as the engine drives it: batches of messages of random sizes admitted in poll
/// order, completions in random order.
@Suite struct InFlightWindowPropertyTests {
    @Test func windowNeverExceedsItsCountOrByteBound() async {
        await propertyCheck(
            count: 300,
            input: Gen.int(in: 1...20), Gen.int(in: 1...4_000),
            zip(Gen.int(in: 0...99), Gen.int(in: 0...6_000), Gen.int(in: 1...8)).array(of: 0...200)
        ) { maxCount, maxBytes, steps in
            let topic = "w"
            let tps = (0..<Int32(4)).map { TopicPartition(topic: topic, partition: $0) }
            var state = EngineState(maxInFlightMessages: maxCount, maxInFlightBytes: maxBytes)
            state.assign(tps)
            var nextOffset: [Int32: Int64] = [:]
            var inHand: [PolledMessage] = []
            var running: [InFlightWork] = []
            var admittedBytes = 0
            var admittedCount = 0

            for (choice, size, batch) in steps {
                if choice < 60 || running.isEmpty {
                    // Poll a batch, then admit from the front while the window has room.
                    for index in 0..<batch {
                        let partition = Int32((choice + index) % 4)
                        let offset = nextOffset[partition, default: 0]
                        nextOffset[partition] = offset + 1
                        let message = KafkaMessage(
                            topic: topic, partition: partition, offset: offset,
                            value: [UInt8](repeating: 0, count: (size + index * 97) % 6_000))
                        inHand.append(PolledMessage(message))
                    }
                    var ready: [InFlightWork] = []
                    let (taken, refused) = state.admit(inHand, ordering: .unordered, into: &ready)
                    try #require(refused == 0)
                    for entry in inHand.prefix(taken) {
                        admittedCount += 1
                        admittedBytes += entry.weight
                    }
                    inHand.removeFirst(taken)
                    running += ready
                } else {
                    let work = running.remove(at: choice % running.count)
                    _ = state.finish(work, done: true)
                    admittedCount -= 1
                    admittedBytes -= work.weight
                }
                let window = state.window
                try #require(window.count == admittedCount && window.bytes == admittedBytes)
                try #require(window.count <= maxCount, "count \(window.count) over \(maxCount)")
                // A message larger than the whole budget may only be in flight alone.
                let isOversizedAlone = window.count == 1 && window.bytes > maxBytes
                try #require(window.bytes <= maxBytes || isOversizedAlone, "bytes \(window.bytes) over \(maxBytes)")
                // Progress: with nothing in flight, the first message in hand always fits.
                if window.count == 0, let first = inHand.first {
                    try #require(window.hasRoom(for: first.weight))
                }
            }
        }
    }
}
