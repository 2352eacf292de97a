//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

@testable import Sluice
import Testing

struct HandlerTimeEstimateTests {
    @Test func theFirstSampleIsTheEstimate() {
        let estimate = HandlerTimeEstimate()
        #expect(estimate.nanos == 0)
        estimate.record(10_300)
        #expect(estimate.nanos == 10_300)
        estimate.record(0)  // a clock that did not move counts as 1 ns, never as "not measured"
        #expect(estimate.nanos > 0)
    }

    /// What `sluice run` showed with a 10 µs handler on two cores: samples of about 10 µs and,
    /// one chunk in a few dozen, a preempted chunk of 40–190 µs per message.
    @Test func aPreemptedChunkMovesTheEstimateByAnEighthAtMost() {
        let estimate = HandlerTimeEstimate()
        estimate.record(10_000)
        estimate.record(193_000)
        #expect(estimate.nanos == 11_250)  // counted as 20 µs (twice the mean), weighted 1/8
        for _ in 0..<30 { estimate.record(10_000) }
        #expect(abs(estimate.nanos - 10_000) < 100)
        // A preemption every 30 chunks keeps it within a seventh of the true cost.
        var highest: Int64 = 0
        for round in 0..<300 {
            estimate.record(round % 30 == 0 ? 150_000 : 10_000)
            highest = max(highest, estimate.nanos)
        }
        #expect(highest <= 11_400)
    }

    @Test func aRealChangeOfCostIsFollowedWithinAFewDozenChunks() {
        let estimate = HandlerTimeEstimate()
        estimate.record(10_000)
        for _ in 0..<60 { estimate.record(1_000_000) }  // the handler became 100 times slower
        #expect(estimate.nanos > 900_000)
        for _ in 0..<60 { estimate.record(5_000) }  // and then faster than at first
        #expect(estimate.nanos < 6_000)
    }
}
