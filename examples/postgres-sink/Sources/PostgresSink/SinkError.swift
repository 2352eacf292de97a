// PSQLError prints only "Generic description to prevent accidental leakage of sensitive data",
// and its debug description includes the query with its bind parameters (whole batches of
// payloads). The sink's errors say what the server said instead: its message, detail and
// SQLSTATE, or the connection problem.

import PostgresNIO

/// An insert or the table's creation failed.
public struct SinkError: Error, CustomStringConvertible {
    /// What the sink was doing, e.g. `insert of 100 rows into sink_events`.
    public var operation: String
    /// The error from PostgresNIO.
    public var underlying: any Error

    /// Wraps `underlying`, the error of `operation`.
    public init(_ operation: String, underlying: any Error) {
        self.operation = operation
        self.underlying = underlying
    }

    /// e.g. `insert of 100 rows into sink_events failed: unsupported Unicode escape sequence
    /// (\u0000 cannot be converted to text.) [SQLSTATE 22P05]`.
    public var description: String { "\(operation) failed: \(Self.explain(underlying))" }

    /// The server's message, detail and SQLSTATE of a `PSQLError`; its code and cause otherwise.
    static func explain(_ error: any Error) -> String {
        guard let error = error as? PSQLError else { return "\(error)" }
        if let message = error.serverInfo?[.message] {
            var text = message
            if let detail = error.serverInfo?[.detail] { text += " (\(detail))" }
            if let state = error.serverInfo?[.sqlState] { text += " [SQLSTATE \(state)]" }
            return text
        }
        return error.underlying.map { "\(error.code): \($0)" } ?? "\(error.code)"
    }
}
