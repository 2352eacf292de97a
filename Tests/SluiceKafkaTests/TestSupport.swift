//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import SluiceKafka
import Testing

// Shared fixtures of the SluiceKafka component tests: an embedded broker per test, producers and
// consumers configured for it, bounded produce/consume loops, and polling with deadlines in place of
// sleeps. Every suite lives inside `KafkaComponentTests`, which is serialized as a whole: the tests
// share two cores, and the memory test reads the RSS of the whole process.

/// The parent of every SluiceKafka suite. `.serialized` applies recursively, so no two tests overlap.
@Suite(.timeLimit(.minutes(5)), .serialized)
enum KafkaComponentTests {}

/// The topic every fixture creates.
let testTopic = "sluice-test"

// MARK: - Locks and threads

/// A value behind a lock, shared with librdkafka's threads and hooks.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value

    init(_ value: Value) {
        stored = value
    }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&stored)
    }

    var value: Value { withLock { $0 } }
}

/// Runs blocking work (polls, flushes, closes) on a thread of its own, off Swift's cooperative pool,
/// which has only two threads on the CI machines.
func onThread<T: Sendable>(
    _ name: String = "sluice-test", _ body: @escaping @Sendable () throws -> T
) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.name = name
        thread.start()
    }
}

/// Checks `condition` every 10 ms until it holds or `timeout` passes; returns whether it held.
/// This is how tests wait: for an observable state, bounded in time, never a bare sleep.
func eventually(
    timeout: Duration, _ condition: @Sendable () throws -> Bool
) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while true {
        if try condition() { return true }
        if ContinuousClock.now >= deadline { return false }
        try await Task.sleep(for: .milliseconds(10))
    }
}

/// How long `body` took.
func elapsed(_ body: () throws -> Void) rethrows -> Duration {
    let start = ContinuousClock.now
    try body()
    return ContinuousClock.now - start
}

// MARK: - Broker, producers and consumers

/// Runs `body` against a fresh embedded broker with one topic, and stops the broker afterwards.
func withBroker<T>(
    brokers: Int = 1, partitions: Int, _ body: (EmbeddedBroker) async throws -> T
) async throws -> T {
    let broker = try EmbeddedBroker(brokers: brokers)
    defer { broker.stop() }
    try broker.createTopic(testTopic, partitions: partitions)
    return try await body(broker)
}

/// librdkafka's own log lines above this syslog level are dropped (2: critical only), so that test
/// output shows failures rather than connection chatter; client errors still reach the hooks.
private let quietLogging = ["log_level": "2"]

/// A producer for the broker, with a bounded message timeout so a lost broker fails a test
/// instead of hanging it.
func makeProducer(
    _ broker: EmbeddedBroker, _ configure: (inout KafkaProducerConfiguration) -> Void = { _ in }
) throws -> KafkaProducer {
    var configuration = KafkaProducerConfiguration(bootstrapServers: [broker.bootstrapServers], properties: quietLogging)
    configuration.messageTimeout = .seconds(60)
    configure(&configuration)
    return try KafkaProducer(configuration: configuration)
}

/// A consumer configuration for the embedded broker: a short `fetch.wait.max.ms` (the mock answers
/// an empty fetch only after the full wait) and a short heartbeat, so rebalances are noticed quickly.
func consumerConfiguration(
    _ broker: EmbeddedBroker, group: String,
    assignment: KafkaConsumerConfiguration.AssignmentStrategy = .eager
) -> KafkaConsumerConfiguration {
    var configuration = KafkaConsumerConfiguration(
        bootstrapServers: [broker.bootstrapServers], groupID: group, assignment: assignment, properties: quietLogging)
    configuration.fetchWaitMax = .milliseconds(10)
    configuration.common.properties["heartbeat.interval.ms"] = "500"
    return configuration
}

/// A consumer of the broker's test topic, subscribed.
func makeConsumer(
    _ broker: EmbeddedBroker,
    group: String,
    assignment: KafkaConsumerConfiguration.AssignmentStrategy = .eager,
    configure: (inout KafkaConsumerConfiguration) -> Void = { _ in },
    rebalanceHook: (@Sendable (KafkaRebalanceEvent) -> Void)? = nil,
    commitHook: (@Sendable (KafkaCommitResult) -> Void)? = nil,
    errorHook: (@Sendable (KafkaError) -> Void)? = nil
) throws -> KafkaConsumer {
    var configuration = consumerConfiguration(broker, group: group, assignment: assignment)
    configure(&configuration)
    let consumer = try KafkaConsumer(
        configuration: configuration, rebalanceHook: rebalanceHook, commitHook: commitHook, errorHook: errorHook)
    try consumer.subscribe(topics: [testTopic])
    return consumer
}

/// Closes consumers concurrently, each on its own thread, and checks that each close finished.
func close(_ consumers: KafkaConsumer..., timeout: Duration = .seconds(15)) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        for consumer in consumers {
            group.addTask { try await onThread("close") { try consumer.close(timeout: timeout) } }
        }
        try await group.waitForAll()
    }
    for consumer in consumers { #expect(consumer.isClosed) }
}

// MARK: - Test messages

/// A message's identity and contents as the test wrote them: id, key, value and headers.
struct Record: Hashable, Sendable, CustomStringConvertible {
    var key: [UInt8]?
    var value: [UInt8]
    var isTombstone: Bool
    var headers: [KafkaHeader]

    init(_ message: KafkaProducerMessage) {
        key = message.key
        value = message.value ?? []
        isTombstone = message.value == nil
        headers = message.headers
    }

    init(_ message: KafkaMessage) {
        key = message.key
        value = message.value
        isTombstone = message.isTombstone
        headers = message.headers
    }

    var description: String {
        "key=\(key.map { String(decoding: $0, as: UTF8.self) } ?? "nil") value=\(value.count) bytes"
            + "\(isTombstone ? " (tombstone)" : "") headers=\(headers)"
    }
}

/// Message `id`: the id in an `id` header; a key from 97 values (none for every tenth id); a
/// value naming the id (a tombstone for ids ending in 998, an empty value for ids ending in 999);
/// a header without a value; and a repeated header name.
func testMessage(id: Int, partition: Int32? = nil) -> KafkaProducerMessage {
    let key: [UInt8]? = id % 10 == 0 ? nil : Array("key-\(id % 97)".utf8)
    let value: [UInt8]? =
        switch id % 1000 {
        case 998: nil
        case 999: []
        default: Array("value-\(id)".utf8)
        }
    return KafkaProducerMessage(
        topic: testTopic, partition: partition, key: key, value: value,
        headers: [
            KafkaHeader(name: "id", string: String(id)),
            KafkaHeader(name: "trace", string: "trace-\(id &* 7919)"),
            KafkaHeader(name: "flag", value: nil),
            KafkaHeader(name: "trace", string: "second"),
        ])
}

extension KafkaMessage {
    /// The id a test message carries in its `id` header.
    var testID: Int? { headers.first { $0.name == "id" }?.stringValue.flatMap { Int($0) } }
}

// MARK: - Producing

/// Queues every message with `produce(_:onDelivery:)` and flushes every `chunk` messages, on a
/// thread of its own. Returns the delivery reports in the order of `messages`.
/// - Throws: The first delivery failure, or a flush timeout.
func produce(
    _ messages: [KafkaProducerMessage], with producer: KafkaProducer, chunk: Int = 50_000,
    flushTimeout: Duration = .seconds(60)
) async throws -> [KafkaDeliveryReport] {
    try await produce(count: messages.count, with: producer, chunk: chunk, flushTimeout: flushTimeout) { messages[$0] }
}

/// Like ``produce(_:with:chunk:flushTimeout:)``, building message `index` on demand.
func produce(
    count: Int, with producer: KafkaProducer, chunk: Int = 50_000, flushTimeout: Duration = .seconds(60),
    message: @escaping @Sendable (Int) -> KafkaProducerMessage
) async throws -> [KafkaDeliveryReport] {
    let reports = Locked([KafkaDeliveryReport?](repeating: nil, count: count))
    let failures = Locked([KafkaError]())
    try await onThread("produce") {
        for start in stride(from: 0, to: count, by: chunk) {
            for index in start..<min(start + chunk, count) {
                try producer.produce(message(index), blockWhenQueueFull: true) { result in
                    switch result {
                    case .success(let report): reports.withLock { $0[index] = report }
                    case .failure(let error): failures.withLock { $0.append(error) }
                    }
                }
            }
            try producer.flush(timeout: flushTimeout)
        }
    }
    if let failure = failures.value.first { throw failure }
    let delivered = reports.value.compactMap { $0 }
    #expect(delivered.count == count, "every message gets exactly one delivery report")
    return delivered
}

/// Sends every message with `send` (which awaits the broker's acknowledgement), at most
/// `concurrency` at a time. Returns the delivery reports in the order of `messages`.
func send(
    _ messages: [KafkaProducerMessage], with producer: KafkaProducer, concurrency: Int = 200,
    delivered: Locked<Int>? = nil
) async throws -> [KafkaDeliveryReport] {
    try await withThrowingTaskGroup(of: (Int, KafkaDeliveryReport).self) { group in
        var reports = [KafkaDeliveryReport?](repeating: nil, count: messages.count)
        var next = 0
        func addNext() {
            let index = next
            next += 1
            group.addTask {
                let report = try await producer.send(messages[index])
                delivered?.withLock { $0 += 1 }
                return (index, report)
            }
        }
        while next < min(concurrency, messages.count) { addNext() }
        while let (index, report) = try await group.next() {
            reports[index] = report
            if next < messages.count { addNext() }
        }
        return reports.map { $0! }
    }
}

/// Delivery reports counted per partition.
func countsPerPartition(_ reports: [KafkaDeliveryReport]) -> [Int32: Int] {
    reports.reduce(into: [:]) { $0[$1.partition, default: 0] += 1 }
}

// MARK: - Consuming

/// Polls `consumer` on the calling thread until `isDone` holds for what was received, at most
/// `limit` messages and at most `timeout`. Consumer errors are collected into `errors` when
/// given, and rethrown otherwise.
func consume(
    from consumer: KafkaConsumer,
    until isDone: ([KafkaMessage]) -> Bool,
    timeout: Duration = .seconds(60),
    limit: Int = 1_000_000,
    errors: Locked<[KafkaError]>? = nil
) throws -> [KafkaMessage] {
    let deadline = ContinuousClock.now + timeout
    var received: [KafkaMessage] = []
    while !isDone(received), received.count < limit, ContinuousClock.now < deadline {
        do {
            if let message = try consumer.poll(timeout: .milliseconds(50)) { received.append(message) }
        } catch let error as KafkaError where errors != nil {
            errors?.withLock { $0.append(error) }
        }
    }
    return received
}

/// Polls `consumer` until `target` messages arrived or `timeout` passed, calling `each` with the
/// count so far after every message. Offsets of each partition must arrive contiguous from 0:
/// `outOfOrder` counts those that did not (lost or repeated ones), `next` is each partition's next.
func pollInOrder(
    _ consumer: KafkaConsumer, target: Int, timeout: Duration, each: (Int) throws -> Void = { _ in }
) throws -> (count: Int, outOfOrder: Int, next: [Int32: Int64]) {
    var next: [Int32: Int64] = [:]
    var count = 0
    var outOfOrder = 0
    let deadline = ContinuousClock.now + timeout
    while count < target, ContinuousClock.now < deadline {
        guard let message = try consumer.poll(timeout: .milliseconds(100)) else { continue }
        if message.offset != next[message.partition, default: 0] { outOfOrder += 1 }
        next[message.partition] = message.offset + 1
        count += 1
        try each(count)
    }
    return (count, outOfOrder, next)
}

/// Polls until a whole `quietPeriod` passes without a message (bounded by `timeout`): whatever
/// this returns after everything was consumed is a duplicate.
func drain(_ consumer: KafkaConsumer, quietPeriod: Duration = .milliseconds(500), timeout: Duration = .seconds(10)) throws
    -> [KafkaMessage]
{
    let deadline = ContinuousClock.now + timeout
    var extra: [KafkaMessage] = []
    while ContinuousClock.now < deadline, let message = try consumer.poll(timeout: quietPeriod) {
        extra.append(message)
    }
    return extra
}

/// Polls a consumer on a thread of its own until stopped, keeping what it receives: for tests
/// that act (produce, rebalance, break brokers) while a consumer keeps consuming.
final class BackgroundPoller: Sendable {
    private struct State {
        var messages: [KafkaMessage] = []
        var errors: [KafkaError] = []
        var isRunning = true
    }

    let consumer: KafkaConsumer
    private let state = Locked(State())
    private let finished = DispatchSemaphore(value: 0)

    init(_ consumer: KafkaConsumer) {
        self.consumer = consumer
        let thread = Thread { [state, finished] in
            while state.withLock({ $0.isRunning }) {
                do {
                    if let message = try consumer.poll(timeout: .milliseconds(20)) {
                        state.withLock { $0.messages.append(message) }
                    }
                } catch let error as KafkaError {
                    state.withLock { $0.errors.append(error) }
                } catch {
                    Issue.record(error)
                }
            }
            finished.signal()
        }
        thread.name = "sluice-test-poller"
        thread.start()
    }

    /// Reads the received messages under the lock (without copying them).
    func withMessages<T>(_ body: ([KafkaMessage]) -> T) -> T {
        state.withLock { body($0.messages) }
    }

    var messageCount: Int { withMessages { $0.count } }
    var messages: [KafkaMessage] { withMessages { $0 } }
    var errors: [KafkaError] { state.withLock { $0.errors } }

    /// Stops polling and waits for the thread to finish (one poll, at most 20 ms). Idempotent.
    func stop() {
        let wasRunning = state.withLock { state in
            defer { state.isRunning = false }
            return state.isRunning
        }
        if wasRunning { finished.wait() }
    }
}

/// Runs `body` while `consumer` is polled in the background; stops polling on every exit.
func whilePolling<T>(_ consumer: KafkaConsumer, _ body: (BackgroundPoller) async throws -> T) async throws -> T {
    let poller = BackgroundPoller(consumer)
    defer { poller.stop() }
    return try await body(poller)
}

// MARK: - Process memory

/// The resident set size of this process, from `/proc/self/statm`.
func residentBytes() throws -> Int {
    let statm = try String(contentsOfFile: "/proc/self/statm", encoding: .utf8)
    let fields = statm.split(separator: " ")
    let pages = try #require(fields.count > 1 ? Int(fields[1]) : nil, "statm: \(statm)")
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

// MARK: - Expectations

// Swift 6.3.1 miscompiles a closure literal inside `#expect`/`#require` when the expectation sits
// inside another closure (such as the body of `withBroker`): a later closure in the same body can
// end up calling the macro's closure instead of its own (seen: `filter` returning every element).
// So these tests never write a closure inside an expectation: they compute the value first, and
// catch errors with `kafkaError(_:)` instead of `#require(throws:)`.

/// The ``KafkaError`` that `body` throws, or `nil` when it returns. Other errors propagate.
func kafkaError<T>(_ body: () throws -> T) throws -> KafkaError? {
    do {
        _ = try body()
        return nil
    } catch let error as KafkaError {
        return error
    }
}
