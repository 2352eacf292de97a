//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

public import Sluice

/// A batch handler of known cost: it busy-spins a fixed amount of thread CPU time per call plus
/// an amount per message, like a handler whose every call pays for a round trip (a database
/// insert, a bulk request) on top of its work per message. `sluice bench` sets it against
/// ``SpinHandler`` paying the same per message.
///
/// It fails or traps on chosen messages, to show and test per-message outcomes:
///
/// - `fail-every=N` reports the messages whose id (the `sluice-id` header `sluice produce`
///   writes, or the offset where there is none) is N−1, 2N−1, … failed, on every attempt; the
///   rest of the batch is done;
/// - `fail-on=ID` reports the message with that id failed, on every attempt;
/// - `trap-on=ID` traps (`fatalError`) when the batch holds the message with that id: the whole
///   process goes down, unless it runs in a worker process (`--isolation process`), where the
///   batch's messages fail and are retried alone.
///
/// ```sh
/// sluice run --handler spin-batch --handler-option call-micros=100 --handler-option micros=5 \
///     --max-batch-size 100 …
/// ```
public struct SpinBatchHandler: BatchMessageHandler {
    /// Thread CPU time spun once per call, in microseconds.
    public var callMicros: Int
    /// Thread CPU time spun per message, in microseconds.
    public var micros: Int
    /// Fails every message whose id is N−1 modulo N; 0 fails none.
    public var failEvery: Int
    /// Fails the message with this id, if any.
    public var failOn: Int64?
    /// Traps when the batch holds the message with this id, if any.
    public var trapOn: Int64?

    /// The error a failed message gets, naming it and the reason.
    public struct Failure: Error, CustomStringConvertible {
        /// Why the message failed.
        public var description: String
    }

    /// Creates the handler (measuring ``SpinHandler/clockReadNanos`` now, before it handles a batch).
    public init(callMicros: Int, micros: Int, failEvery: Int = 0, failOn: Int64? = nil, trapOn: Int64? = nil) {
        _ = SpinHandler.clockReadNanos
        self.callMicros = callMicros
        self.micros = micros
        self.failEvery = failEvery
        self.failOn = failOn
        self.trapOn = trapOn
    }

    /// Spins ``callMicros`` + ``micros`` × the batch's size, and reports the chosen messages failed.
    public func handle(_ messages: [KafkaMessage], context: BatchContext) throws -> BatchOutcome {
        let ids = messages.map(FlakyHandler.id(of:))
        if let trapOn, ids.contains(trapOn) {
            fatalError("spin-batch: message \(trapOn) traps (trap-on=\(trapOn)), in a batch of \(messages.count)")
        }
        SpinHandler.spin(micros: callMicros + micros * messages.count)
        var outcome = BatchOutcome.done
        for (index, id) in ids.enumerated() {
            if FlakyHandler.chosen(id, every: failEvery) {
                outcome.fail(index, Failure(description: "spin-batch: message \(id) fails on every attempt (fail-every=\(failEvery))"))
            } else if id == failOn {
                outcome.fail(index, Failure(description: "spin-batch: message \(id) fails on every attempt (fail-on=\(id))"))
            }
        }
        return outcome
    }
}
