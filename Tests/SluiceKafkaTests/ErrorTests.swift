//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SluiceKafka
import Testing

extension KafkaComponentTests {
    /// Errors say where they happened and whether retrying helps; closed clients refuse work.
    @Suite(.timeLimit(.minutes(5)), .serialized)
    struct ErrorTests {
        @Test func descriptionCarriesTopicPartitionOffsetAndLibrdkafkasName() {
            let error = KafkaError(
                code: .rdKafka, message: "Broker: Unknown topic or partition", rdKafkaCode: 3,
                topic: "orders", partition: 3, offset: 1200)
            #expect(error.description == "orders[3]@1200: Broker: Unknown topic or partition (UNKNOWN_TOPIC_OR_PART)")
            #expect(error.rdKafkaName == "UNKNOWN_TOPIC_OR_PART")

            let withoutOffset = KafkaError(code: .timedOut, message: "slow", topic: "orders", partition: 0)
            #expect(withoutOffset.description == "orders[0]: slow")
            let bare = KafkaError(code: .invalidArgument, message: "no topics")
            #expect(bare.description == "no topics")
            #expect(bare.rdKafkaName == nil)
        }

        @Test func producingToAPartitionThatDoesNotExistNamesTopicAndPartition() async throws {
            try await withBroker(partitions: 2) { broker in
                let producer = try makeProducer(broker)
                _ = try await send([testMessage(id: 0, partition: 1)], with: producer)  // metadata is known now
                let thrown = try await sendError(testMessage(id: 1, partition: 7), producer)
                let error = try #require(thrown, "partition 7 of a 2-partition topic")
                #expect(error.rdKafkaName == "_UNKNOWN_PARTITION", "\(error)")
                #expect(error.topic == testTopic)
                #expect(error.partition == 7)
                #expect(error.description.hasPrefix("\(testTopic)[7]: "), "\(error)")
                #expect(!error.isRetriable)
                try producer.close(timeout: .seconds(5))
            }
        }

        @Test func fetchErrorIsThrownByPollWithTopicPartitionAndOffsetThenConsumingContinues() async throws {
            try await withBroker(partitions: 1) { broker in
                let producer = try makeProducer(broker)
                _ = try await produce((0..<10).map { testMessage(id: $0) }, with: producer)
                try producer.close(timeout: .seconds(5))

                // The consumer's first fetch is refused.
                try broker.injectErrors([.topicAuthorizationFailed], into: .fetch)
                let consumer = try makeConsumer(broker, group: "fetch-error") {
                    $0.common.properties["fetch.error.backoff.ms"] = "100"
                }
                let errors = Locked([KafkaError]())
                let received = try await onThread {
                    try consume(from: consumer, until: { $0.count >= 10 }, timeout: .seconds(30), errors: errors)
                }
                let firstError = errors.value.first
                let error = try #require(firstError, "poll throws the fetch error")
                #expect(error.rdKafkaName == "TOPIC_AUTHORIZATION_FAILED", "\(error)")
                #expect(error.topic == testTopic)
                #expect(error.partition == 0)
                #expect(error.offset == 0)
                #expect(error.description.hasPrefix("\(testTopic)[0]@0: "), "\(error)")
                #expect(!error.isRetriable)
                // Polling goes on after the error: everything arrives, once.
                #expect(received.compactMap(\.testID) == Array(0..<10))
                try await close(consumer)
            }
        }

        @Test func callsAfterCloseThrowClosed() async throws {
            try await withBroker(partitions: 1) { broker in
                let partition = TopicPartition(topic: testTopic, partition: 0)
                let consumer = try makeConsumer(broker, group: "closed")
                try await close(consumer)
                let consumerCalls: [(String, () throws -> Void)] = [
                    ("poll", { _ = try consumer.poll(timeout: .milliseconds(10)) }),
                    ("subscribe", { try consumer.subscribe(topics: [testTopic]) }),
                    ("commit", { try consumer.commit([TopicPartitionOffset(partition, offset: 1)], mode: .sync) }),
                    ("storeOffsets", { try consumer.storeOffsets([TopicPartitionOffset(partition, offset: 1)]) }),
                    ("committed", { _ = try consumer.committed([partition], timeout: .seconds(1)) }),
                    ("assignment", { _ = try consumer.assignment() }),
                    ("pause", { try consumer.pause([partition]) }),
                    ("resume", { try consumer.resume([partition]) }),
                    ("watermarks", { _ = try consumer.watermarks(of: partition, timeout: .seconds(1)) }),
                    ("topics", { _ = try consumer.topics(timeout: .seconds(1)) }),
                ]
                for (name, call) in consumerCalls {
                    let error = try kafkaError(call)
                    #expect(error?.code == .closed, "\(name) after close: \(String(describing: error))")
                    #expect(error?.description == "consumer is closed", "\(name)")
                }
                #expect(consumer.cachedWatermarks(of: partition) == nil)
                try consumer.close(timeout: .seconds(1))  // idempotent

                let producer = try makeProducer(broker)
                try producer.close(timeout: .seconds(5))
                let produceError = try kafkaError { try producer.produce(testMessage(id: 0)) { _ in } }
                #expect(produceError?.code == .closed, "\(String(describing: produceError))")
                let sendError = try await sendError(testMessage(id: 0), producer)
                #expect(sendError?.code == .closed, "\(String(describing: sendError))")
            }
        }

        @Test func embeddedBrokerRejectsBadArgumentsAndCallsAfterStop() throws {
            let noBrokers = try kafkaError { try EmbeddedBroker(brokers: 0) }
            #expect(noBrokers?.code == .invalidArgument)

            let broker = try EmbeddedBroker()
            let noPartitions = try kafkaError { try broker.createTopic("empty", partitions: 0) }
            let error = try #require(noPartitions)
            #expect(error.code == .invalidArgument)
            #expect(error.message == "topic empty needs at least 1 partition, got 0")

            try broker.createTopic("twice", partitions: 1)
            let duplicate = try kafkaError { try broker.createTopic("twice", partitions: 1) }
            #expect(duplicate?.rdKafkaName == "TOPIC_ALREADY_EXISTS", "\(String(describing: duplicate))")
            #expect(duplicate?.message.contains("creating topic twice") == true, "\(String(describing: duplicate))")

            broker.stop()
            broker.stop()  // idempotent
            let afterStop = try kafkaError { try broker.createTopic("late", partitions: 1) }
            #expect(afterStop?.code == .closed)
            let downAfterStop = try kafkaError { try broker.setBrokerDown(1) }
            #expect(downAfterStop?.code == .closed)
        }

        @Test func retriabilityFollowsLibrdkafkasClassification() async throws {
            // A transport error (from a broker that refuses connections) is retriable and not fatal.
            var configuration = KafkaConsumerConfiguration(bootstrapServers: ["127.0.0.1:1"], groupID: "retriable")
            configuration.common.properties["log_level"] = "0"
            let errors = Locked([KafkaError]())
            let consumer = try KafkaConsumer(configuration: configuration, errorHook: { error in
                errors.withLock { $0.append(error) }
            })
            try consumer.subscribe(topics: [testTopic])
            let transport = try await onThread { () -> KafkaError? in
                _ = try consume(from: consumer, until: { _ in
                    errors.withLock { $0.contains { $0.rdKafkaName == "_TRANSPORT" } }
                }, timeout: .seconds(20))
                return errors.withLock { $0.first { $0.rdKafkaName == "_TRANSPORT" } }
            }
            let error = try #require(transport, "\(errors.value)")
            #expect(error.isRetriable)
            #expect(!error.isFatal)
            #expect(error.code == .rdKafka)
            _ = try await onThread { try? consumer.close(timeout: .seconds(3)) }
        }
    }
}

/// The ``KafkaError`` that `send` throws, or `nil` when it is delivered.
func sendError(_ message: KafkaProducerMessage, _ producer: KafkaProducer) async throws -> KafkaError? {
    do {
        _ = try await producer.send(message)
        return nil
    } catch let error as KafkaError {
        return error
    }
}
