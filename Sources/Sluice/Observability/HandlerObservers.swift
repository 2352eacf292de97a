//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import _SluiceTime

/// What watches each handler call: its span and its duration. Each costs nothing when no tracer
/// or metrics backend is bootstrapped.
struct HandlerObservers: Sendable {
    let tracing: MessageTracing
    let metrics: EngineMetrics

    /// Runs a synchronous handler call of `work`, traced and timed.
    func run(_ work: InFlightWork, _ body: () throws -> Void) throws {
        guard metrics.isEnabled else { return try tracing.run(work.message, attempt: work.attempt, body) }
        let start = MonotonicInstant.now
        defer { metrics.recordHandlerDuration(topic: work.message.topic, nanoseconds: MonotonicInstant.now.nanoseconds - start.nanoseconds) }
        try tracing.run(work.message, attempt: work.attempt, body)
    }

    /// Runs an asynchronous handler call of `work`, traced and timed.
    func run(_ work: InFlightWork, _ body: () async throws -> Void) async throws {
        guard metrics.isEnabled else { return try await tracing.run(work.message, attempt: work.attempt, body) }
        let start = MonotonicInstant.now
        defer { metrics.recordHandlerDuration(topic: work.message.topic, nanoseconds: MonotonicInstant.now.nanoseconds - start.nanoseconds) }
        try await tracing.run(work.message, attempt: work.attempt, body)
    }
}
