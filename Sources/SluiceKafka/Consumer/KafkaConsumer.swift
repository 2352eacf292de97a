//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import _SluiceTime
internal import CRdKafka
public import Logging
internal import Synchronization

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// A Kafka consumer in a consumer group: a safe owner of one librdkafka consumer handle.
///
/// Poll it from one thread. The rebalance hook, the commit hook and the error hook run on that
/// thread, inside ``poll(timeout:)`` (and inside ``close(timeout:)``); the rebalance hook runs
/// *before* the assignment changes, so the layer above can drain in-flight work and commit.
///
/// ```swift
/// let consumer = try KafkaConsumer(
///     configuration: KafkaConsumerConfiguration(bootstrapServers: [broker.bootstrapServers], groupID: "g"),
///     rebalanceHook: { event in print(event) })
/// try consumer.subscribe(topics: ["orders"])
/// while let message = try consumer.poll(timeout: .milliseconds(100)) { print(message) }
/// try consumer.close(timeout: .seconds(10))
/// ```
///
/// Where the linked librdkafka re-checks a full prefetch queue only once a second (before 2.1), the
/// consumer wakes its fetcher itself once the queue drained, from a thread of its own
/// (``KafkaConsumerConfiguration/wakesStalledFetcher``).
///
/// `@unchecked Sendable`: the librdkafka handle is thread-safe, the topic-name cache is behind a
/// `Mutex`, the closed flag is atomic, and what only polling touches (the last topic, the
/// fetch-stall detector) is the polling thread's.
public final class KafkaConsumer: @unchecked Sendable {
    /// How ``commit(_:mode:)`` waits.
    public struct CommitMode: Hashable, Sendable {
        fileprivate let isAsync: Bool
        /// Return at once; the outcome reaches the commit hook from a later poll.
        public static let async = CommitMode(isAsync: true)
        /// Wait for the broker's answer and throw on failure.
        public static let sync = CommitMode(isAsync: false)
    }

    private struct State {
        /// Set once ``close(timeout:)`` begins (it runs once).
        var isClosing = false
        /// Topic names by librdkafka's name pointer, so that polling does not build a String per message.
        var topicNames: [UInt: (cString: ContiguousArray<CChar>, name: String)] = [:]
    }

    private let client: RDKafkaClient
    private let state = Mutex(State())
    /// Set once ``close(timeout:)`` ended: calls then fail. An atomic, not `state`: every poll reads it.
    private let closed = Atomic<Bool>(false)
    /// The topic of the last polled message (messages come in runs of one partition): librdkafka's
    /// name pointer, a copy of the name that tells a reused pointer apart, and the name. Polling
    /// thread only, no lock. Plain fields, not a tuple with an array: reading such a tuple copied
    /// it, a reference count per message.
    private var lastTopicKey: UInt = 0
    private var lastTopicCString: UnsafeMutablePointer<CChar>?
    private var lastTopicName = ""
    /// Wakes librdkafka 2.0.2's fetcher when the queue drained below its thresholds; `nil` where
    /// the linked librdkafka re-checks by itself (`fetch.queue.backoff.ms`) or it is turned off.
    private let fetchWaker: FetchWaker?
    /// The consumer queue (a reference of our own), whose length ``stallDetector`` samples.
    private let consumerQueue: OpaquePointer?
    /// Fed by the polling thread only (``poll(timeout:)`` is called from one thread).
    private var stallDetector: FetchStallDetector
    /// The configuration the consumer was created with.
    public let configuration: KafkaConsumerConfiguration

    /// Creates a consumer.
    ///
    /// - Parameters:
    ///   - configuration: Brokers, group and settings.
    ///   - logger: Receives librdkafka's own log lines at their level.
    ///   - rebalanceHook: Called on the polling thread before each assignment change.
    ///   - commitHook: Called on the polling thread with the outcome of every asynchronous commit
    ///     (``commitAsync(_:id:)``) and of librdkafka's automatic commits; never for synchronous ones.
    ///   - errorHook: Called on the polling thread with client-level errors (brokers down, fatal
    ///     errors); without it they are logged.
    /// - Throws: ``KafkaError`` with librdkafka's message for a bad property.
    public init(
        configuration: KafkaConsumerConfiguration,
        logger: Logger = Logger(label: "sluice.kafka.consumer"),
        rebalanceHook: (@Sendable (KafkaRebalanceEvent) -> Void)? = nil,
        commitHook: (@Sendable (KafkaCommitResult) -> Void)? = nil,
        errorHook: (@Sendable (KafkaError) -> Void)? = nil
    ) throws {
        try configuration.validate()
        let context = RDKafkaClientContext(
            logger: logger, redactor: SecretRedactor(kafkaProperties: configuration.librdkafkaProperties),
            rebalanceHook: rebalanceHook, commitHook: commitHook, errorHook: errorHook)
        self.client = try RDKafkaClient(
            type: RD_KAFKA_CONSUMER, properties: configuration.librdkafkaProperties, context: context)
        self.configuration = configuration
        // Serve callbacks (rebalance, commits, errors) from consumer_poll.
        rd_kafka_poll_set_consumer(client.handle)
        self.stallDetector = FetchStallDetector(
            minMessages: Int(configuration.librdkafkaProperties["queued.min.messages"] ?? "") ?? 100_000,
            maxKilobytes: Int(configuration.librdkafkaProperties["queued.max.messages.kbytes"] ?? "") ?? 65_536)
        if configuration.wakesStalledFetcher {
            self.fetchWaker = FetchWaker(client: client)
            self.consumerQueue = rd_kafka_queue_get_consumer(client.handle)
        } else {
            self.fetchWaker = nil
            self.consumerQueue = nil
        }
    }

    deinit {
        free(lastTopicCString)
        fetchWaker?.stop()
        if let consumerQueue { rd_kafka_queue_destroy(consumerQueue) }
        if !state.withLock({ $0.isClosing }) {
            // An implicit close in rd_kafka_destroy can hang on 2.0.2; close explicitly to leave the group.
            client.destroyFlags = sluice_rd_kafka_destroy_f_no_consumer_close()
        }
    }

    private func ensureOpen() throws {
        if closed.load(ordering: .acquiring) { throw KafkaError.closed("consumer") }
    }

    /// Subscribes to topics (replacing any earlier subscription). Partitions arrive through rebalances.
    public func subscribe(topics: [String]) throws {
        try ensureOpen()
        guard !topics.isEmpty else { throw KafkaError(code: .invalidArgument, message: "no topics to subscribe to") }
        let list = RDKafkaTopicPartitionList(capacity: topics.count)
        for topic in topics { list.add(TopicPartition(topic: topic, partition: sluice_rd_kafka_partition_ua()), offset: nil) }
        let error = list.withListPointer { rd_kafka_subscribe(client.handle, $0) }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.rdKafka(error, "subscribing to \(topics)") }
    }

    /// Waits up to `timeout` for the next message, serving rebalance, commit and error callbacks meanwhile.
    ///
    /// - Returns: The next message, or `nil` when none arrived in time.
    /// - Throws: ``KafkaError`` for a consumer-level error reported in place of a message (e.g. an
    ///   unknown topic), with topic, partition and offset as context. Polling may go on after it.
    public func poll(timeout: Duration) throws -> KafkaMessage? {
        try ensureOpen()
        // `.zero` is the engine's per-message case: skip `Duration`'s 128-bit arithmetic there.
        let milliseconds = timeout == .zero ? 0 : Int32(clamping: timeout.milliseconds)
        guard let raw = rd_kafka_consumer_poll(client.handle, milliseconds) else {
            if fetchWaker != nil, stallDetector.pollCameBackEmpty() { fetchWaker?.wake() }
            return nil
        }
        defer { rd_kafka_message_destroy(raw) }  // every byte is copied out below
        let message = raw.pointee
        if fetchWaker != nil, stallDetector.polled(payloadBytes: message.len) { sampleQueue() }
        let topic = message.rkt.map { topicName(of: $0) }
        if message.err != RD_KAFKA_RESP_ERR_NO_ERROR {
            if message.err == RD_KAFKA_RESP_ERR__PARTITION_EOF { return nil }
            var error = KafkaError.rdKafka(
                message.err, topic: topic, partition: message.partition,
                offset: message.offset >= 0 ? message.offset : nil)
            error.message = String(cString: rd_kafka_message_errstr(raw))
            throw error
        }
        return KafkaMessage(raw: raw, topic: topic ?? "")
    }

    /// Polls one message and drops it without copying anything: the raw librdkafka ceiling that
    /// benchmarks compare the engine with. Returns whether a message (not an error) arrived.
    package func pollDiscarding(timeout: Duration) throws -> Bool {
        try ensureOpen()
        guard let raw = rd_kafka_consumer_poll(client.handle, Int32(timeout.milliseconds)) else {
            if fetchWaker != nil, stallDetector.pollCameBackEmpty() { fetchWaker?.wake() }
            return false
        }
        defer { rd_kafka_message_destroy(raw) }
        if fetchWaker != nil, stallDetector.polled(payloadBytes: raw.pointee.len) { sampleQueue() }
        return raw.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR
    }

    /// Samples the consumer queue's length and wakes the fetcher when it drained below the thresholds.
    private func sampleQueue() {
        guard let consumerQueue else { return }
        if stallDetector.sample(queueLength: rd_kafka_queue_length(consumerQueue)) { fetchWaker?.wake() }
    }

    /// How many times the consumer woke librdkafka's fetcher (see ``KafkaConsumerConfiguration/wakesStalledFetcher``).
    public var fetcherWakeUps: Int { fetchWaker?.wakeUps ?? 0 }

    private func topicName(of topic: OpaquePointer) -> String {
        let cName = rd_kafka_topic_name(topic)!
        let key = UInt(bitPattern: cName)
        if lastTopicKey == key, let last = lastTopicCString, strcmp(last, cName) == 0 {
            return lastTopicName
        }
        let entry = state.withLock { state in
            // The pointer is stable while the topic object lives; compare contents in case it was reused.
            if let cached = state.topicNames[key], cached.cString.withUnsafeBufferPointer({ strcmp($0.baseAddress!, cName) == 0 }) {
                return cached
            }
            let name = String(cString: cName)
            state.topicNames[key] = (ContiguousArray(name.utf8CString), name)
            return state.topicNames[key]!
        }
        free(lastTopicCString)
        (lastTopicKey, lastTopicCString, lastTopicName) = (key, strdup(cName), entry.name)
        return entry.name
    }

    /// Stops fetching from these partitions. librdkafka purges their prefetched messages and
    /// fetches again from the last delivered offset on resume: correct, but not for every message.
    public func pause(_ partitions: [TopicPartition]) throws {
        try ensureOpen()
        let list = RDKafkaTopicPartitionList(partitions)
        let error = list.withListPointer { rd_kafka_pause_partitions(client.handle, $0) }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.rdKafka(error, "pausing \(partitions)") }
        if let failure = list.firstError { throw failure }
    }

    /// Resumes fetching from paused partitions.
    public func resume(_ partitions: [TopicPartition]) throws {
        try ensureOpen()
        let list = RDKafkaTopicPartitionList(partitions)
        let error = list.withListPointer { rd_kafka_resume_partitions(client.handle, $0) }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.rdKafka(error, "resuming \(partitions)") }
        if let failure = list.firstError { throw failure }
    }

    /// Stores offsets for librdkafka's automatic commit (needs `isAutoOffsetStoreEnabled == false`).
    /// Each offset is the *next* one to read. A stored offset replaces the previous one.
    public func storeOffsets(_ offsets: [TopicPartitionOffset]) throws {
        try ensureOpen()
        let list = RDKafkaTopicPartitionList(offsets.filter { $0.offset != nil })
        let error = list.withListPointer { rd_kafka_offsets_store(client.handle, $0) }
        if let failure = list.firstError { throw failure }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.rdKafka(error, "storing offsets") }
    }

    /// Commits offsets (each the *next* offset to read), with their metadata.
    ///
    /// - Parameters:
    ///   - offsets: What to commit; entries without an offset are skipped. Empty commits the
    ///     stored offsets of the current assignment.
    ///   - mode: ``CommitMode/sync`` waits for the broker; ``CommitMode/async`` returns at once and
    ///     the outcome reaches the commit hook from a later poll (as ``commitAsync(_:id:)`` with id 0).
    /// - Throws: ``KafkaError`` when the commit (or, synchronously, any partition of it) fails.
    public func commit(_ offsets: [TopicPartitionOffset], mode: CommitMode) throws {
        if mode.isAsync {
            try commitAsync(offsets, id: 0)
        } else {
            try commit(offsets, remaining: { .seconds(Int64.max / 4) })
        }
    }

    /// Sends a commit and returns at once; its outcome reaches the commit hook, with this `id` in
    /// ``KafkaCommitResult/id``, from a later ``poll(timeout:)``. Only asynchronous commits reach
    /// the hook, so their bookkeeping never mixes with synchronous ones.
    ///
    /// - Parameters:
    ///   - offsets: What to commit; entries without an offset are skipped. Empty commits the
    ///     stored offsets of the current assignment.
    ///   - id: Comes back with the outcome.
    /// - Throws: ``KafkaError`` when the commit cannot be sent.
    public func commitAsync(_ offsets: [TopicPartitionOffset], id: UInt64) throws {
        guard let entries = try committable(offsets) else { return }
        // The consumer's queue, which `poll` serves: the answer runs `asyncCommitCallback` there.
        let queue = rd_kafka_queue_get_consumer(client.handle)
        defer { if let queue { rd_kafka_queue_destroy(queue) } }  // a new reference: ours to release
        let error = sendCommit(entries, answerTo: queue, asyncCommitCallback, UnsafeMutableRawPointer(bitPattern: UInt(id)))
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR || error == RD_KAFKA_RESP_ERR__NO_OFFSET else {
            throw KafkaError.rdKafka(error, "committing \(entries)")
        }
    }

    /// Commits and waits for the broker's answer while `remaining()` is positive, asking it again
    /// at least every 100 ms (so a caller can shorten the wait, e.g. on a second stop signal).
    ///
    /// Past the deadline the commit may still complete; it is not cancelled.
    ///
    /// - Throws: ``KafkaError`` when the commit or any partition of it fails, or with code
    ///   ``KafkaError/Code/timedOut`` when no answer came in time.
    public func commit(_ offsets: [TopicPartitionOffset], remaining: () -> Duration) throws {
        guard let entries = try committable(offsets) else { return }
        let queue = rd_kafka_queue_new(client.handle)!
        defer { rd_kafka_queue_destroy(queue) }  // librdkafka holds its own reference until it answers
        let answer = SyncCommitAnswer(committing: entries)
        let opaque = Unmanaged.passRetained(answer).toOpaque()
        let error = sendCommit(entries, answerTo: queue, syncCommitCallback, opaque)
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            Unmanaged<SyncCommitAnswer>.fromOpaque(opaque).release()  // never answered: balance the +1
            if error == RD_KAFKA_RESP_ERR__NO_OFFSET { return }
            throw KafkaError.rdKafka(error, "committing \(entries)")
        }
        while true {
            // An answer arrives either through the callback (served by this poll) or as an event.
            if let event = rd_kafka_queue_poll(queue, Int32(clamping: max(0, min(remaining(), .milliseconds(100)).milliseconds))) {
                if rd_kafka_event_type(event) == RD_KAFKA_EVENT_OFFSET_COMMIT {
                    answer.record(rd_kafka_event_error(event), rd_kafka_event_topic_partition_list(event))
                    Unmanaged<SyncCommitAnswer>.fromOpaque(opaque).release()  // the callback will not run
                }
                rd_kafka_event_destroy(event)
            }
            if let outcome = answer.outcome {
                switch outcome {
                case .success: return
                case .failure(let error): throw error
                }
            }
            if remaining() <= .zero {
                throw KafkaError(code: .timedOut, message: "no answer to the commit of \(entries) in time")
            }
        }
    }

    /// The entries of `offsets` that carry an offset; `nil` when there are offsets but none carries
    /// one (nothing to commit). Empty means: the stored offsets of the current assignment.
    private func committable(_ offsets: [TopicPartitionOffset]) throws -> [TopicPartitionOffset]? {
        try ensureOpen()
        let entries = offsets.filter { $0.offset != nil }
        return entries.isEmpty && !offsets.isEmpty ? nil : entries
    }

    /// Sends a commit of `entries` (empty: the stored offsets) whose answer goes to `queue`, where
    /// it runs `callback` with `opaque`, or comes back as an event.
    private func sendCommit(
        _ entries: [TopicPartitionOffset], answerTo queue: OpaquePointer?,
        _ callback: @convention(c) (OpaquePointer?, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, UnsafeMutableRawPointer?) -> Void,
        _ opaque: UnsafeMutableRawPointer?
    ) -> rd_kafka_resp_err_t {
        guard !entries.isEmpty else { return rd_kafka_commit_queue(client.handle, nil, queue, callback, opaque) }
        return RDKafkaTopicPartitionList(entries).withListPointer {
            rd_kafka_commit_queue(client.handle, $0, queue, callback, opaque)
        }
    }

    /// The group's committed offsets for these partitions (`offset == nil` where none is committed).
    public func committed(_ partitions: [TopicPartition], timeout: Duration) throws -> [TopicPartitionOffset] {
        try ensureOpen()
        let list = RDKafkaTopicPartitionList(partitions)
        let error = list.withListPointer { rd_kafka_committed(client.handle, $0, Int32(timeout.milliseconds)) }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.rdKafka(error, "reading committed offsets") }
        if let failure = list.firstError { throw failure }
        return list.entries
    }

    /// The partitions currently assigned to this consumer.
    public func assignment() throws -> [TopicPartition] {
        try ensureOpen()
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        let error = rd_kafka_assignment(client.handle, &list)
        defer { if let list { rd_kafka_topic_partition_list_destroy(list) } }  // ours to free
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.rdKafka(error, "reading the assignment") }
        return RDKafkaTopicPartitionList.partitions(of: list)
    }

    /// Low and high watermarks, asked of the partition leader.
    public func watermarks(of partition: TopicPartition, timeout: Duration) throws -> KafkaWatermarks {
        try ensureOpen()
        return try client.queryWatermarks(partition, timeout: timeout)
    }

    /// Watermarks from the last fetch, without a request (cheap enough for lag statistics).
    public func cachedWatermarks(of partition: TopicPartition) -> KafkaWatermarks? {
        if closed.load(ordering: .acquiring) { return nil }
        return client.cachedWatermarks(partition)
    }

    /// Topics in the cluster with their partition counts. Fails within `timeout` when no broker answers.
    public func topics(timeout: Duration) throws -> [String: Int] {
        try ensureOpen()
        return try client.topicPartitionCounts(timeout: timeout)
    }

    /// Whether ``close(timeout:)`` has completed (or was attempted).
    public var isClosed: Bool { closed.load(ordering: .acquiring) }

    /// Leaves the group and closes the consumer, waiting at most `timeout`.
    ///
    /// The rebalance hook is called once more with the final revocation, on this thread; the
    /// consumer still commits from inside it. Idempotent.
    /// - Throws: ``KafkaError`` with code ``KafkaError/Code/timedOut`` when the close did not finish
    ///   in time (librdkafka 2.0.2 can hang here); the handle is then destroyed without a close.
    public func close(timeout: Duration) throws {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        try close(remaining: { ContinuousClock.now.duration(to: deadline) })
    }

    /// Leaves the group and closes the consumer while `remaining()` is positive, asking it again at
    /// least every 100 ms (so a caller can cut the close short). See ``close(timeout:)``.
    public func close(remaining: () -> Duration) throws {
        let alreadyClosing = state.withLock { state in
            defer { state.isClosing = true }
            return state.isClosing
        }
        if alreadyClosing { return }
        fetchWaker?.stop()  // no request may be out while the consumer leaves the group
        // Closed for callers only once the close is over: the final revocation still commits.
        defer { closed.store(true, ordering: .releasing) }
        let handle = client.handle
        let queue = rd_kafka_queue_new(handle)!
        defer { rd_kafka_queue_destroy(queue) }
        if let error = rd_kafka_consumer_close_queue(handle, queue) {
            defer { rd_kafka_error_destroy(error) }
            giveUpClosing()
            throw KafkaError.rdKafka(rd_kafka_error_code(error), "closing the consumer")
        }
        let started = ContinuousClock.now
        while rd_kafka_consumer_closed(handle) == 0 {
            let left = remaining()
            guard left > .zero else {
                giveUpClosing()
                throw KafkaError(
                    code: .timedOut,
                    message: "closing the consumer did not finish in its time (\(started.duration(to: .now)) spent); the group notices the member gone after session.timeout.ms")
            }
            guard let event = rd_kafka_queue_poll(queue, Int32(min(left, .milliseconds(100)).milliseconds)) else {
                continue
            }
            defer { rd_kafka_event_destroy(event) }
            switch rd_kafka_event_type(event) {
            case RD_KAFKA_EVENT_REBALANCE:
                client.context.rebalance(handle, rd_kafka_event_error(event), rd_kafka_event_topic_partition_list(event))
            case RD_KAFKA_EVENT_ERROR:
                client.context.report(.rdKafka(rd_kafka_event_error(event), "while closing"))
            default:
                break
            }
        }
    }
}

extension KafkaConsumer {
    /// The close did not finish: destroy the handle without closing, and wait for librdkafka's
    /// destroy only briefly (it can hang while the brokers do not answer; it goes on in the background).
    fileprivate func giveUpClosing() {
        client.destroyFlags = sluice_rd_kafka_destroy_f_no_consumer_close()
        client.destroyTimeout = 0.5
    }
}

/// The answer to one synchronous commit, filled by `syncCommitCallback` or from the commit event.
private final class SyncCommitAnswer: @unchecked Sendable {
    // @unchecked Sendable: written and read on the thread that waits for the commit (librdkafka
    // serves the callback from that thread's `rd_kafka_queue_poll`).
    private(set) var outcome: Result<Void, KafkaError>?
    /// What the commit carried, for its error message.
    let what: String

    init(committing entries: [TopicPartitionOffset]) {
        self.what = "\(entries)"
    }

    func record(_ error: rd_kafka_resp_err_t, _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) {
        guard outcome == nil else { return }
        switch error {
        case RD_KAFKA_RESP_ERR_NO_ERROR, RD_KAFKA_RESP_ERR__NO_OFFSET:
            outcome = RDKafkaTopicPartitionList.firstError(of: list).map { .failure($0) } ?? .success(())
        default:
            // The whole commit failed: name what it carried.
            outcome = .failure(KafkaError.rdKafka(error, "committing \(what)"))
        }
    }
}

private func syncCommitCallback(
    _ handle: OpaquePointer?, _ error: rd_kafka_resp_err_t,
    _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, _ opaque: UnsafeMutableRawPointer?
) {
    guard let opaque else { return }
    // Takes back the +1 passed to rd_kafka_commit_queue: each commit is answered once.
    Unmanaged<SyncCommitAnswer>.fromOpaque(opaque).takeRetainedValue().record(error, list)
}

private func asyncCommitCallback(
    _ handle: OpaquePointer?, _ error: rd_kafka_resp_err_t,
    _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, _ opaque: UnsafeMutableRawPointer?
) {
    guard let handle, let context = RDKafkaClientContext.from(rd_kafka_opaque(handle)) else { return }
    context.commitAnswered(error, list, id: UInt64(UInt(bitPattern: opaque)))
}

extension KafkaMessage {
    /// Copies a fetched librdkafka message (not an error event: the header probe reads the record
    /// around its value). The caller destroys `raw` afterwards.
    init(raw: UnsafeMutablePointer<rd_kafka_message_t>, topic: String) {
        let message = raw.pointee
        var headers: [KafkaHeader] = []
        var list: OpaquePointer?
        // Asked only when the record can have headers: for one without, librdkafka would
        // allocate and free a reader to find none (see RecordHeaderProbe).
        if RecordHeaderProbe.mayHaveHeaders(value: message.payload, count: message.len),
           rd_kafka_message_headers(raw, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list
        {
            let count = rd_kafka_header_cnt(list)
            headers.reserveCapacity(count)
            for index in 0..<count {
                var name: UnsafePointer<CChar>?
                var bytes: UnsafeRawPointer?
                var size = 0
                guard rd_kafka_header_get_all(list, index, &name, &bytes, &size) == RD_KAFKA_RESP_ERR_NO_ERROR,
                      let name else { continue }
                headers.append(KafkaHeader(
                    name: String(cString: name),
                    value: bytes.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }))
            }
        }
        var kind = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let milliseconds = rd_kafka_message_timestamp(raw, &kind)
        let timestamp: KafkaTimestamp? =
            switch kind {
            case RD_KAFKA_TIMESTAMP_CREATE_TIME: KafkaTimestamp(millisecondsSinceEpoch: milliseconds, kind: .createTime)
            case RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME: KafkaTimestamp(millisecondsSinceEpoch: milliseconds, kind: .logAppendTime)
            default: nil
            }
        self.init(
            topic: topic, partition: message.partition, offset: message.offset,
            keyBytes: message.key.map { UnsafeRawBufferPointer(start: $0, count: message.key_len) },
            valueBytes: UnsafeRawBufferPointer(start: message.payload, count: message.payload == nil ? 0 : message.len),
            isTombstone: message.payload == nil, headers: headers, timestamp: timestamp)
    }
}
