// The example's promise, in processes: at-least-once delivery plus an idempotent sink gives one
// row per event, across a graceful stop and across a crash (SIGKILL) in the middle of a run. The
// broker runs in this process; each sink is a `postgres-sink` process of its own, so that it can
// be killed as a crash would.

import Foundation
import PostgresNIO
import Sluice
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite(.serialized, .timeLimit(.minutes(4)))
struct CrashReplayTests {
    static let topic = "events"
    /// Events per phase: 20,000 over 4 partitions is about 1.5 MB a partition after both phases,
    /// well within the embedded broker's 5 MB a partition.
    static let perPhase = 20_000

    /// Options every consumer against the embedded broker wants: short fetch waits, and a short
    /// session so that the broker's rebalance hold (session timeout − 1 s), which the restart
    /// after the kill waits through, stays short.
    static let embeddedBrokerProperties = [
        "-X", "fetch.wait.max.ms=10", "-X", "session.timeout.ms=4000", "-X", "heartbeat.interval.ms=250",
    ]

    @Test func everyEventIsOneRowAfterAGracefulStopAndAfterASIGKILLMidRun() async throws {
        let database = try TestDatabase.fromEnvironment()
        let broker = try EmbeddedBroker(brokers: 1)
        defer { broker.stop() }
        try broker.createTopic(Self.topic, partitions: 4)
        let producer = EventProducer(bootstrapServers: broker.bootstrapServers, topic: Self.topic)
        let table = TestDatabase.uniqueTableName("events")
        let group = "sink-\(UUID().uuidString.prefix(8))"
        func startSink(_ extra: [String] = []) throws -> SinkProcess {
            try SinkProcess(
                ["--brokers", broker.bootstrapServers, "--group", group, "--topic", Self.topic, "--table", table,
                 "--on-failure", "skip", "--log-level", "warning"]
                    + database.sinkArguments + Self.embeddedBrokerProperties + extra,
                environment: ["PGPASSWORD": database.password ?? ""])
        }
        let clock = ContinuousClock()
        let started = clock.now

        try await database.withClient { client in
            let rows = RowCounter(client: client, table: table)

            // 1. 20,000 events and 10 messages that are not events, then a graceful stop.
            try producer.produce(0..<Self.perPhase, poisonEvery: 2_000)
            let first = try startSink()
            try await rows.wait(until: { $0 == Self.perPhase }, within: .seconds(90), sink: first)
            first.send(SIGTERM)
            #expect(try await first.exitStatus(within: .seconds(30)) == 0, "\(first.transcript)")
            let firstSummary = try first.rowsSummary()
            #expect(firstSummary.inserted == Self.perPhase, "\(first.transcript)")
            #expect(firstSummary.rejected >= 10, "every message that is not an event is rejected\n\(first.transcript)")
            try await expectOneRowPerEvent(client, table: table, producer: producer)
            print("graceful run: \(firstSummary.inserted) rows, \(firstSummary.alreadyPresent) already present, \(firstSummary.rejected) rejected")

            // 2. 20,000 more; a sink killed with SIGKILL once some of them are rows. It never
            // commits on its own (the interval is longer than the test), so every row it wrote
            // is handed over again to the next run, which must add none of them twice.
            try producer.produce(Self.perPhase..<(2 * Self.perPhase))
            let killed = try startSink(["--commit-interval-ms", "600000"])
            try await rows.wait(until: { $0 >= Self.perPhase + 1_000 }, within: .seconds(90), sink: killed)
            killed.send(SIGKILL)
            #expect(try await killed.exitStatus(within: .seconds(10)) == -SIGKILL)
            // An insert the kill interrupted may still commit on the server: count once every
            // connection of the killed sink is gone.
            try await rows.waitUntilNoSinkConnection(within: .seconds(30))
            let landed = try await rows.count() - Self.perPhase
            #expect(landed > 0 && landed < Self.perPhase, "killed mid-run: \(landed) of \(Self.perPhase) rows written")

            let restarted = try startSink()
            try await rows.wait(until: { $0 == 2 * Self.perPhase }, within: .seconds(90), sink: restarted)
            restarted.send(SIGTERM)
            #expect(try await restarted.exitStatus(within: .seconds(30)) == 0, "\(restarted.transcript)")
            let summary = try restarted.rowsSummary()
            #expect(summary.inserted == Self.perPhase - landed, "\(restarted.transcript)")
            #expect(summary.alreadyPresent >= landed, "the replay reached the table and added nothing\n\(restarted.transcript)")
            try await expectOneRowPerEvent(client, table: table, producer: producer)
            print("""
                crash: killed after \(landed) of \(Self.perPhase) rows; the restart inserted \(summary.inserted) \
                and found \(summary.alreadyPresent) already present; \(2 * Self.perPhase) rows, no duplicate, \
                in \(started.duration(to: clock.now)) in all
                """)
            try await client.query("DROP TABLE \(unescaped: table)")
        }
    }

    /// The table holds exactly one row per event produced, at the event's own partition and
    /// offset, and no row for a message that is not an event.
    private func expectOneRowPerEvent(_ client: PostgresClient, table: String, producer: EventProducer) async throws {
        let events = producer.events
        let count = try await client.integer("SELECT count(*) FROM \(unescaped: table)")
        let distinct = try await client.integer("SELECT count(DISTINCT id) FROM \(unescaped: table)")
        #expect(count == events.count, "rows == events produced")
        #expect(distinct == events.count, "distinct ids == events produced")
        let duplicates = try await client.strings("SELECT id FROM \(unescaped: table) GROUP BY id HAVING count(*) > 1 LIMIT 5")
        #expect(duplicates.isEmpty, "ids with more than one row: \(duplicates)")

        var found: [String: Position] = [:]
        let query: PostgresQuery = #"SELECT id, "partition", "offset" FROM \#(unescaped: table) WHERE topic = \#(Self.topic)"#
        for try await (id, partition, offset) in try await client.query(query).decode((String, Int32, Int64).self) {
            found[id] = Position(partition: partition, offset: offset)
        }
        let missing = events.keys.filter { found[$0] == nil }
        #expect(missing.isEmpty, "\(missing.count) events have no row, e.g. \(missing.sorted().prefix(5))")
        let misplaced = events.filter { id, position in found[id].map { $0 != position } ?? false }
        #expect(misplaced.isEmpty, "\(misplaced.count) rows are not at their event's offset, e.g. \(misplaced.prefix(3))")
        let others = Set(producer.others)
        #expect(!found.values.contains { others.contains($0) }, "a message that is not an event became a row")
    }
}

/// Polls the table's row count (PostgreSQL cannot tell a test when rows arrive).
struct RowCounter {
    let client: PostgresClient
    let table: String

    func count() async throws -> Int {
        try await client.integer("SELECT count(*) FROM \(unescaped: table)")
    }

    /// Waits until the count satisfies `condition`.
    /// - Throws: when it does not within `timeout`, or the sink exits first, with its output.
    func wait(until condition: (Int) -> Bool, within timeout: Duration, sink: SinkProcess) async throws {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var last = -1
        while ContinuousClock.now < deadline {
            // The table appears once the sink has started.
            last = (try? await count()) ?? -1
            if condition(last) { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ProcessFailure("the table had \(last) rows after \(timeout)\n\(sink.transcript)")
    }

    /// Waits until no connection of a `postgres-sink` is left on the server.
    func waitUntilNoSinkConnection(within timeout: Duration) async throws {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            let open = try await client.integer("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'postgres-sink'")
            if open == 0 { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ProcessFailure("connections of the killed sink still open after \(timeout)")
    }
}
