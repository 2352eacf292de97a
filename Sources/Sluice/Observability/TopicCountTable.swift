//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Per-topic counters, updated for every message under the engine's lock.
///
/// A consumer reads a handful of topics, and consecutive messages mostly share one: a short array
/// searched from the last topic used costs a string comparison (usually one `memcmp` of a short
/// name), where a `[String: TopicCounters]` would hash the name for every count.
struct TopicCountTable: Sendable {
    private var names: [String] = []
    private var counters: [TopicCounters] = []
    private var last = 0

    /// The slot of `topic`, added on first use.
    private mutating func slot(_ topic: String) -> Int {
        if last < names.count, names[last] == topic { return last }
        if let index = names.firstIndex(of: topic) {
            last = index
            return index
        }
        names.append(topic)
        counters.append(TopicCounters())
        last = names.count - 1
        return last
    }

    /// Runs `body` on the counters of `topic`.
    mutating func update(_ topic: String, _ body: (inout TopicCounters) -> Void) {
        body(&counters[slot(topic)])
    }

    /// The counters by topic.
    var byTopic: [String: TopicCounters] {
        Dictionary(uniqueKeysWithValues: zip(names, counters))
    }
}
