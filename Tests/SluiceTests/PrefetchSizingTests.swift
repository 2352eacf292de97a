//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

@testable import Sluice
import SluiceKafka
import Testing

/// librdkafka's prefetch follows the window where librdkafka fetches again as soon as the queue
/// drained, and stays as the user set it otherwise.
@Suite struct PrefetchSizingTests {
    private func configuration(_ change: (inout SluiceConfiguration) -> Void = { _ in }) -> SluiceConfiguration {
        var configuration = SluiceConfiguration(brokers: ["127.0.0.1:9092"], groupID: "g", topics: ["orders"])
        configuration.kafka.wakesStalledFetcher = true
        change(&configuration)
        return configuration
    }

    @Test func theDefaultWindowGetsTwentyThousandMessagesAndSixteenMebibytes() throws {
        let kafka = configuration().effectiveKafka
        #expect(kafka.queuedMinMessages == 20_000)
        #expect(kafka.queuedMaxKilobytes == 16_384)
        #expect(kafka.librdkafkaProperties["queued.min.messages"] == "20000")
        #expect(kafka.librdkafkaProperties["queued.max.messages.kbytes"] == "16384")
        try configuration().validate()
    }

    @Test func thePrefetchFollowsTheWindowWithinItsBounds() {
        let cases: [(messages: Int, bytes: Int, expected: (Int, Int))] = [
            (100, 1 << 20, (10_000, 4_096)),          // floors
            (5_000, 64 << 20, (100_000, 16_384)),
            (12_500, 128 << 20, (250_000, 32_768)),   // ceilings
            (1_000_000, Int.max, (250_000, 32_768)),  // no overflow
        ]
        for (messages, bytes, expected) in cases {
            let kafka = configuration {
                $0.maxInFlightMessages = messages
                $0.maxInFlightBytes = bytes
            }.effectiveKafka
            #expect(kafka.queuedMinMessages == expected.0, "window of \(messages)")
            #expect(kafka.queuedMaxKilobytes == expected.1, "window of \(bytes) bytes")
        }
    }

    @Test func settingsTheUserChangedAreKept() {
        let kafka = configuration {
            $0.kafka.queuedMinMessages = 123_456
            $0.kafka.common.properties["queued.max.messages.kbytes"] = "2048"
        }.effectiveKafka
        #expect(kafka.queuedMinMessages == 123_456)
        // A pass-through property wins over the typed setting.
        #expect(kafka.librdkafkaProperties["queued.max.messages.kbytes"] == "2048")
        #expect(kafka.librdkafkaProperties["queued.min.messages"] == "123456")
    }

    @Test func withoutPromptRefetchingTheQueueKeepsASecondOfTraffic() {
        let kafka = configuration {
            $0.kafka.wakesStalledFetcher = false
            $0.kafka.fetchQueueBackoff = nil
        }.effectiveKafka
        #expect(kafka.queuedMinMessages == KafkaConsumerConfiguration.defaultQueuedMinMessages)
        #expect(kafka.queuedMaxKilobytes == KafkaConsumerConfiguration.defaultQueuedMaxKilobytes)
    }
}
