//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SluiceKafka
import Testing

extension KafkaComponentTests {
    /// Bad configuration fails early with librdkafka's own words; an unreachable cluster fails in
    /// bounded time instead of hanging; closing is bounded too.
    @Suite(.timeLimit(.minutes(5)), .serialized)
    struct ConfigurationErrorTests {
        private static let unreachable = "127.0.0.1:1"

        @Test(arguments: [
            ("foo.bar", "1", "No such configuration property: \"foo.bar\""),
            ("session.timeout.ms", "abc", "Invalid value for configuration property \"session.timeout.ms\""),
            ("auto.offset.reset", "sideways", "Invalid value \"sideways\" for configuration property \"auto.offset.reset\""),
        ])
        func badPropertyIsRejectedWithLibrdkafkasMessage(key: String, value: String, expected: String) throws {
            var consumer = KafkaConsumerConfiguration(bootstrapServers: [Self.unreachable], groupID: "g")
            consumer.common.properties[key] = value
            let validateError = try kafkaError { try consumer.validate() }
            let fromValidate = try #require(validateError)
            #expect(fromValidate.code == .configuration)
            #expect(fromValidate.message.contains(expected), "\(fromValidate)")

            let initError = try kafkaError { try KafkaConsumer(configuration: consumer) }
            let fromInit = try #require(initError)
            #expect(fromInit.code == .configuration)
            #expect(fromInit.message == fromValidate.message)
        }

        /// `fetch.queue.backoff.ms` is set only where the linked librdkafka knows it (2.1 on):
        /// setting it on 2.0.2 would fail every consumer's configuration.
        @Test func fetchQueueBackoffFollowsTheLinkedLibrdkafka() throws {
            #expect(!KafkaConsumerConfiguration.hasFetchQueueBackoff(version: 0x0200_02FF), "2.0.2")
            #expect(KafkaConsumerConfiguration.hasFetchQueueBackoff(version: 0x0201_00FF), "2.1.0")
            #expect(KafkaConsumerConfiguration.hasFetchQueueBackoff(version: 0x0203_00FF), "2.3.0")
            let linked = KafkaConsumerConfiguration.linkedLibrdkafkaVersion
            let configuration = KafkaConsumerConfiguration(bootstrapServers: [Self.unreachable], groupID: "g")
            let property = configuration.librdkafkaProperties["fetch.queue.backoff.ms"]
            if KafkaConsumerConfiguration.hasFetchQueueBackoff(version: linked) {
                #expect(property == "10")
            } else {
                #expect(property == nil, "librdkafka \(String(linked, radix: 16)) does not know the property")
            }
            try configuration.validate()
            // Set by hand on a librdkafka without it, it is rejected in librdkafka's words.
            if !KafkaConsumerConfiguration.hasFetchQueueBackoff(version: linked) {
                var explicit = configuration
                explicit.fetchQueueBackoff = .milliseconds(5)
                let error = try #require(try kafkaError { try explicit.validate() })
                #expect(error.message.contains("fetch.queue.backoff.ms"), "\(error)")
            }
        }

        @Test func unknownPropertyIsRejectedByEveryClientType() throws {
            let common = KafkaConfiguration(bootstrapServers: [Self.unreachable], properties: ["foo.bar": "1"])
            let commonError = try kafkaError { try common.validate() }
            let error = try #require(commonError)
            #expect(error.message.contains("No such configuration property: \"foo.bar\""), "\(error)")

            let producer = KafkaProducerConfiguration(bootstrapServers: [Self.unreachable], properties: ["foo.bar": "1"])
            let validateError = try kafkaError { try producer.validate() }
            #expect(validateError?.code == .configuration)
            let initError = try kafkaError { try KafkaProducer(configuration: producer) }
            let fromInit = try #require(initError)
            #expect(fromInit.code == .configuration)
            #expect(fromInit.message.contains("foo.bar"), "\(fromInit)")
        }

        @Test func emptyGroupIDIsRejected() throws {
            let configuration = KafkaConsumerConfiguration(bootstrapServers: [Self.unreachable], groupID: "")
            let initError = try kafkaError { try KafkaConsumer(configuration: configuration) }
            let error = try #require(initError)
            #expect(error.code == .configuration)
            #expect(error.message.contains("group.id"), "\(error)")
        }

        @Test func typedSettingsAndPassThroughPropertiesAreAcceptedAndPassThroughWins() throws {
            var configuration = KafkaConsumerConfiguration(
                bootstrapServers: ["a:1", "b:2"], groupID: "g", assignment: .cooperativeSticky,
                properties: ["fetch.wait.max.ms": "7"])
            configuration.fetchWaitMax = .milliseconds(10)
            configuration.sessionTimeout = .milliseconds(6_500)
            try configuration.validate()
            let properties = configuration.librdkafkaProperties
            #expect(properties["bootstrap.servers"] == "a:1,b:2")
            #expect(properties["fetch.wait.max.ms"] == "7")
            #expect(properties["session.timeout.ms"] == "6500")
            #expect(properties["partition.assignment.strategy"] == "cooperative-sticky")
            #expect(properties["auto.offset.reset"] == "earliest")
        }

        @Test func unreachableBootstrapFailsInBoundedTimeAndReachesTheErrorHook() async throws {
            let errors = Locked([KafkaError]())
            var configuration = KafkaConsumerConfiguration(bootstrapServers: [Self.unreachable], groupID: "nowhere")
            configuration.fetchWaitMax = .milliseconds(10)
            configuration.common.properties["log_level"] = "0"
            let consumer = try KafkaConsumer(configuration: configuration, errorHook: { error in
                errors.withLock { $0.append(error) }
            })
            try consumer.subscribe(topics: [testTopic])

            // A metadata request cannot be answered: it throws once its timeout has passed.
            let timeout = Duration.seconds(2)
            var metadataError: KafkaError?
            let took = try elapsed { metadataError = try kafkaError { try consumer.topics(timeout: timeout) } }
            #expect(took < timeout + .seconds(3), "topics(timeout: 2 s) returned after \(took)")
            let error = try #require(metadataError, "no broker answers, so topics(timeout:) throws")
            #expect(error.isRetriable, "\(error)")

            // Polling serves the client-level errors: the refused connection, then all brokers down.
            let reported = try await onThread {
                _ = try consume(from: consumer, until: { _ in
                    errors.withLock { $0.contains { $0.rdKafkaName == "_ALL_BROKERS_DOWN" } }
                }, timeout: .seconds(20))
                return errors.value
            }
            let names = Set(reported.compactMap(\.rdKafkaName))
            #expect(names.contains("_ALL_BROKERS_DOWN"), "\(reported)")
            let firstTransport = reported.first { $0.rdKafkaName == "_TRANSPORT" }
            let transport = try #require(firstTransport, "\(reported)")
            #expect(transport.isRetriable)
            #expect(!transport.isFatal)
            #expect(transport.description.contains(Self.unreachable), "names the broker: \(transport)")
            let nonRetriable = reported.filter { !$0.isRetriable }
            #expect(nonRetriable.isEmpty, "\(reported)")

            // Closing a consumer that never reached its coordinator still returns within its timeout.
            let closeTimeout = Duration.seconds(3)
            let closeTook = try await onThread { elapsed { try? consumer.close(timeout: closeTimeout) } }
            #expect(closeTook < closeTimeout + .seconds(3), "close(timeout: 3 s) returned after \(closeTook)")
            #expect(consumer.isClosed)
        }

        @Test func closeOfAGroupMemberReturnsWithinItsTimeoutAndRevokesTheAssignment() async throws {
            try await withBroker(partitions: 3) { broker in
                let events = Locked([KafkaRebalanceEvent]())
                let consumer = try makeConsumer(broker, group: "close", rebalanceHook: { event in
                    events.withLock { $0.append(event) }
                })
                let assigned = try await onThread {
                    _ = try consume(from: consumer, until: { _ in (try? consumer.assignment().count) == 3 }, timeout: .seconds(30))
                    return try consumer.assignment().count
                }
                #expect(assigned == 3)

                let timeout = Duration.seconds(10)
                let took = try await onThread { try elapsed { try consumer.close(timeout: timeout) } }
                #expect(took < timeout + .seconds(3), "close(timeout: 10 s) returned after \(took)")
                #expect(consumer.isClosed)
                let kinds = events.value.map(\.kind)
                #expect(kinds == [.assigned, .revoked], "the final revocation reaches the hook: \(events.value)")
                try consumer.close(timeout: timeout)  // idempotent
            }
        }
    }
}
