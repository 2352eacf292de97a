//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Sluice
import Testing

extension EngineIntegrationTests {
    /// Bad input stops the consumer with an error that names the problem, within bounded time.
    @Suite(.timeLimit(.minutes(5)), .serialized)
    struct BadInputTests {
        @Test func unreachableBrokerFailsRunNamingTheAddress() async throws {
            var config = SluiceConfiguration(brokers: ["127.0.0.1:1"], groupID: "unreachable", topics: ["orders"])
            config.connectTimeout = .seconds(2)
            let consumer = try SluiceConsumer(
                configuration: config, handler: ClosureMessageHandler { _, _ in }, logger: EngineFixture.quietLogger)
            let clock = ContinuousClock()
            let start = clock.now
            let error = await #expect(throws: SluiceError.self) { try await consumer.run() }
            let elapsed = start.duration(to: clock.now)
            #expect(error?.code == .kafka)
            #expect(error.map { "\($0)".contains("127.0.0.1:1") } == true, "\(String(describing: error))")
            #expect(elapsed < .seconds(20), "failed after \(elapsed)")
            #expect(consumer.statistics.consumed == 0)
        }

        @Test func missingTopicFailsRunNamingTheTopic() async throws {
            let broker = try EngineFixture.broker(topic: "present", partitions: 1)
            var config = EngineFixture.configuration(broker: broker, group: "missing-topic", topic: "absent-topic")
            config.connectTimeout = .seconds(5)
            let consumer = try SluiceConsumer(
                configuration: config, handler: ClosureMessageHandler { _, _ in }, logger: EngineFixture.quietLogger)
            let error = await #expect(throws: SluiceError.self) { try await consumer.run() }
            #expect(error?.code == .kafka)
            #expect(error.map { "\($0)".contains("absent-topic") } == true, "\(String(describing: error))")
        }

        /// One bad setting each, and the text its error must contain.
        struct BadSetting: Sendable, CustomTestStringConvertible {
            let name: String
            let named: String
            let apply: @Sendable (inout SluiceConfiguration) -> Void
            var testDescription: String { name }
        }

        static let badSettings: [BadSetting] = [
            BadSetting(name: "no workers", named: "workers") { $0.workers = 0 },
            BadSetting(name: "empty window", named: "in-flight messages") { $0.maxInFlightMessages = 0 },
            BadSetting(name: "unknown librdkafka property", named: "foo.bar") { $0.kafka.common.properties["foo.bar"] = "1" },
            BadSetting(name: "bad librdkafka value", named: "fetch.wait.max.ms") {
                $0.kafka.common.properties["fetch.wait.max.ms"] = "soon"
            },
            BadSetting(name: "pause threshold over half max.poll.interval", named: "pause threshold") {
                $0.kafka.maxPollInterval = .seconds(10)
                $0.pauseThreshold = .seconds(6)
            },
            BadSetting(name: "drain timeout over max.poll.interval", named: "drain timeout") {
                $0.kafka.maxPollInterval = .seconds(10)
                $0.pauseThreshold = .seconds(1)
                $0.drainTimeout = .seconds(10)
            },
            BadSetting(name: "heartbeat not under session timeout", named: "heartbeat.interval.ms") {
                $0.kafka.sessionTimeout = .seconds(3)
            },
            BadSetting(name: "no topics", named: "topics") { $0.topics = [] },
        ]

        @Test(arguments: badSettings)
        func invalidConfigurationIsRejectedNamingTheSetting(_ bad: BadSetting) throws {
            var config = SluiceConfiguration(brokers: ["127.0.0.1:9092"], groupID: "g", topics: ["orders"])
            bad.apply(&config)
            let error = #expect(throws: SluiceError.self) {
                _ = try SluiceConsumer(configuration: config, handler: ClosureMessageHandler { _, _ in })
            }
            #expect(error?.code == .configuration)
            #expect(error.map { "\($0)".contains(bad.named) } == true, "\(String(describing: error))")
            // The asynchronous path validates the same way.
            #expect(throws: SluiceError.self) {
                _ = try SluiceConsumer(configuration: config, asyncHandler: ClosureAsyncMessageHandler { _, _ in })
            }
        }
    }
}
