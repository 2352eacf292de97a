//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SluiceKafka
import Testing

extension KafkaComponentTests {
    /// Committed offsets and their metadata reach the group coordinator and come back; watermarks
    /// match what was written.
    @Suite(.timeLimit(.minutes(5)), .serialized)
    struct CommitTests {
        /// Partition `p` of a 4-partition topic gets `20 + 10 * p` messages.
        private static let partitionCounts: [Int32: Int] = [0: 20, 1: 30, 2: 40, 3: 50]
        private static let partitions = (0..<Int32(4)).map { TopicPartition(topic: testTopic, partition: $0) }

        /// Writes `partitionCounts` messages, reads them all in group `group`, and returns the consumer.
        private static func consumeEverything(
            _ broker: EmbeddedBroker, group: String, commitHook: (@Sendable (KafkaCommitResult) -> Void)? = nil
        ) async throws -> (KafkaConsumer, [KafkaDeliveryReport]) {
            let messages = partitionCounts.sorted { $0.key < $1.key }.flatMap { partition, count in
                (0..<count).map { testMessage(id: Int(partition) * 1000 + $0, partition: partition) }
            }
            let producer = try makeProducer(broker)
            let reports = try await produce(messages, with: producer)
            try producer.close(timeout: .seconds(10))
            #expect(countsPerPartition(reports) == partitionCounts)

            let consumer = try makeConsumer(
                broker, group: group, configure: { $0.isAutoCommitEnabled = false }, commitHook: commitHook)
            let received = try await onThread { try consume(from: consumer, until: { $0.count >= messages.count }) }
            #expect(received.count == messages.count)
            return (consumer, reports)
        }

        private static func offsetsByPartition(_ offsets: [TopicPartitionOffset]) -> [TopicPartition: Int64?] {
            Dictionary(uniqueKeysWithValues: offsets.map { ($0.topicPartition, $0.offset) })
        }

        @Test func syncCommitWithMetadataIsReadBackAndAsyncCommitReachesTheCommitHook() async throws {
            try await withBroker(partitions: 4) { broker in
                let commits = Locked([KafkaCommitResult]())
                let (consumer, reports) = try await Self.consumeEverything(
                    broker, group: "commits", commitHook: { result in commits.withLock { $0.append(result) } })

                // Watermarks: every partition's log runs from 0 to the number of messages delivered to it.
                let delivered = countsPerPartition(reports)
                for partition in Self.partitions {
                    let watermarks = try consumer.watermarks(of: partition, timeout: .seconds(10))
                    #expect(watermarks == KafkaWatermarks(low: 0, high: Int64(delivered[partition.partition] ?? -1)))
                }

                // Nothing is committed yet.
                let before = try consumer.committed(Self.partitions, timeout: .seconds(10))
                #expect(before.map(\.offset) == [nil, nil, nil, nil])

                // Synchronous commit with metadata, distinct per partition.
                let syncOffsets = Self.partitions.map { partition in
                    TopicPartitionOffset(
                        partition, offset: Int64(Self.partitionCounts[partition.partition]! - Int(partition.partition)),
                        metadata: "done-above:\(partition.partition * 3)")
                }
                try consumer.commit(syncOffsets, mode: .sync)
                let readBack = try consumer.committed(Self.partitions, timeout: .seconds(10))
                #expect(readBack == syncOffsets)

                // Asynchronous commit: returns at once, its outcome reaches the hook from a later poll.
                let asyncOffsets = Self.partitions.map { partition in
                    TopicPartitionOffset(partition, offset: Int64(Self.partitionCounts[partition.partition]!), metadata: "async")
                }
                try consumer.commit(asyncOffsets, mode: .async)
                let expected = Self.offsetsByPartition(asyncOffsets)
                let hookResult = try await onThread { () -> KafkaCommitResult? in
                    _ = try consume(from: consumer, until: { _ in
                        commits.withLock { $0.contains { Self.offsetsByPartition($0.offsets) == expected } }
                    }, timeout: .seconds(20))
                    return commits.withLock { $0.first { Self.offsetsByPartition($0.offsets) == expected } }
                }
                let result = try #require(hookResult, "the async commit reached the hook; got \(commits.value)")
                #expect(result.error == nil)
                #expect(try consumer.committed(Self.partitions, timeout: .seconds(10)) == asyncOffsets)

                try await close(consumer)
            }
        }

        @Test func syncCommitSucceedsAfterInjectedNotCoordinatorErrors() async throws {
            try await withBroker(partitions: 4) { broker in
                let (consumer, _) = try await Self.consumeEverything(broker, group: "commit-errors")
                let offsets = Self.partitions.map { partition in
                    TopicPartitionOffset(partition, offset: Int64(Self.partitionCounts[partition.partition]!), metadata: "m")
                }

                try broker.injectErrors([.notCoordinator, .notCoordinator], into: .offsetCommit)
                // Either librdkafka retries internally, or the commit throws a retriable error and
                // the caller commits again (as the engine does with its commit point).
                var failures: [KafkaError] = []
                let deadline = ContinuousClock.now + .seconds(30)
                var committed = false
                while !committed, ContinuousClock.now < deadline, failures.count < 10 {
                    do {
                        try consumer.commit(offsets, mode: .sync)
                        committed = true
                    } catch let error as KafkaError {
                        failures.append(error)
                    }
                }
                #expect(committed, "commit failed \(failures.count) times: \(failures)")
                #expect(failures.count <= 2, "each injected error fails at most one commit: \(failures)")
                for failure in failures {
                    #expect(failure.isRetriable, "\(failure)")
                    #expect(failure.rdKafkaName == "NOT_COORDINATOR", "\(failure)")
                }
                #expect(try consumer.committed(Self.partitions, timeout: .seconds(10)) == offsets)

                try await close(consumer)
            }
        }

        @Test func commitRejectedWithANonRetriableErrorThrowsItAndKeepsTheEarlierCommit() async throws {
            try await withBroker(partitions: 4) { broker in
                let (consumer, _) = try await Self.consumeEverything(broker, group: "commit-rejected")
                let first = Self.partitions.map { TopicPartitionOffset($0, offset: 5, metadata: "first") }
                try consumer.commit(first, mode: .sync)

                let second = Self.partitions.map { TopicPartitionOffset($0, offset: 10, metadata: "second") }
                try broker.injectErrors([.topicAuthorizationFailed], into: .offsetCommit)
                let thrown = try kafkaError { try consumer.commit(second, mode: .sync) }
                let error = try #require(thrown, "the injected error fails the commit")
                #expect(error.rdKafkaName == "TOPIC_AUTHORIZATION_FAILED")
                #expect(!error.isRetriable)
                #expect(!error.isFatal)
                #expect(error.description.contains("\(testTopic)[3]@10"), "names what was committed: \(error)")
                #expect(try consumer.committed(Self.partitions, timeout: .seconds(10)) == first)

                // The injected error is used up: the same commit goes through now.
                try consumer.commit(second, mode: .sync)
                #expect(try consumer.committed(Self.partitions, timeout: .seconds(10)) == second)

                try await close(consumer)
            }
        }

        /// Each asynchronous commit's outcome reaches the hook with its own id; synchronous
        /// commits never reach it, so the two never consume each other's bookkeeping.
        @Test func asyncOutcomesCarryTheirIDAndSyncCommitsNeverReachTheHook() async throws {
            try await withBroker(partitions: 4) { broker in
                let commits = Locked([KafkaCommitResult]())
                let (consumer, _) = try await Self.consumeEverything(
                    broker, group: "commit-ids", commitHook: { result in commits.withLock { $0.append(result) } })
                let first = Self.partitions.map { TopicPartitionOffset($0, offset: 3) }
                try consumer.commit(first, remaining: { .seconds(10) })
                try consumer.commitAsync(Self.partitions.map { TopicPartitionOffset($0, offset: 4) }, id: 42)
                try consumer.commitAsync(Self.partitions.map { TopicPartitionOffset($0, offset: 5) }, id: 43)
                let answered = try await onThread { () -> [UInt64] in
                    _ = try consume(from: consumer, until: { _ in commits.withLock { $0.count >= 2 } }, timeout: .seconds(20))
                    try consumer.commit(Self.partitions.map { TopicPartitionOffset($0, offset: 6) }, remaining: { .seconds(10) })
                    _ = try consume(from: consumer, until: { _ in false }, timeout: .milliseconds(300))
                    return commits.withLock { $0.map(\.id) }
                }
                #expect(answered == [42, 43], "only the asynchronous commits, each with its id")
                #expect(commits.value.allSatisfy { $0.error == nil })
                #expect(try consumer.committed(Self.partitions, timeout: .seconds(10)).map(\.offset) == [6, 6, 6, 6])
                try await close(consumer)
            }
        }

        /// The final revocation inside `close` can still commit: the consumer counts as closed only
        /// once the close is over.
        @Test func theFinalRevocationInsideCloseCanCommit() async throws {
            try await withBroker(partitions: 4) { broker in
                let holder = Locked<KafkaConsumer?>(nil)
                let outcome = Locked<Result<Void, KafkaError>?>(nil)
                let offsets = Self.partitions.map { TopicPartitionOffset($0, offset: 7, metadata: "final") }
                let consumer = try makeConsumer(
                    broker, group: "commit-in-close", configure: { $0.isAutoCommitEnabled = false },
                    rebalanceHook: { event in
                        guard event.kind == .revoked, let consumer = holder.value else { return }
                        do {
                            try consumer.commit(offsets, remaining: { .seconds(10) })
                            outcome.withLock { $0 = .success(()) }
                        } catch let error as KafkaError {
                            outcome.withLock { $0 = .failure(error) }
                        } catch {}
                    })
                holder.withLock { $0 = consumer }
                try await onThread {
                    _ = try consume(from: consumer, until: { _ in (try? consumer.assignment().count) == 4 }, timeout: .seconds(20))
                }
                try await close(consumer)
                holder.withLock { $0 = nil }
                let result = try #require(outcome.value, "the final revocation ran")
                #expect(throws: Never.self) { try result.get() }
                let reader = try makeConsumer(broker, group: "commit-in-close")
                #expect(try reader.committed(Self.partitions, timeout: .seconds(10)) == offsets)
                try await close(reader)
            }
        }

        /// A synchronous commit with a deadline gives up at it when no broker answers.
        @Test func aSynchronousCommitGivesUpAtItsDeadlineWhenNoBrokerAnswers() async throws {
            try await withBroker(partitions: 4) { broker in
                let (consumer, _) = try await Self.consumeEverything(broker, group: "commit-deadline")
                try broker.setBrokerDown()
                let deadline = ContinuousClock.now + .seconds(2)
                let took = try await onThread { () -> Duration in
                    let start = ContinuousClock.now
                    let thrown = try kafkaError { try consumer.commit(Self.partitions.map { TopicPartitionOffset($0, offset: 9) }, remaining: { ContinuousClock.now.duration(to: deadline) }) }
                    #expect(thrown?.code == .timedOut || thrown?.isRetriable == true, "\(String(describing: thrown))")
                    return start.duration(to: .now)
                }
                #expect(took < .seconds(4), "gave up at the deadline: \(took)")
                try broker.setBrokerUp()
                try? consumer.close(timeout: .seconds(2))
            }
        }
    }
}
