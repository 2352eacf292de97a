//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// What a batch handler's call came to, per message: every message not named as failed is done.
///
/// ```swift
/// var outcome = BatchOutcome.done
/// outcome.fail(2, ParseError.badJSON)   // messages[2] follows the failure policy; the rest are done
/// ```
public struct BatchOutcome: Sendable {
    /// The failed messages' indices in the batch, each with its error.
    public private(set) var failures: [Int: any Error]

    /// Every message of the batch is done.
    public static var done: BatchOutcome { BatchOutcome(failures: [:]) }

    /// The messages at these indices failed with these errors; the others are done.
    public static func failed(_ failures: [Int: any Error]) -> BatchOutcome {
        BatchOutcome(failures: failures)
    }

    /// Marks the message at `index` failed with `error` (the last error given for an index wins).
    public mutating func fail(_ index: Int, _ error: any Error) {
        failures[index] = error
    }

    /// Whether every message is done.
    public var isDone: Bool { failures.isEmpty }

    /// Each message's result for a batch of `count` messages.
    /// - Throws: ``SluiceError`` naming an index outside the batch: the handler's answer cannot be
    ///   trusted, so the whole batch fails.
    func results(count: Int) throws -> [Result<Void, any Error>] {
        var results = [Result<Void, any Error>](repeating: .success(()), count: count)
        for (index, error) in failures {
            guard results.indices.contains(index) else {
                throw SluiceError(
                    code: .handlerFailed,
                    message: "the batch handler reported message \(index) failed, but the batch has \(count) message\(count == 1 ? "" : "s") (indices 0..<\(count))")
            }
            results[index] = .failure(error)
        }
        return results
    }
}
