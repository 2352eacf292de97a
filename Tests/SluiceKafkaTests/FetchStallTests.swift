//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

@testable import SluiceKafka
import Testing

extension KafkaComponentTests {
    /// librdkafka 2.0.2 stops fetching while the consumer's queue is full and decides again only
    /// when something reaches the fetcher's thread (or after a second): the consumer wakes it once
    /// the queue drained.
    @Suite(.timeLimit(.minutes(5)), .serialized)
    struct FetchStallTests {
        /// Polls `count` messages of `payload` bytes while the queue holds `queueLength` of them;
        /// returns how many wake-ups the detector asked for.
        private func poll(_ detector: inout FetchStallDetector, count: Int, payload: Int = 100, queueLength: (Int) -> Int) -> Int {
            var wakes = 0
            for index in 0..<count where detector.polled(payloadBytes: payload) {
                if detector.sample(queueLength: queueLength(index)) { wakes += 1 }
            }
            return wakes
        }

        @Test func aQueueThatNeverFillsNeverWakesTheFetcher() {
            var detector = FetchStallDetector(minMessages: 20_000, maxKilobytes: 16_384)
            let belowThreshold = poll(&detector, count: 100_000) { _ in 5_000 }
            #expect(belowThreshold == 0)
            // An idle consumer (empty polls, nothing full before) sends nothing either.
            var idleWakes = 0
            for _ in 0..<1_000 where detector.pollCameBackEmpty() { idleWakes += 1 }
            #expect(idleWakes == 0)
        }

        @Test func aFullQueueThatDrainedWakesTheFetcherOnceEachTime() {
            var detector = FetchStallDetector(minMessages: 20_000, maxKilobytes: 16_384)
            // Full for 10,000 messages: no wake-up while full.
            let whileFull = poll(&detector, count: 10_000) { _ in 25_000 }
            #expect(whileFull == 0)
            #expect(detector.sawFull)
            // Drained below the threshold: exactly one wake-up, however long it stays there.
            let afterDraining = poll(&detector, count: 10_000) { _ in 10_000 }
            #expect(afterDraining == 1)
            #expect(!detector.sawFull)
            // Three more refills and drains: one wake-up each.
            var wakes = 0
            for _ in 0..<3 {
                wakes += poll(&detector, count: 2_560) { _ in 20_000 }
                wakes += poll(&detector, count: 2_560) { _ in 3_000 }
            }
            #expect(wakes == 3)
        }

        @Test func aQueueSeenJustUnderTheThresholdCountsAsFull() {
            // Samples are 256 messages apart: a queue that touched the threshold between two of
            // them is seen within twice that.
            var detector = FetchStallDetector(minMessages: 20_000, maxKilobytes: 16_384)
            let nearlyFull = poll(&detector, count: 256) { _ in 19_600 }
            #expect(nearlyFull == 0)
            #expect(detector.sawFull)
            let drained = poll(&detector, count: 256) { _ in 19_000 }
            #expect(drained == 1)
        }

        @Test func theByteBudgetCountsToo() {
            // 4 MiB of 1 KiB payloads is 4,096 messages, far below the count threshold.
            var detector = FetchStallDetector(minMessages: 250_000, maxKilobytes: 4_096)
            let whileOverBudget = poll(&detector, count: 1_024, payload: 1_024) { _ in 5_000 }
            #expect(whileOverBudget == 0)
            #expect(detector.sawFull)
            let underBudget = poll(&detector, count: 1_024, payload: 1_024) { _ in 1_000 }
            #expect(underBudget == 1)
            // The same queue lengths of 100-byte messages are far from either budget.
            var small = FetchStallDetector(minMessages: 250_000, maxKilobytes: 4_096)
            let smallMessages = poll(&small, count: 1_024, payload: 100) { _ in 5_000 }
            #expect(smallMessages == 0)
            #expect(!small.sawFull)
        }

        @Test func largeMessagesCountAgainstTheByteBudgetNotTheMargin() {
            // 1 MB messages against 16 MiB: an empty or short queue is not full (the margin of
            // 512 messages alone would be 512 MB); 16 of them are.
            var detector = FetchStallDetector(minMessages: 20_000, maxKilobytes: 16_384)
            let shortQueue = poll(&detector, count: 512, payload: 1_000_000) { _ in 3 }
            #expect(shortQueue == 0)
            #expect(!detector.sawFull)
            let emptyPoll = detector.pollCameBackEmpty()
            #expect(!emptyPoll)
            let fullQueue = poll(&detector, count: 256, payload: 1_000_000) { _ in 17 }
            #expect(fullQueue == 0)
            #expect(detector.sawFull)
            let drainedQueue = poll(&detector, count: 256, payload: 1_000_000) { _ in 2 }
            #expect(drainedQueue == 1)
        }

        @Test func anEmptyPollAfterAFullQueueWakesTheFetcher() {
            var detector = FetchStallDetector(minMessages: 20_000, maxKilobytes: 16_384)
            let whileFullAgain = poll(&detector, count: 512) { _ in 30_000 }
            #expect(whileFullAgain == 0)
            let firstEmptyPoll = detector.pollCameBackEmpty()
            #expect(firstEmptyPoll)
            let secondEmptyPoll = detector.pollCameBackEmpty()
            #expect(!secondEmptyPoll, "once per refill")
        }

        /// On the embedded broker, with a prefetch queue of 2,000 messages, a consumer reading a
        /// backlog of 60,000 gets them all, in order, and woke the fetcher about once per refill;
        /// without the wake-up it sends none (and librdkafka 2.0.2 then stalls up to a second per
        /// refill: `sluice bench` shows the rates, BENCHMARKS.md).
        @Test(arguments: [true, false])
        func theConsumerWakesAFetcherStalledOnAFullQueue(wakes: Bool) async throws {
            let partitions = 4
            let total = 60_000
            try await withBroker(partitions: partitions) { broker in
                let producer = try makeProducer(broker) { $0.linger = .milliseconds(20) }
                let reports = try await produce(count: total, with: producer, chunk: 20_000) { index in
                    testMessage(id: index, partition: Int32(index % partitions))
                }
                try producer.close(timeout: .seconds(10))
                let consumer = try makeConsumer(broker, group: "fetch-stall-\(wakes)") { configuration in
                    configuration.queuedMinMessages = 2_000
                    configuration.queuedMaxKilobytes = 4_096
                    configuration.wakesStalledFetcher = wakes
                    // Small fetches (about 600 messages a partition), so that the queue refills
                    // many times rather than overshooting its threshold by whole megabytes.
                    configuration.common.properties["max.partition.fetch.bytes"] = "16384"
                }
                // Without wake-ups only a few refills are awaited (up to a second each on 2.0.2).
                let target = wakes ? total : 6_000
                let result = try await onThread { try pollInOrder(consumer, target: target, timeout: .seconds(90)) }
                let wakeUps = consumer.fetcherWakeUps
                try await close(consumer)
                #expect(countsPerPartition(reports).values.reduce(0, +) == total)
                #expect(result.count == target)
                #expect(result.outOfOrder == 0)
                if wakes {
                    // One wake-up per refill of the 2,000-message queue, give or take.
                    #expect(wakeUps >= 5, "woke the fetcher \(wakeUps) times for \(total) messages")
                    #expect(wakeUps <= total / 256, "at most one wake-up per sample")
                } else {
                    #expect(wakeUps == 0)
                }
            }
        }
    }
}
