// The PostgreSQL server the database tests use: scripts/check-postgres-sink.sh starts a
// throwaway one on 127.0.0.1 and names it in POSTGRES_SINK_TEST_* (the password in PGPASSWORD).

import Foundation
import Logging
import PostgresNIO
import PostgresSink
import Testing

/// Where the test server is, from the environment.
struct TestDatabase {
    var host: String
    var port: Int
    var user: String
    var database: String
    var password: String?

    /// The server named by the environment.
    /// - Throws: when `POSTGRES_SINK_TEST_PORT` is not set: these tests need a server, and a
    ///   skipped test would pass in silence.
    static func fromEnvironment() throws -> TestDatabase {
        let environment = ProcessInfo.processInfo.environment
        guard let port = environment["POSTGRES_SINK_TEST_PORT"].flatMap(Int.init) else {
            throw MissingServer()
        }
        return TestDatabase(
            host: environment["POSTGRES_SINK_TEST_HOST"] ?? "127.0.0.1", port: port,
            user: environment["POSTGRES_SINK_TEST_USER"] ?? "postgres",
            database: environment["POSTGRES_SINK_TEST_DATABASE"] ?? "postgres",
            password: environment["PGPASSWORD"])
    }

    /// The sink's flags for this server.
    var sinkArguments: [String] {
        ["--postgres-host", host, "--postgres-port", String(port), "--postgres-user", user,
         "--postgres-database", database, "--postgres-tls", "disable"]
    }

    /// Runs `body` with a running client, then shuts the client down.
    func withClient<Result>(_ body: (PostgresClient) async throws -> Result) async throws -> Result {
        let client = PostgresClient(
            configuration: .init(host: host, port: port, username: user, password: password, database: database, tls: .disable),
            backgroundLogger: Logger(label: "test.postgres", factory: { _ in SwiftLogNoOpLogHandler() }))
        let run = Task { await client.run() }
        defer { run.cancel() }
        return try await body(client)
    }

    /// A table name no earlier run used, so a test can run against a server of one's own.
    static func uniqueTableName(_ prefix: String) -> String {
        prefix + "_" + UUID().uuidString.prefix(8).lowercased()
    }
}

extension PostgresClient {
    /// The single integer a query such as `SELECT count(*) …` returns.
    func integer(_ query: PostgresQuery) async throws -> Int {
        let rows = try await self.query(query).collect()
        return Int(try #require(rows.first).decode(Int64.self))
    }

    /// Every value of the query's single text column.
    func strings(_ query: PostgresQuery) async throws -> [String] {
        var values: [String] = []
        for try await value in try await self.query(query).decode(String.self) {
            values.append(value)
        }
        return values
    }
}

struct MissingServer: Error, CustomStringConvertible {
    var description: String {
        "POSTGRES_SINK_TEST_PORT is not set: run scripts/check-postgres-sink.sh from the repository's root, which starts a PostgreSQL server for these tests (or set POSTGRES_SINK_TEST_HOST/PORT/USER/DATABASE and PGPASSWORD to one of yours)"
    }
}
