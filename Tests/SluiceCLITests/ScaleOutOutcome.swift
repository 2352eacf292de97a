//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Sluice

/// What a scale-out run wrote, set against what it read: missing ids, duplicates, and where the
/// duplicates come from.
///
/// Each instance forwards to its own output topic, so every copy of a message names the
/// instance that wrote it, and the `sluice-id` header names the input message (its partition and
/// offset come from reading the input topic back).
///
/// A message is handled twice only when its partition moves before its offset was committed:
/// at a membership change. Each change gets a *window* per partition, from the offset committed
/// before it to the offset committed once the group was stable again (every member's commits
/// accepted); every duplicate must lie in one.
struct ScaleOutOutcome: CustomStringConvertible {
    /// The committed input offsets around one membership change, by partition.
    struct Window {
        var name: String
        /// Committed before the change (an absent partition: nothing committed yet).
        var from: [Int32: Int64]
        /// Committed once the group was stable again.
        var to: [Int32: Int64]

        func contains(partition: Int32, offset: Int64) -> Bool {
            offset >= (from[partition] ?? 0) && offset < (to[partition] ?? 0)
        }

        /// Messages in the window.
        var size: Int64 {
            to.reduce(0) { $0 + max(0, $1.value - (from[$1.key] ?? 0)) }
        }
    }

    /// Input ids that no instance wrote.
    var missing: [Int]
    /// Ids that appear in the input more than once or not at all (a broken producer).
    var badInputIDs: Int
    /// Copies written beyond the first, over all ids.
    var duplicates: Int
    /// Ids written more than once.
    var duplicatedIDs: Int
    /// Copies each instance wrote.
    var copiesByInstance: [String: Int]
    /// Messages the stopped instance wrote at or above the offsets committed once it had
    /// stopped: handled (or in flight and written) but not committed. The new owners handle them
    /// again.
    var uncommittedAtStop: Int
    /// Of those, the ids that were written again.
    var repeatedOfUncommitted: Int
    /// Of those, the ids the last commit's metadata lists as finished: the new owners skip them.
    var listedFinishedAtStop: Int
    /// Of the others (not listed), the ids that were written again: all of them.
    var repeatedOfUnlisted: Int
    /// Duplicated ids by the window they lie in (the first that holds them), and the windows' sizes.
    var duplicatedIDsByWindow: [(name: String, duplicatedIDs: Int, size: Int64)]
    /// Duplicated ids in no window: a message handled twice in steady state.
    var duplicatedIDsOutsideWindows: [Int]
    /// Where the first few of those are, the windows of their partitions, and who wrote them.
    var outsideExamples: [String]

    /// - Parameters:
    ///   - input: The input topic's records.
    ///   - outputs: Each instance's output records, by instance name.
    ///   - expectedIDs: The ids the producers wrote.
    ///   - stopped: The instance that was stopped mid-run.
    ///   - committedAtStop: The group's committed input offsets, by partition, once it had stopped.
    ///   - finishedAtStop: The finished offsets those commits' metadata lists, by partition.
    ///   - windows: The membership changes of the run.
    init(
        input: [IDRecord], outputs: [String: [IDRecord]], expectedIDs: Range<Int>, stopped: String,
        committedAtStop: [Int32: Int64], finishedAtStop: [Int32: FinishedOffsets] = [:], windows: [Window]
    ) {
        var source: [Int: (partition: Int32, offset: Int64)] = [:]
        var badInputIDs = 0
        for record in input {
            guard let id = record.id, expectedIDs.contains(id), source[id] == nil else { badInputIDs += 1; continue }
            source[id] = (record.partition, record.offset)
        }
        badInputIDs += expectedIDs.count - source.count
        self.badInputIDs = badInputIDs

        var copies: [Int: Int] = [:]
        var uncommittedIDs: Set<Int> = []
        var copiesByInstance: [String: Int] = [:]
        for (instance, records) in outputs {
            copiesByInstance[instance] = records.count
            for record in records {
                guard let id = record.id else { continue }
                copies[id, default: 0] += 1
                if instance == stopped, let position = source[id],
                   position.offset >= committedAtStop[position.partition] ?? 0 {
                    uncommittedIDs.insert(id)
                }
            }
        }
        self.copiesByInstance = copiesByInstance
        missing = expectedIDs.filter { copies[$0] == nil }
        duplicates = copies.values.reduce(0) { $0 + $1 - 1 }
        let duplicated = copies.filter { $0.value > 1 }.map(\.key).sorted()
        duplicatedIDs = duplicated.count
        uncommittedAtStop = uncommittedIDs.count
        repeatedOfUncommitted = uncommittedIDs.count { (copies[$0] ?? 0) > 1 }
        let listed = uncommittedIDs.filter { id in
            source[id].map { finishedAtStop[$0.partition]?.contains($0.offset) ?? false } ?? false
        }
        listedFinishedAtStop = listed.count
        repeatedOfUnlisted = uncommittedIDs.subtracting(listed).count { (copies[$0] ?? 0) > 1 }

        var byWindow = [Int](repeating: 0, count: windows.count)
        var outside: [Int] = []
        for id in duplicated {
            guard let position = source[id],
                  let index = windows.firstIndex(where: {
                      $0.contains(partition: position.partition, offset: position.offset)
                  })
            else { outside.append(id); continue }
            byWindow[index] += 1
        }
        duplicatedIDsByWindow = windows.indices.map { (windows[$0].name, byWindow[$0], windows[$0].size) }
        duplicatedIDsOutsideWindows = outside
        var writers: [Int: [String]] = [:]
        let examples = Set(outside.prefix(3))
        for (instance, records) in outputs {
            for record in records {
                if let id = record.id, examples.contains(id) { writers[id, default: []].append(instance) }
            }
        }
        outsideExamples = outside.prefix(3).map { id in
            let (partition, offset) = source[id] ?? (-1, -1)
            let ranges = windows.map { "\($0.name) \($0.from[partition] ?? 0)..<\($0.to[partition] ?? 0)" }
            let writtenBy = writers[id, default: []].sorted()
            return "id \(id) at in[\(partition)]@\(offset) (windows \(ranges.joined(separator: ", "))) written by \(writtenBy)"
        }
    }

    var description: String {
        let instances = copiesByInstance.keys.sorted().map { "\($0) \(copiesByInstance[$0] ?? 0)" }.joined(separator: ", ")
        let windows = duplicatedIDsByWindow.map { "\($0.name) \($0.duplicatedIDs) of \($0.size)" }.joined(separator: ", ")
        return """
            duplicates \(duplicates) (\(duplicatedIDs) ids); the stopped instance's uncommitted work: \
            \(uncommittedAtStop) messages, \(listedFinishedAtStop) of them listed as finished in its last commit, \
            \(repeatedOfUncommitted) written again; duplicated ids by membership \
            change (of the window's messages): \(windows), outside \(duplicatedIDsOutsideWindows.count); \
            missing \(missing.count); copies by instance: \(instances)\(outsideExamples.isEmpty ? "" : "; outside: ")\
            \(outsideExamples.joined(separator: "; "))
            """
    }
}
