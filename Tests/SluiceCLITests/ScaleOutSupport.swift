//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Sluice
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension DevBroker {
    /// Starts `sluice dev-broker` with several topics (`--topic NAME:PARTITIONS` each), runs
    /// `body`, then stops it with SIGTERM and expects exit code 0. The broker is killed whatever
    /// happens.
    static func with<Result>(
        topics: [(name: String, partitions: Int)], _ body: (DevBroker) async throws -> Result
    ) async throws -> Result {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("sluice-scale-out-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("bootstrap")
        let process = try SluiceProcess(
            ["dev-broker", "--bootstrap-file", file.path] + topics.flatMap { ["--topic", "\($0.name):\($0.partitions)"] })
        defer { process.terminate() }
        let line = try await process.line(within: .seconds(30)) { $0.hasPrefix("bootstrap: ") }
        let printed = try #require(line, "dev-broker printed no address\n\(process.transcript)")
        let address = String(printed.dropFirst("bootstrap: ".count))

        let result = try await body(DevBroker(process: process, bootstrapServers: address, bootstrapFile: file))

        process.send(SIGTERM)
        let code = try await process.exitCode(within: .seconds(30))
        #expect(code == 0, "dev-broker exit code after SIGTERM\n\(process.transcript)")
        return result
    }

    /// Every message of `topics` (partition counts by name; all partitions, from the start to the
    /// end offsets read first), by topic, read with a consumer in a fresh group. Each record is
    /// the partition, the offset and the `sluice-id` header.
    func readAll(topics: [String: Int], within timeout: Duration = .seconds(90)) throws -> [String: [IDRecord]] {
        var config = KafkaConsumerConfiguration(bootstrapServers: [bootstrapServers], groupID: "reader-\(UUID().uuidString)")
        config.fetchWaitMax = .milliseconds(10)
        config.isAutoCommitEnabled = false
        let reader = try KafkaConsumer(configuration: config)
        defer { try? reader.close(timeout: .seconds(5)) }

        // What is left to read: partitions whose end offset is above what arrived so far.
        var remaining: [TopicPartition: Int64] = [:]
        for (topic, partitions) in topics {
            for partition in 0..<Int32(partitions) {
                let tp = TopicPartition(topic: topic, partition: partition)
                let marks = try reader.watermarks(of: tp, timeout: .seconds(10))
                #expect(marks.low == 0, "\(tp) lost data to the embedded broker's retention: low watermark \(marks.low)")
                if marks.high > marks.low { remaining[tp] = marks.high }
            }
        }
        try reader.subscribe(topics: Array(topics.keys))
        var records: [String: [IDRecord]] = [:]
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while !remaining.isEmpty, clock.now < deadline {
            guard let message = try reader.poll(timeout: .milliseconds(100)) else { continue }
            records[message.topic, default: []].append(IDRecord(
                partition: message.partition, offset: message.offset,
                id: message.headers.string(named: "sluice-id").flatMap { Int($0) }))
            if let end = remaining[message.topicPartition], message.offset + 1 >= end {
                remaining[message.topicPartition] = nil
            }
        }
        let unread = remaining.keys.sorted()
        #expect(unread.isEmpty, "read \(topics.keys.sorted()) incompletely within \(timeout); missing the ends of \(unread)")
        return records
    }

    /// The group's committed offsets of `topic`, by partition (partitions without one are absent).
    func committed(group: String, topic: String, partitions: Int) throws -> [Int32: Int64] {
        try committedAndEnd(group: group, topic: topic, partitions: partitions).committed
    }

    /// Reads the end offsets of `topic`, then waits until the group has committed at least
    /// those on every partition: whatever was handled before the call and not committed has been
    /// handled again by then. Returns those end offsets, or `nil` after `timeout`.
    func endOffsetsOnceCommitted(
        group: String, topic: String, partitions: Int, within timeout: Duration
    ) async throws -> [Int32: Int64]? {
        let target = try committedAndEnd(group: group, topic: topic, partitions: partitions).end
        let caughtUp = try await eventually(within: timeout, every: .milliseconds(250)) {
            let committed = try committed(group: group, topic: topic, partitions: partitions)
            return target.allSatisfy { committed[$0.key] ?? 0 >= $0.value }
        }
        return caughtUp ? target : nil
    }
}

/// One message read back: where it is, and its `sluice-id` header.
struct IDRecord: Sendable {
    var partition: Int32
    var offset: Int64
    var id: Int?
}

extension SluiceProcess {
    /// How many non-empty `partitions assigned` log lines the process wrote so far (one per
    /// assignment it received, incremental ones included) for partitions of `topic`.
    func assignmentCount(of topic: String = "in") -> Int {
        stderr.count { $0.contains("partitions assigned") && !(Self.loggedPartitions(in: $0, of: topic) ?? []).isEmpty }
    }

    /// The partitions of `topic` the process holds according to its log: `partitions assigned`
    /// adds (eager assignments come after a revocation of everything), `partitions revoked` and
    /// `partitions lost` remove.
    func currentAssignment(of topic: String = "in") -> Set<Int32> {
        var held: Set<Int32> = []
        for line in stderr {
            let isAssigned = line.contains("partitions assigned")
            guard isAssigned || line.contains("partitions revoked") || line.contains("partitions lost"),
                  let partitions = Self.loggedPartitions(in: line, of: topic)
            else { continue }
            if isAssigned { held.formUnion(partitions) } else { held.subtract(partitions) }
        }
        return held
    }

    /// The partitions of `topic` in a log line's `kafka.partitions=in[0-3,7], out[1]` metadata
    /// (the compact form of `compactDescription`); `nil` when the line has none.
    static func loggedPartitions(in line: String, of topic: String) -> Set<Int32>? {
        guard let start = line.range(of: "kafka.partitions=") else { return nil }
        let value = line[start.upperBound...]
        guard let open = value.range(of: "\(topic)["), open.lowerBound == value.startIndex || value[value.index(before: open.lowerBound)] == " ",
              let close = value[open.upperBound...].firstIndex(of: "]")
        else { return [] }
        var partitions: Set<Int32> = []
        for range in value[open.upperBound..<close].split(separator: ",") {
            let bounds = range.split(separator: "-").compactMap { Int32($0) }
            guard let first = bounds.first, let last = bounds.last, first <= last else { continue }
            partitions.formUnion(first...last)
        }
        return partitions
    }

    /// The handled count of the last status line (`… · handled 17.1k (…) · …`), approximately
    /// (`k` and `M` suffixes are expanded), or 0 before the first one.
    var handledSoFar: Int {
        guard let line = stderr.last(where: { $0.contains("· handled ") }),
              let range = line.range(of: "· handled ")
        else { return 0 }
        let token = line[range.upperBound...].prefix { $0 != " " }
        let multiplier: Double = token.hasSuffix("k") ? 1_000 : token.hasSuffix("M") ? 1_000_000 : 1
        let digits = token.hasSuffix("k") || token.hasSuffix("M") ? token.dropLast() : token
        return Int((Double(digits) ?? 0) * multiplier)
    }
}

/// Waits until `condition` holds, checking it `every` interval for at most `timeout`; returns
/// whether it held. Every wait of the scale-out tests goes through here, so none is unbounded.
func eventually(
    within timeout: Duration, every interval: Duration = .milliseconds(50), _ condition: () throws -> Bool
) async throws -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    while clock.now < deadline {
        if try condition() { return true }
        try await Task.sleep(for: interval)
    }
    return try condition()
}
