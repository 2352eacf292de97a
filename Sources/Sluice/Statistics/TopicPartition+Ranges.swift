//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

public import SluiceKafka

extension Sequence where Element == TopicPartition {
    /// The partitions by topic, runs of consecutive numbers as ranges: `orders[0-15]`,
    /// `orders[0-3,7], payments[2]`. Sorted and without duplicates; `[]` when empty.
    ///
    /// Log lines and summaries name sixteen partitions in a dozen characters rather than in a
    /// line that wraps.
    public var compactDescription: String {
        var byTopic: [String: Set<Int32>] = [:]
        for tp in self { byTopic[tp.topic, default: []].insert(tp.partition) }
        guard !byTopic.isEmpty else { return "[]" }
        return byTopic.keys.sorted().map { topic in
            "\(topic)[\(Self.ranges(byTopic[topic]!.sorted()))]"
        }.joined(separator: ", ")
    }

    /// `[0, 1, 2, 5]` → `0-2,5`.
    private static func ranges(_ numbers: [Int32]) -> String {
        var parts: [String] = []
        var index = 0
        while index < numbers.count {
            var end = index
            while end + 1 < numbers.count, numbers[end + 1] == numbers[end] + 1 { end += 1 }
            parts.append(end == index ? "\(numbers[index])" : "\(numbers[index])-\(numbers[end])")
            index = end + 1
        }
        return parts.joined(separator: ",")
    }
}
