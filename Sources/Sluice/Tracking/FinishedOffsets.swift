//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Offsets of one partition, above its commit point, whose messages are already finished: what a
/// commit's metadata carries (``CommitMetadata``) so that a restart does not hand them to the
/// handler again.
///
/// Held as sorted, disjoint, non-adjacent half-open ranges, so its memory follows the number of
/// runs, not the span they cover (a decoded metadata string can describe millions of offsets in a
/// few bytes).
public struct FinishedOffsets: Hashable, Sendable, CustomStringConvertible {
    /// The commit point the set is relative to: every offset in it is above this one.
    public let commitPoint: Int64
    /// The finished offsets as sorted, disjoint, non-adjacent ranges, all above ``commitPoint``.
    public private(set) var ranges: [Range<Int64>]

    /// Creates an empty set above `commitPoint`.
    public init(commitPoint: Int64) {
        self.commitPoint = commitPoint
        self.ranges = []
    }

    /// Creates the set of `offsets` above `commitPoint`.
    ///
    /// - Parameter offsets: Offsets in increasing order; those at or below `commitPoint`, and
    ///   repeats, are ignored.
    public init(commitPoint: Int64, offsets: some Sequence<Int64>) {
        self.init(commitPoint: commitPoint)
        for offset in offsets { append(offset) }
    }

    /// Whether the set is empty.
    public var isEmpty: Bool { ranges.isEmpty }

    /// How many offsets the set holds.
    public var count: Int64 { ranges.reduce(0) { $0 + Int64($1.count) } }

    /// The lowest offset above the set: every finished offset is below it (``commitPoint`` + 1 when empty).
    public var upperBound: Int64 { ranges.last?.upperBound ?? commitPoint + 1 }

    /// Whether `offset` is in the set (binary search).
    public func contains(_ offset: Int64) -> Bool {
        var low = 0
        var high = ranges.count
        while low < high {
            let middle = (low + high) / 2
            if ranges[middle].upperBound <= offset {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return low < ranges.count && ranges[low].contains(offset)
    }

    /// Adds an offset above every offset in the set; others (and any at or below the commit point)
    /// are ignored.
    public mutating func append(_ offset: Int64) {
        guard offset < .max else { return }  // no range can end above it
        append(offset..<(offset + 1))
    }

    /// Adds a range above every offset in the set (the part of it above the commit point).
    mutating func append(_ range: Range<Int64>) {
        let lower = max(range.lowerBound, commitPoint + 1, upperBound)
        guard lower < range.upperBound else { return }
        if let last = ranges.last, last.upperBound == lower {
            ranges[ranges.count - 1] = last.lowerBound..<range.upperBound
        } else {
            ranges.append(lower..<range.upperBound)
        }
    }

    /// The set without its offsets at or above `limit`.
    func truncated(below limit: Int64) -> FinishedOffsets {
        var result = FinishedOffsets(commitPoint: commitPoint)
        for range in ranges where range.lowerBound < limit {
            result.append(range.lowerBound..<min(range.upperBound, limit))
        }
        return result
    }

    /// The ranges, e.g. `{101-250, 300}` above `@100`.
    public var description: String {
        let parts = ranges.map { $0.count == 1 ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound - 1)" }
        return "{\(parts.joined(separator: ", "))} above @\(commitPoint)"
    }
}
