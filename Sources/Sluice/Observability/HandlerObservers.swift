//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// What watches each handler call: its span and its duration. Each costs nothing when no tracer
/// or metrics backend is bootstrapped.
struct HandlerObservers: Sendable {
    let tracing: MessageTracing
    let metrics: EngineMetrics

    /// Runs a synchronous handler call of `work`, traced and timed.
    func run(_ work: InFlightWork, _ body: () throws -> Void) throws {
        guard metrics.isEnabled else { return try tracing.run(work.message, attempt: work.attempt, body) }
        let start = monotonicNanos()
        defer { metrics.recordHandlerDuration(topic: work.message.topic, nanoseconds: monotonicNanos() - start) }
        try tracing.run(work.message, attempt: work.attempt, body)
    }

    /// Runs an asynchronous handler call of `work`, traced and timed.
    func run(_ work: InFlightWork, _ body: () async throws -> Void) async throws {
        guard metrics.isEnabled else { return try await tracing.run(work.message, attempt: work.attempt, body) }
        let start = monotonicNanos()
        defer { metrics.recordHandlerDuration(topic: work.message.topic, nanoseconds: monotonicNanos() - start) }
        try await tracing.run(work.message, attempt: work.attempt, body)
    }
}

/// CLOCK_MONOTONIC in nanoseconds (cheap: served by the vDSO).
func monotonicNanos() -> Int {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return now.tv_sec * 1_000_000_000 + now.tv_nsec
}
