//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import Foundation
internal import Logging
internal import Sluice
internal import Synchronization
internal import UnixSignals

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// Runs a consumer in the foreground: signals (first SIGINT/SIGTERM stops gracefully, a second
/// stops at once after committing what is done), a status line every interval (with a progress
/// bar toward the consumer's message limit, `--max-messages`, which the consumer stops at by
/// itself), and the metrics and health endpoint while the consumer runs.
struct ConsumerSupervisor {
    var consumer: SluiceConsumer
    var statusInterval: Duration
    var server: ObservabilityServer? = nil
    var logger: Logger

    /// Runs until the consumer returns; returns its last statistics and how long it ran.
    ///
    /// The metrics and health endpoint, when there is one, listens before the consumer starts: an
    /// address that cannot be bound fails the run at once (``CommandFailure``, exit 1), before the
    /// consumer joins its group.
    func run() async throws -> (SluiceStatistics, Duration) {
        let started = ContinuousClock.now
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        try await withThrowingTaskGroup(of: Void.self) { group in
            // The consumer's task ends first (the others loop until cancelled).
            defer { group.cancelAll() }
            if let server {
                try await Self.startListening(server, in: &group, consumer: consumer, logger: logger)
            }
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
            if statusInterval > .zero { group.addTask { try await watch() } }
            try await group.next()
        }
        let elapsed = started.duration(to: .now)
        finishStatusLine()
        return (consumer.statistics, elapsed)
    }

    /// Starts `server` in `group` and returns once it listens.
    /// - Throws: ``CommandFailure`` naming the address when the server fails before it listens.
    private static func startListening(
        _ server: ObservabilityServer, in group: inout ThrowingTaskGroup<Void, any Error>, consumer: SluiceConsumer,
        logger: Logger
    ) async throws {
        var server = server
        let (listening, listened) = AsyncStream<Void>.makeStream()
        let hasListened = Flag()
        let onListening = server.onListening
        server.onListening = { port in
            hasListened.set()
            listened.yield()
            await onListening(port)
        }
        group.addTask { [server] in
            do {
                try await server.run()
            } catch {
                listened.finish()
                // Before it listened, startListening reports it. After: without its probes an
                // orchestrator would restart the consumer, so stop instead.
                if hasListened.isSet {
                    logger.error("metrics and health endpoint \(server.host):\(server.port) failed: \(error)")
                    consumer.stop()
                }
                throw error
            }
        }
        var iterator = listening.makeAsyncIterator()
        guard await iterator.next() != nil else {
            do {
                try await group.next()
            } catch {
                throw CommandFailure.runtime(
                    "cannot serve metrics and health on \(server.host):\(server.port) (--metrics-port, --metrics-host): \(error)")
            }
            throw CommandFailure.runtime("the metrics and health endpoint on \(server.host):\(server.port) stopped before it listened")
        }
    }

    private var statusLine: TerminalStatusLine { .standardError }

    /// Prints a status line every interval (not zero).
    private func watch() async throws {
        var previous = consumer.statistics
        let total = consumer.configuration.messageLimit
        while !Task.isCancelled {
            try await Task.sleep(for: statusInterval)
            let current = consumer.statistics
            let line = StatusFormatter.line(previous: previous, current: current)
            if statusLine.isTerminal {
                // With a known total (--max-messages, the demo's count) a progress bar leads the line.
                let progress = total.map { StatusFormatter.progress(previous: previous, current: current, total: $0) }
                statusLine.show(progress.map { "\($0) · \(line)" } ?? line)
            } else {
                logger.info("\(line)")
            }
            previous = current
        }
    }

    private func finishStatusLine() {
        statusLine.finish()
    }
}

/// A Boolean set once, shared between tasks.
private final class Flag: Sendable {
    private let value = Mutex(false)

    var isSet: Bool { value.withLock { $0 } }

    func set() {
        value.withLock { $0 = true }
    }
}
