//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import Foundation
internal import Logging
internal import Sluice
internal import UnixSignals

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// Runs a consumer in the foreground: signals (first SIGINT/SIGTERM stops gracefully, a second
/// stops at once after committing what is done), a status line every interval, the
/// `--max-messages` stop, and the metrics and health endpoint while the consumer runs.
struct ConsumerSupervisor {
    var consumer: SluiceConsumer
    var maxMessages: Int?
    var statusInterval: Duration
    var server: ObservabilityServer? = nil
    var logger: Logger

    /// Runs until the consumer returns; returns its last statistics and how long it ran.
    func run() async throws -> (SluiceStatistics, Duration) {
        let started = ContinuousClock.now
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await consumer.run() }
            group.addTask { [consumer, logger] in
                var received = 0
                for await signal in signals {
                    received += 1
                    if received == 1 {
                        logger.notice("received \(signal): stopping gracefully (draining, committing); send it again to stop at once")
                        consumer.stop()
                    } else {
                        logger.notice("received \(signal) again: committing what is done and stopping now")
                        consumer.stop(immediately: true)
                    }
                }
            }
            group.addTask { try await watch() }
            if let server {
                group.addTask {
                    do {
                        try await server.run()
                    } catch {
                        // Without its probes an orchestrator would restart it: stop instead.
                        logger.error("metrics and health endpoint \(server.host):\(server.port) failed: \(error)")
                        consumer.stop()
                        throw error
                    }
                }
            }
            // The consumer's task ends first (the others loop until cancelled).
            defer { group.cancelAll() }
            try await group.next()
        }
        let elapsed = started.duration(to: .now)
        finishStatusLine()
        return (consumer.statistics, elapsed)
    }

    private var isTerminal: Bool { isatty(STDERR_FILENO) == 1 }

    /// Prints status lines and stops the consumer once `--max-messages` are handled and committed.
    private func watch() async throws {
        var previous = consumer.statistics
        var lastStatus = ContinuousClock.now
        var stopping = false
        let tick = min(statusInterval == .zero ? .milliseconds(100) : statusInterval, .milliseconds(100))
        while !Task.isCancelled {
            try await Task.sleep(for: tick)
            let current = consumer.statistics
            if let maxMessages, !stopping, current.completed >= maxMessages {
                stopping = true
                logger.info("handled \(current.completed) messages (--max-messages \(maxMessages)): stopping")
                consumer.stop()
            }
            guard statusInterval > .zero, lastStatus.duration(to: current.takenAt) >= statusInterval else { continue }
            let line = StatusFormatter.line(previous: previous, current: current)
            if isTerminal {
                FileHandle.standardError.write(Data("\r\u{1B}[2K\(line)".utf8))
            } else {
                logger.info("\(line)")
            }
            previous = current
            lastStatus = current.takenAt
        }
    }

    private func finishStatusLine() {
        if isTerminal, statusInterval > .zero { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
