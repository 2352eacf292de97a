//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Sluice
import Testing

struct LatencyHistogramTests {
    @Test func nanosecondsAndDurationsRecordAlike() {
        var fromDurations = LatencyHistogram()
        var fromNanoseconds = LatencyHistogram()
        for micros in [3, 250, 250, 4_000, 90_000_000] {
            fromDurations.record(.microseconds(micros))
            fromNanoseconds.record(nanoseconds: micros * 1_000)
        }
        fromNanoseconds.record(nanoseconds: -5)  // a clock step back counts as zero
        fromDurations.record(.zero)
        #expect(fromNanoseconds == fromDurations)
        #expect(fromNanoseconds.max == .seconds(90))
        #expect(fromNanoseconds.percentile(0.5) == fromDurations.percentile(0.5))
    }

    @Test func emptyHistogramHasNoPercentiles() {
        #expect(LatencyHistogram().percentile(0.5) == nil)
    }

    @Test func percentilesAreWithinSixPercent() {
        var histogram = LatencyHistogram()
        for micros in 1...1_000 { histogram.record(.microseconds(micros)) }
        #expect(histogram.count == 1_000)
        let p50 = histogram.percentile(0.5)!
        let p99 = histogram.percentile(0.99)!
        #expect(p50 >= .microseconds(500) && p50 <= .microseconds(530))
        #expect(p99 >= .microseconds(990) && p99 <= .microseconds(1_000))
        #expect(histogram.percentile(1.0) == .microseconds(1_000))
    }

    @Test func smallAndLargeValuesLandInOrder() {
        var histogram = LatencyHistogram()
        histogram.record(.nanoseconds(3))
        histogram.record(.seconds(90))
        #expect(histogram.percentile(0.5) == .nanoseconds(3))
        #expect(histogram.percentile(1.0) == .seconds(90))
        var other = LatencyHistogram()
        other.record(.milliseconds(1))
        histogram.merge(other)
        #expect(histogram.count == 3)
        let median = histogram.percentile(0.5)!
        #expect(median >= .microseconds(1_000) && median <= .microseconds(1_063))
    }
}
