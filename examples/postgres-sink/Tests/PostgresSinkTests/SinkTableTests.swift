// The table against a real PostgreSQL: the insert is idempotent and atomic.

import Logging
import PostgresNIO
import PostgresSink
import Testing

@Suite(.serialized, .timeLimit(.minutes(1)))
struct SinkTableTests {
    let logger = Logger(label: "test")

    static func rows(_ numbers: Range<Int>) -> [SinkRow] {
        numbers.map { SinkRow(topic: "t", partition: Int32($0 % 3), offset: Int64($0), id: "e-\($0)", payload: #"{"id":"e-\#($0)"}"#) }
    }

    @Test func insertingRowsAgainAddsOnlyTheNewOnes() async throws {
        let database = try TestDatabase.fromEnvironment()
        try await database.withClient { client in
            let table = try SinkTable(client: client, name: TestDatabase.uniqueTableName("idempotent"))
            try await table.create(logger: logger)
            try await table.create(logger: logger)  // already there: nothing happens

            #expect(try await table.insert(Self.rows(0..<150), logger: logger) == 150)
            // A replay of the first 150 with 100 new ones behind them.
            #expect(try await table.insert(Self.rows(0..<250), logger: logger) == 100)
            #expect(try await table.insert(Self.rows(0..<250), logger: logger) == 0)
            #expect(try await client.integer("SELECT count(*) FROM \(unescaped: table.name)") == 250)
            #expect(try await client.integer("SELECT count(DISTINCT id) FROM \(unescaped: table.name)") == 250)
            try await client.query("DROP TABLE \(unescaped: table.name)")
        }
    }

    @Test func aRowTheServerRefusesFailsTheWholeInsert() async throws {
        let database = try TestDatabase.fromEnvironment()
        try await database.withClient { client in
            let table = try SinkTable(client: client, name: TestDatabase.uniqueTableName("atomic"))
            try await table.create(logger: logger)
            var rows = Self.rows(0..<10)
            // Valid JSON, but jsonb cannot hold a NUL character.
            rows[6].payload = #"{"id":"e-6","note":"\u0000"}"#

            let error = await #expect(throws: SinkError.self) { try await table.insert(rows, logger: logger) }
            #expect(error?.description.contains("SQLSTATE 22P05") == true, "\(String(describing: error))")
            #expect(error?.description.hasPrefix("insert of 10 rows into \(table.name) failed: ") == true)
            #expect(try await client.integer("SELECT count(*) FROM \(unescaped: table.name)") == 0)
            try await client.query("DROP TABLE \(unescaped: table.name)")
        }
    }
}
