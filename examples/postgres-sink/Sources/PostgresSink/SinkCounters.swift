// What the sink did, for its summary and its tests: counted by the handler, which runs several
// batches at once under Swift concurrency, so behind a lock.

import Synchronization

/// Counts of the sink's batches and rows, safe to update from concurrent handler calls.
public final class SinkCounters: Sendable {
    /// A snapshot of the counts.
    public struct Snapshot: Sendable, Hashable {
        /// Handler calls whose insert succeeded.
        public var batches = 0
        /// Rows the inserts added.
        public var inserted = 0
        /// Rows already in the table: messages handed over again (a replay after a crash, or a
        /// message retried after its batch failed), which the sink absorbed.
        public var alreadyPresent = 0
        /// Messages that were not a JSON object with an id, left to the failure policy.
        public var rejected = 0
    }

    private let counts = Mutex(Snapshot())

    /// Zero counts.
    public init() {}

    /// The counts now.
    public var snapshot: Snapshot { counts.withLock { $0 } }

    /// Records one successful insert of `rows` rows, `inserted` of them new, and `rejected`
    /// messages of the same batch that did not decode.
    func record(rows: Int, inserted: Int, rejected: Int) {
        counts.withLock {
            $0.batches += 1
            $0.inserted += inserted
            $0.alreadyPresent += rows - inserted
            $0.rejected += rejected
        }
    }

    /// Records `rejected` messages of a batch that had no row to insert.
    func record(rejected: Int) {
        counts.withLock { $0.rejected += rejected }
    }
}
