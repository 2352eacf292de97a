import Logging
import SluiceKafka
import Testing

@Suite(.timeLimit(.minutes(2)))
struct SmokeTests {
    @Test func producesAndConsumesBack() async throws {
        let broker = try EmbeddedBroker()
        try broker.createTopic("t", partitions: 2)
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: [broker.bootstrapServers]))
        for i in 0..<100 {
            _ = try await producer.send(KafkaProducerMessage(topic: "t", key: Array("k\(i)".utf8), value: Array("v\(i)".utf8), headers: [KafkaHeader(name: "id", string: "\(i)")]))
        }
        var config = KafkaConsumerConfiguration(bootstrapServers: [broker.bootstrapServers], groupID: "g")
        config.fetchWaitMax = .milliseconds(10)
        let consumer = try KafkaConsumer(configuration: config, rebalanceHook: { print("rebalance", $0) })
        try consumer.subscribe(topics: ["t"])
        var seen = 0
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(30)
        while seen < 100, clock.now < deadline {
            if let m = try consumer.poll(timeout: .milliseconds(100)) {
                #expect(m.headers.string(named: "id") == m.valueString.map { String($0.dropFirst()) })
                seen += 1
            }
        }
        #expect(seen == 100)
        try consumer.close(timeout: .seconds(10))
        try producer.close(timeout: .seconds(5))
    }
}
