// The lines `postgres-sink` prints when it stops: what reached the table, and what the consumer
// did. The test reads the "rows" line to see a replay absorbed.

import Foundation
import PostgresSink
import Sluice

/// A run's summary.
struct SinkSummary {
    var counters: SinkCounters.Snapshot
    var statistics: SluiceStatistics
    var elapsed: Duration

    /// e.g. `rows       20000 inserted, 0 already present, 0 rejected, in 212 batches (94.3 rows per batch)`.
    var lines: [String] {
        let rows = counters.inserted + counters.alreadyPresent
        let perBatch = counters.batches > 0 ? Double(rows) / Double(counters.batches) : 0
        return [
            "postgres-sink stopped after \(format(seconds(elapsed))) s",
            "rows       \(counters.inserted) inserted, \(counters.alreadyPresent) already present, "
                + "\(counters.rejected) rejected, in \(counters.batches) batches (\(format(perBatch)) rows per batch)",
            "consumer   consumed \(statistics.consumed), completed \(statistics.completed), failed \(statistics.failed), "
                + "retried \(statistics.retried), commits \(statistics.commits) (\(statistics.commitFailures) failed), "
                + "rebalances \(statistics.rebalances)",
        ]
    }

    private func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    private func format(_ value: Double) -> String {
        String(format: "%.1f", value)
    }
}
