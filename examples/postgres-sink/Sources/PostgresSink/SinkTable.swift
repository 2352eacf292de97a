// The sink's table and its two statements. Every value goes in as a bind parameter; only the
// table's name is part of the SQL text (an identifier cannot be a parameter), so it is checked
// against a strict pattern first.

import Logging
import PostgresNIO

/// A table of ``SinkRow``s in PostgreSQL, keyed by (topic, partition, offset): inserting a row
/// whose key is already there does nothing, so the sink is idempotent under Kafka's
/// at-least-once delivery.
///
/// ```sql
/// CREATE TABLE IF NOT EXISTS sink_events (
///     topic text NOT NULL, "partition" integer NOT NULL, "offset" bigint NOT NULL,
///     id text NOT NULL, payload jsonb NOT NULL, inserted_at timestamptz NOT NULL DEFAULT now(),
///     PRIMARY KEY (topic, "partition", "offset"))
/// ```
public struct SinkTable: Sendable {
    /// The client the statements run on; it must be running (`PostgresClient.run()`).
    public let client: PostgresClient
    /// The table's name: lowercase letters, digits and underscores, at most 63 characters.
    public let name: String

    /// A table named `name` reached through `client`.
    /// - Throws: ``InvalidTableName`` when `name` is not a plain lowercase identifier.
    public init(client: PostgresClient, name: String = "sink_events") throws {
        guard Self.isPlainIdentifier(name) else { throw InvalidTableName(name: name) }
        self.client = client
        self.name = name
    }

    /// Creates the table unless it exists.
    /// - Throws: ``SinkError`` with the server's reason.
    public func create(logger: Logger) async throws {
        do {
            try await createStatement(logger: logger)
        } catch {
            throw SinkError("creation of table \(name)", underlying: error)
        }
    }

    private func createStatement(logger: Logger) async throws {
        try await client.query(
            """
            CREATE TABLE IF NOT EXISTS \(unescaped: quotedName) (
                topic       text        NOT NULL,
                "partition" integer     NOT NULL,
                "offset"    bigint      NOT NULL,
                id          text        NOT NULL,
                payload     jsonb       NOT NULL,
                inserted_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (topic, "partition", "offset")
            )
            """,
            logger: logger)
    }

    /// Inserts `rows` in one statement, skipping those whose (topic, partition, offset) is already
    /// in the table: rows a replay after a crash hands over again.
    ///
    /// The rows travel as five array parameters that `unnest` turns back into rows, so the SQL
    /// text is the same for every batch size and no batch can exceed PostgreSQL's 65,535 bind
    /// parameters (a `VALUES ($1, …), (…)` list of five columns would at 13,108 rows).
    ///
    /// - Returns: How many rows were new.
    /// - Throws: ``SinkError`` with the server's reason, in which case no row of the call was
    ///   inserted (one statement is atomic): a payload PostgreSQL refuses as `jsonb` (`\u0000`
    ///   in a string), a connection lost.
    public func insert(_ rows: [SinkRow], logger: Logger) async throws -> Int {
        guard !rows.isEmpty else { return 0 }
        do {
            return try await insertStatement(rows, logger: logger)
        } catch {
            throw SinkError("insert of \(rows.count) \(rows.count == 1 ? "row" : "rows") into \(name)", underlying: error)
        }
    }

    private func insertStatement(_ rows: [SinkRow], logger: Logger) async throws -> Int {
        let result = try await client.query(
            """
            WITH inserted AS (
                INSERT INTO \(unescaped: quotedName) (topic, "partition", "offset", id, payload)
                SELECT topic, "partition", "offset", id, payload::jsonb
                FROM unnest(\(rows.map(\.topic))::text[], \(rows.map(\.partition))::int4[], \(rows.map(\.offset))::int8[],
                            \(rows.map(\.id))::text[], \(rows.map(\.payload))::text[])
                    AS batch(topic, "partition", "offset", id, payload)
                ON CONFLICT (topic, "partition", "offset") DO NOTHING
                RETURNING 1
            )
            SELECT count(*) FROM inserted
            """,
            logger: logger)
        // Read the whole answer (one row) so the connection goes back to the pool at once.
        guard let count = try await result.collect().first else { throw MissingCount() }
        return Int(try count.decode(Int64.self))
    }

    /// The name in double quotes, for the SQL text.
    var quotedName: String { "\"\(name)\"" }

    /// Whether `name` is safe to put into SQL text: `[a-z_][a-z0-9_]{0,62}`.
    static func isPlainIdentifier(_ name: String) -> Bool {
        guard let first = name.utf8.first, name.utf8.count <= 63 else { return false }
        func isLetter(_ byte: UInt8) -> Bool { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || byte == UInt8(ascii: "_") }
        return isLetter(first) && name.utf8.allSatisfy { isLetter($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }
}

/// A table name that is not a plain lowercase identifier.
public struct InvalidTableName: Error, CustomStringConvertible {
    /// The name given.
    public var name: String

    /// Says what a name may contain.
    public var description: String {
        "table name '\(name)' must be lowercase letters, digits and underscores (not starting with a digit), at most 63 characters"
    }
}

/// The insert returned no row, which `SELECT count(*)` always does: the server's answer cannot
/// be trusted, so the batch fails.
struct MissingCount: Error, CustomStringConvertible {
    var description: String { "the insert returned no row count" }
}
