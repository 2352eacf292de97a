// The sink as one swift-service-lifecycle Service: make sure the table exists, then consume.
// Run it after the PostgresClient in a ServiceGroup, so that a graceful shutdown stops the
// consumer first (its last batches still reach the database) and the client after it.

import Logging
import ServiceLifecycle
import Sluice

/// Creates the ``SinkTable`` (within a deadline, so that an unreachable or refusing server stops
/// the process with a sentence instead of a hang), then runs the consumer until it stops.
public struct SinkService: Service {
    /// The table the handler writes into.
    public let table: SinkTable
    /// The consumer running a ``PostgresSinkHandler`` on ``table``.
    public let consumer: SluiceConsumer
    /// Longest wait for the table's creation. Default: 30 s.
    public var setupTimeout: Duration
    let logger: Logger

    /// A service running `consumer` once `table` exists.
    public init(table: SinkTable, consumer: SluiceConsumer, setupTimeout: Duration = .seconds(30), logger: Logger) {
        self.table = table
        self.consumer = consumer
        self.setupTimeout = setupTimeout
        self.logger = logger
    }

    /// Creates the table, then consumes until a graceful shutdown (or the failure policy) stops
    /// the consumer.
    /// - Throws: ``SinkError`` when the table cannot be created in time; the consumer's error.
    public func run() async throws {
        try await createTable()
        logger.info("table \(table.name) ready; consuming \(consumer.configuration.topics.joined(separator: ", "))")
        try await consumer.run()
    }

    /// Races the creation against the deadline: PostgresClient keeps retrying a connection that
    /// fails (server down, wrong password), and a query waits for one meanwhile.
    private func createTable() async throws {
        let table = self.table
        let logger = self.logger
        let timeout = setupTimeout
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await table.create(logger: logger)
                return true
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return false
            }
            defer { group.cancelAll() }
            guard try await group.next() == true else {
                throw SinkError("creation of table \(table.name)", underlying: NoConnection(timeout: timeout))
            }
        }
    }
}

/// The table's creation did not finish within the setup deadline, most likely for want of a
/// connection: PostgresClient logs why each attempt failed (refused, wrong password) and keeps
/// trying.
struct NoConnection: Error, CustomStringConvertible {
    var timeout: Duration
    var description: String {
        "not done within \(timeout); the log says why each connection attempt failed (is PostgreSQL running, are host, port, user and PGPASSWORD right?)"
    }
}
