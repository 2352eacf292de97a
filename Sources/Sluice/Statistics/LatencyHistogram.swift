//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import _SluiceTime
/// A compact histogram of durations with about 6% relative error, for latency percentiles.
///
/// Buckets are powers of two split into 16 linear sub-buckets (the HdrHistogram idea at low
/// precision): recording is a few integer operations, memory is fixed (64 × 16 counters).
public struct LatencyHistogram: Sendable, Hashable {
    private static let subBuckets = 16
    private var counts = [Int](repeating: 0, count: 64 * LatencyHistogram.subBuckets)
    /// How many durations were recorded.
    public private(set) var count = 0
    /// The largest recorded duration.
    public private(set) var max: Duration = .zero
    /// `max` in nanoseconds, to compare without 128-bit arithmetic.
    private var maxNanos = 0

    /// An empty histogram.
    public init() {}

    /// Records one duration (negative ones count as zero).
    public mutating func record(_ duration: Duration) {
        record(nanoseconds: Int(duration.nanoseconds))
    }

    /// Records one duration in nanoseconds (negative ones count as zero): integer arithmetic
    /// only, for the per-message path.
    public mutating func record(nanoseconds: Int) {
        let nanos = Swift.max(0, nanoseconds)
        counts[Self.index(of: nanos)] += 1
        count += 1
        if nanos > maxNanos {
            maxNanos = nanos
            max = .nanoseconds(nanos)
        }
    }

    /// Adds another histogram's counts.
    public mutating func merge(_ other: LatencyHistogram) {
        for index in counts.indices { counts[index] += other.counts[index] }
        count += other.count
        max = Swift.max(max, other.max)
        maxNanos = Swift.max(maxNanos, other.maxNanos)
    }

    /// The duration below which `fraction` (0...1) of the recordings fall; `nil` when empty.
    public func percentile(_ fraction: Double) -> Duration? {
        guard count > 0 else { return nil }
        let rank = Swift.max(1, Int((Double(count) * fraction).rounded(.up)))
        var seen = 0
        for (index, bucketCount) in counts.enumerated() where bucketCount > 0 {
            seen += bucketCount
            if seen >= rank { return Swift.min(.nanoseconds(Self.upperBound(of: index)), max) }
        }
        return max
    }

    private static func index(of nanos: Int) -> Int {
        if nanos < subBuckets { return nanos }
        let magnitude = Int.bitWidth - 1 - nanos.leadingZeroBitCount  // floor(log2)
        let shift = magnitude - 4  // 16 sub-buckets = 4 bits below the leading one
        let sub = (nanos >> shift) & (subBuckets - 1)
        return Swift.min((magnitude - 3) * subBuckets + sub, 64 * subBuckets - 1)
    }

    private static func upperBound(of index: Int) -> Int {
        if index < subBuckets { return index }
        let magnitude = index / subBuckets + 3
        let sub = index % subBuckets
        return ((subBuckets + sub + 1) << (magnitude - 4)) - 1
    }
}
