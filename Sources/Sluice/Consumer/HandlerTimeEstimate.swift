//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import Synchronization

/// The wall time of one handler call, smoothed over the chunks that workers measure, from which
/// the engine sizes lane runs.
///
/// One chunk's time is a noisy sample: a worker preempted during a short chunk reports many times
/// the handler's cost (`sluice run`, a 10 µs handler on two cores: samples of 10.1–10.4 µs, and
/// of 40–190 µs one in a few dozen). Sized from single samples, lane runs jumped between sizes,
/// and their limit, which the state machine keeps under the engine's lock, changed after one
/// chunk in eight. So a sample counts for 1/8 of the mean, and for at most twice the mean: a
/// preemption raises it by an eighth at most, while a handler that really became slower or
/// faster is followed within a few dozen chunks (about an eighth of the way per chunk).
///
/// Chunks still follow the last sample: sized from this mean, frames to worker processes grew
/// and so did the consumer's peak RSS (`spin-10us-2w-process`: 80–96 MB against 70–73 MB).
final class HandlerTimeEstimate: Sendable {
    private let mean = Atomic<Int64>(0)

    /// Creates an estimate with nothing measured.
    init() {}

    /// The smoothed time of one call in nanoseconds; 0 until a call was measured.
    var nanos: Int64 { mean.load(ordering: .relaxed) }

    /// Adds the mean time per message of one measured chunk. Workers record concurrently; one of
    /// two simultaneous samples may be lost, which a smoothed mean can afford.
    func record(_ nanosPerMessage: Int64) {
        let sample = max(1, nanosPerMessage)
        let old = mean.load(ordering: .relaxed)
        guard old > 0 else {
            mean.store(sample, ordering: .relaxed)
            return
        }
        mean.store(max(1, old + (min(sample, 2 * old) - old) / 8), ordering: .relaxed)
    }
}
