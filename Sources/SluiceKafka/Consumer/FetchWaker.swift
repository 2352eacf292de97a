//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import CRdKafka
internal import Dispatch
internal import Logging
internal import Synchronization

/// Wakes librdkafka's fetcher threads by putting a request on them: a `ListOffsets` of the
/// assignment (`rd_kafka_offsets_for_times`), which librdkafka sends to each partition leader's
/// broker thread. That thread then decides again which of its partitions to fetch, instead of
/// waiting out the second librdkafka 2.0.2 waits on a full queue (see ``FetchStallDetector``).
///
/// librdkafka has no call that only wakes a broker thread (`rd_kafka_flush` does, for producers
/// only; pause and resume or seek would also drop the prefetched messages), so this sends the
/// cheapest request every leader answers. It runs on a serial queue of its own, since the call
/// blocks until the answers arrive; wake-ups asked for while one is out are merged into it.
final class FetchWaker: Sendable {
    private struct State {
        var isPending = false
        var isStopped = false
    }

    private let client: RDKafkaClient
    private let queue = DispatchQueue(label: "sluice.kafka.fetch-waker")
    private let state = Mutex(State())
    /// Wake-ups sent (each one request per partition leader), for tests and statistics.
    private let sent = Atomic<Int>(0)

    init(client: RDKafkaClient) {
        self.client = client
    }

    /// How many wake-ups were sent.
    var wakeUps: Int { sent.load(ordering: .relaxed) }

    /// Asks for a wake-up; returns at once. A no-op while one is out or once stopped.
    func wake() {
        let start = state.withLock { state -> Bool in
            guard !state.isPending, !state.isStopped else { return false }
            state.isPending = true
            return true
        }
        guard start else { return }
        queue.async { [self] in
            defer { state.withLock { $0.isPending = false } }
            guard !state.withLock({ $0.isStopped }) else { return }
            sendRequest()
        }
    }

    /// Stops waking and waits for a wake-up that is out, so that the handle can close.
    func stop() {
        state.withLock { $0.isStopped = true }
        queue.sync {}
    }

    private func sendRequest() {
        var assigned: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        guard rd_kafka_assignment(client.handle, &assigned) == RD_KAFKA_RESP_ERR_NO_ERROR, let assigned else { return }
        defer { rd_kafka_topic_partition_list_destroy(assigned) }
        guard assigned.pointee.cnt > 0 else { return }
        for index in 0..<Int(assigned.pointee.cnt) {
            assigned.pointee.elems[index].offset = -1  // the latest offset: any answer will do
        }
        sent.add(1, ordering: .relaxed)
        let error = rd_kafka_offsets_for_times(client.handle, assigned, 500)
        if error != RD_KAFKA_RESP_ERR_NO_ERROR {
            client.context.logger.debug("waking the fetcher: \(String(cString: rd_kafka_err2str(error)))")
        }
    }
}
