//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import PropertyBased
import SluiceFutures
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
            var harness = MachineHarness(topic: topic) {
                $0.maxInFlightMessages = maxCount
                $0.maxInFlightBytes = maxBytes
                $0.ordering = .unordered
            }
            harness.assign(0, 1, 2, 3)
            var nextOffset: [Int32: Int64] = [:]
            var running: [InFlightWork] = []
            var admittedBytes = 0
            var admittedCount = 0

            for (choice, size, batch) in steps {
                if choice < 60 || running.isEmpty {
                    // Poll a batch: the machine admits from the front while the window has room
                    // and holds the rest, in order.
                    var polled: [KafkaMessage] = []
                    for index in 0..<batch {
                        let partition = Int32((choice + index) % 4)
                        let offset = nextOffset[partition, default: 0]
                        nextOffset[partition] = offset + 1
                        let message = KafkaMessage(
                            topic: topic, partition: partition, offset: offset,
                            value: [UInt8](repeating: 0, count: (size + index * 97) % 6_000))
                        polled.append(message)
                    }
                    let actions = harness.poll(polled)
                    try #require(actions.logs.isEmpty, "nothing refused")
                    for work in actions.dispatch {
                        admittedCount += 1
                        admittedBytes += work.weight
                    }
                    running += actions.dispatch
                } else {
                    let work = running.remove(at: choice % running.count)
                    try #require(harness.succeed([work]).dispatch.isEmpty, "unordered work has no lane to start")
                    admittedCount -= 1
                    admittedBytes -= work.weight
                    // Room freed: the next turn of the poll loop admits what fits now.
                    let admitted = harness.tick().dispatch
                    for work in admitted {
                        admittedCount += 1
                        admittedBytes += work.weight
                    }
                    running += admitted
                }
                let window = harness.machine.window
                try #require(window.count == admittedCount && window.weight == admittedBytes)
                try #require(window.count <= maxCount, "count \(window.count) over \(maxCount)")
                // A message larger than the whole budget may only be in flight alone.
                let isOversizedAlone = window.count == 1 && window.weight > maxBytes
                try #require(window.weight <= maxBytes || isOversizedAlone, "bytes \(window.weight) over \(maxBytes)")
                // Progress: with nothing in flight, nothing is held (the first held message fits).
                try #require(window.count > 0 || harness.machine.held.isEmpty, "held messages with an empty window")
            }
        }
    }
}
