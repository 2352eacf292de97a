//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SluiceKafka
import Testing

extension KafkaComponentTests {
    /// Brokers that go down and come back lose nothing: producers wait for them, consumers resume.
    @Suite(.timeLimit(.minutes(5)), .serialized)
    struct BrokerFailureTests {
        /// Reconnect quickly once a broker is back (librdkafka backs off up to 10 s by default).
        private static let fastReconnect = ["reconnect.backoff.max.ms": "500"]

        private static func messages(_ ids: Range<Int>) -> [KafkaProducerMessage] {
            ids.map { testMessage(id: $0) }
        }

        /// Ids the poller has received.
        private static func receivedIDs(_ poller: BackgroundPoller) -> Set<Int> {
            poller.withMessages { Set($0.lazy.compactMap(\.testID)) }
        }

        @Test func brokerLeadingSomePartitionsGoesDownAndComesBackWithoutLosingMessages() async throws {
            try await withBroker(brokers: 3, partitions: 6) { broker in
                // Broker 2 leads partitions 0 and 1, the others the rest (left to chance, broker 2
                // led none in about one run of eleven, and nothing waited for it).
                for partition in Int32(0)..<6 {
                    try broker.setLeader(topic: testTopic, partition: partition, broker: partition < 2 ? 2 : 1 + partition % 2 * 2)
                }
                let producer = try makeProducer(broker) { $0.common.properties.merge(Self.fastReconnect) { $1 } }
                let consumer = try makeConsumer(broker, group: "broker-down", configure: {
                    $0.common.properties.merge(Self.fastReconnect) { $1 }
                })
                try await whilePolling(consumer) { poller in
                    let first = try await send(Self.messages(0..<1_000), with: producer)
                    #expect(Set(first.map(\.partition)).count == 6)
                    let gotFirst = try await eventually(timeout: .seconds(30)) { Self.receivedIDs(poller).count == 1_000 }
                    try #require(gotFirst, "received \(Self.receivedIDs(poller).count) of the first 1000")

                    // Broker 2 leads some partitions; they stall while it is down, the others flow on.
                    try broker.setBrokerDown(2)
                    let delivered = Locked(0)
                    // All at once: a bounded window would fill up with messages waiting for broker 2.
                    let second = Task {
                        try await send(Self.messages(1_000..<3_000), with: producer, concurrency: 2_000, delivered: delivered)
                    }
                    // The mock cluster picks leaders at random, so how many of the 2000 go to broker 2's
                    // partitions varies from run to run: wait for what was acknowledged to arrive.
                    let othersFlow = try await eventually(timeout: .seconds(30)) {
                        let acknowledged = delivered.value
                        return acknowledged >= 100 && Self.receivedIDs(poller).count >= 1_000 + acknowledged
                    }
                    let assignmentNow = try consumer.assignment()
                    #expect(othersFlow, """
                        messages to partitions of live brokers arrive while broker 2 is down: \
                        received \(Self.receivedIDs(poller).count), delivered \(delivered.value) of the second 2000, \
                        assignment \(assignmentNow), errors \(poller.errors)
                        """)
                    let deliveredWhileDown = delivered.value
                    #expect(deliveredWhileDown < 2_000, "messages to broker 2's partitions wait for it")

                    try broker.setBrokerUp(2)
                    let secondReports = try await second.value
                    #expect(secondReports.count == 2_000)
                    let gotAll = try await eventually(timeout: .seconds(60)) { Self.receivedIDs(poller).count == 3_000 }
                    let received = Self.receivedIDs(poller)
                    #expect(gotAll, "missing \(Set(0..<3_000).subtracting(received).sorted().prefix(20))")
                    #expect(received == Set(0..<3_000), "every id at least once")
                }
                try producer.close(timeout: .seconds(10))
                try await close(consumer)
            }
        }

        @Test func allBrokersDownForAWhileThenUpLosesNothingAndProducingWaitsForThem() async throws {
            try await withBroker(brokers: 3, partitions: 6) { broker in
                let errors = Locked([KafkaError]())
                let producer = try makeProducer(broker) { $0.common.properties.merge(Self.fastReconnect) { $1 } }
                let consumer = try makeConsumer(
                    broker, group: "all-down",
                    configure: { $0.common.properties.merge(Self.fastReconnect) { $1 } },
                    errorHook: { error in errors.withLock { $0.append(error) } })
                try await whilePolling(consumer) { poller in
                    _ = try await send(Self.messages(0..<500), with: producer)
                    let gotFirst = try await eventually(timeout: .seconds(30)) { Self.receivedIDs(poller).count == 500 }
                    try #require(gotFirst, "received \(Self.receivedIDs(poller).count) of the first 500")

                    try broker.setBrokerDown()
                    let delivered = Locked(0)
                    let second = Task {
                        try await send(Self.messages(500..<1_500), with: producer, concurrency: 1_000, delivered: delivered)
                    }
                    // Wait until the consumer has noticed the outage (its error hook hears of it).
                    let noticed = try await eventually(timeout: .seconds(30)) { !errors.value.isEmpty }
                    #expect(noticed, "the error hook reports the lost brokers")
                    let deliveredWhileDown = delivered.value
                    #expect(deliveredWhileDown == 0, "nothing can be acknowledged while every broker is down")
                    let outage = errors.value
                    let nonRetriable = outage.filter { !$0.isRetriable }
                    #expect(nonRetriable.isEmpty, "an outage is retriable: \(outage)")

                    try broker.setBrokerUp()
                    let secondReports = try await second.value
                    #expect(secondReports.count == 1_000)
                    let gotAll = try await eventually(timeout: .seconds(60)) { Self.receivedIDs(poller).count == 1_500 }
                    let received = Self.receivedIDs(poller)
                    #expect(gotAll, "missing \(Set(0..<1_500).subtracting(received).sorted().prefix(20))")
                    #expect(received == Set(0..<1_500), "every id at least once")
                }
                try producer.close(timeout: .seconds(10))
                try await close(consumer)
            }
        }

        @Test func producingToAStoppedBrokerFailsDeliveryInBoundedTimeWithAClearMessage() async throws {
            let broker = try EmbeddedBroker()
            try broker.createTopic(testTopic, partitions: 2)
            // Long enough for the first delivery on a loaded machine, short enough to wait for.
            let producer = try makeProducer(broker) { $0.messageTimeout = .seconds(5) }
            _ = try await send([testMessage(id: 0)], with: producer)
            broker.stop()

            let outcome = Locked<Result<KafkaDeliveryReport, KafkaError>?>(nil)
            try producer.produce(testMessage(id: 1)) { result in outcome.withLock { $0 = result } }
            // flush cannot finish while the message waits: it reports how many are outstanding.
            let flushError = try await onThread { try kafkaError { try producer.flush(timeout: .milliseconds(300)) } }
            let flushFailure = try #require(flushError, "flush with an undeliverable message times out")
            #expect(flushFailure.code == .timedOut)
            #expect(flushFailure.message.contains("1 messages outstanding"), "\(flushFailure)")
            // The message fails once its message timeout has passed: bounded, not a hang.
            let failed = try await eventually(timeout: .seconds(15)) { outcome.value != nil }
            try #require(failed, "the delivery report arrives within the message timeout")
            guard case .failure(let error)? = outcome.value else {
                Issue.record("delivered to a stopped broker: \(String(describing: outcome.value))")
                return
            }
            #expect(error.rdKafkaName == "_MSG_TIMED_OUT", "\(error)")
            #expect(error.isRetriable)
            #expect(error.topic == testTopic)
            #expect(error.description.hasPrefix("\(testTopic)["), "names the topic and partition: \(error)")
            #expect(error.description.contains("delivery failed"), "\(error)")
            // send reports the same failure by throwing.
            let sendError = try await sendError(testMessage(id: 2), producer)
            #expect(sendError?.rdKafkaName == "_MSG_TIMED_OUT", "\(String(describing: sendError))")
            try producer.close(timeout: .seconds(5))
        }
    }
}
