//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

public import Logging
internal import Synchronization

/// The lines a logger writes, kept for a test to check what the engine said: a warning naming a
/// stuck message, ignored commit metadata, a masked secret.
///
/// ```swift
/// let logs = CapturedLogs()
/// let run = try await TestConsumer(configuration: config, kafka: kafka, handler: handler,
///                                  logger: logs.logger(level: .warning)).run()
/// #expect(logs.lines.contains { $0.contains("ignoring the commit metadata") })
/// ```
public final class CapturedLogs: Sendable {
    private let captured = Mutex<[String]>([])

    /// Creates an empty capture.
    public init() {}

    /// Every line so far, in order: the message, then its metadata and error when there are any.
    public var lines: [String] { captured.withLock { $0 } }

    /// A logger writing here at `level` and above.
    public func logger(label: String = "sluice.test", level: Logger.Level = .trace) -> Logger {
        var logger = Logger(label: label) { _ in Handler(logs: self) }
        logger.logLevel = level
        return logger
    }

    /// A log handler writing here (to wrap in another handler).
    public func handler(level: Logger.Level = .trace) -> Handler {
        Handler(logs: self, logLevel: level)
    }

    /// The handler behind ``logger(label:level:)``.
    public struct Handler: LogHandler {
        let logs: CapturedLogs
        /// Metadata attached to the logger.
        public var metadata: Logger.Metadata = [:]
        /// The lowest level written.
        public var logLevel: Logger.Level = .trace

        init(logs: CapturedLogs, logLevel: Logger.Level = .trace) {
            self.logs = logs
            self.logLevel = logLevel
        }

        public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        public func log(event: LogEvent) {
            var line = "\(event.message)"
            let all = metadata.merging(event.metadata ?? [:]) { $1 }
            if !all.isEmpty { line += " \(all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))" }
            if let error = event.error { line += " \(error)" }
            logs.captured.withLock { $0.append(line) }
        }
    }
}
