// Your handler, run by the real engine against an embedded Kafka broker (librdkafka's mock
// cluster, in this process on 127.0.0.1): no Kafka to install. It checks outcomes: every order
// counted, every offset committed.

import Foundation
import OrderTotals
import Sluice
import Synchronization
import Testing

@Suite(.timeLimit(.minutes(2)))
struct OrderTotalsHandlerTests {
    @Test func everyOrderIsCountedAndEveryOffsetCommitted() async throws {
        let broker = try EmbeddedBroker(brokers: 1)
        try broker.createTopic("orders", partitions: 4)
        let written = try produceOrders(count: 500, to: "orders", on: broker)

        var config = SluiceConfiguration(brokers: [broker.bootstrapServers], groupID: "totals", topics: ["orders"])
        config.workers = 2
        config.kafka.fetchWaitMax = .milliseconds(10)  // the embedded broker answers empty fetches only after this
        config.commitInterval = .milliseconds(200)
        let handler = OrderTotalsHandler()
        let consumer = try SluiceConsumer(configuration: config, handler: handler)

        let run = Task { try await consumer.run() }
        // The group's first join takes about 3 s; stop once every partition is committed to its end.
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while ContinuousClock.now < deadline, !isCommitted(consumer.statistics, upTo: written) {
            try await Task.sleep(for: .milliseconds(50))
        }
        consumer.stop()
        try await run.value

        let statistics = consumer.statistics
        #expect(isCommitted(statistics, upTo: written), "committed \(statistics.partitions), written \(written)")
        #expect(statistics.failed == 0)
        #expect(handler.tally.orders == 500)
        // Order i has one item of i + 1 units at 100 cents: the sum of 100 · (1 + 2 + … + 500).
        #expect(handler.tally.totalCents == 100 * 500 * 501 / 2)
    }

    @Test func aPayloadThatIsNotAnOrderFailsWithoutRetries() throws {
        let message = KafkaMessage(topic: "orders", partition: 0, offset: 7, key: nil, value: Array("not json".utf8))
        #expect(throws: PayloadDecodingError.self) {
            try OrderTotalsHandler().handle(message, context: HandlerContext())
        }
    }

    /// Writes `count` orders and returns each partition's end offset.
    private func produceOrders(count: Int, to topic: String, on broker: EmbeddedBroker) throws -> [Int32: Int64] {
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: [broker.bootstrapServers]))
        let ends = Mutex<[Int32: Int64]>([:])
        for i in 0..<count {
            let order = Order(id: "o-\(i)", customer: "c-\(i % 10)", items: [.init(sku: "s", quantity: i + 1, unitPriceCents: 100)])
            let message = KafkaProducerMessage(
                topic: topic, key: Array(order.customer.utf8), value: Array(try JSONEncoder().encode(order)))
            try producer.produce(message, blockWhenQueueFull: true) { result in
                if case .success(let report) = result, let offset = report.offset {
                    ends.withLock { $0[report.partition] = max($0[report.partition] ?? 0, offset + 1) }
                }
            }
        }
        try producer.close(timeout: .seconds(30))  // waits for every delivery report
        return ends.withLock { $0 }
    }

    private func isCommitted(_ statistics: SluiceStatistics, upTo ends: [Int32: Int64]) -> Bool {
        ends.allSatisfy { partition, end in
            statistics.partitions.contains { $0.topicPartition.partition == partition && $0.committed == end }
        }
    }
}
