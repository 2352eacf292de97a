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
    /// What a handler that throws does to the run and to the commits, per failure policy.
    @Suite(.timeLimit(.minutes(5)), .serialized)
    struct FailurePolicyTests {
        struct Boom: Error, CustomStringConvertible {
            let id: Int
            var description: String { "boom on id \(id)" }
        }

        @Test func stopPolicyThrowsNamingTheMessageAndCommitsNothingPastIt() async throws {
            let topic = "fail-stop"
            let group = "policy-stop"
            let partitions = 4
            let total = 5_000
            let failingID = 2_500
            let broker = try EngineFixture.broker(topic: topic, partitions: partitions)
            try EngineFixture.produce(to: topic, on: broker, count: total)

            var config = EngineFixture.configuration(broker: broker, group: group, topic: topic)
            config.failurePolicy = .stop
            // Unordered: every lower offset of the failing partition was dispatched before it,
            // so the drained commit point is exactly the failed offset.
            config.ordering = .unordered
            config.workers = 2
            let failed = HandledLog()
            let started = try StartedConsumer.start(config) { message in
                EngineFixture.spin(for: .microseconds(20))
                if HandledLog.id(of: message) == failingID {
                    failed.record(message)
                    throw Boom(id: failingID)
                }
            }
            let outcome: Result<Void, any Error>
            do {
                // run() returns on its own: the failure stops the consumer.
                try await started.run.value
                outcome = .success(())
            } catch {
                outcome = .failure(error)
            }
            guard case .failure(let error) = outcome else {
                Issue.record("run() returned without an error")
                return
            }
            let failedMessage = try #require(failed.offsets.first.map { ($0.key, $0.value.first!) })
            let sluiceError = try #require(error as? SluiceError)
            #expect(sluiceError.code == .handlerFailed)
            #expect(sluiceError.topic == topic)
            #expect(sluiceError.partition == failedMessage.0)
            #expect(sluiceError.offset == failedMessage.1)
            #expect(sluiceError.underlying is Boom)
            #expect("\(sluiceError)".contains("\(topic)[\(failedMessage.0)]@\(failedMessage.1)"))

            let (committed, end) = try EngineFixture.committedAndEnd(
                broker: broker, group: group, topic: topic, partitions: partitions)
            #expect(committed[failedMessage.0] == failedMessage.1)
            // Nowhere is anything committed that was not handled.
            #expect(started.log.offsetsCommittedUnhandled(committed).isEmpty)
            for partition in 0..<Int32(partitions) {
                #expect((committed[partition] ?? 0) <= end[partition] ?? 0)
            }
            let stats = started.consumer.statistics
            #expect(stats.failed == 1)
            print("stop policy: failed at \(topic)[\(failedMessage.0)]@\(failedMessage.1), committed \(committed)")
        }

        @Test func skipPolicyCountsFailuresAndCommitsTheLogEnd() async throws {
            let topic = "fail-skip"
            let group = "policy-skip"
            let partitions = 4
            let total = 5_000
            let broker = try EngineFixture.broker(topic: topic, partitions: partitions)
            try EngineFixture.produce(to: topic, on: broker, count: total)

            var config = EngineFixture.configuration(broker: broker, group: group, topic: topic)
            config.failurePolicy = .skip
            config.retry = .none
            config.workers = 2
            let throwing = (0..<total).filter { $0 % 500 == 7 }.count
            let started = try StartedConsumer.start(config) { message in
                let id = HandledLog.id(of: message)
                if id % 500 == 7 { throw Boom(id: id) }
            }
            let log = started.log
            let allHandled = try await EngineFixture.eventually(timeout: .seconds(60)) { log.total >= total }
            let (committed, end) = try await EngineFixture.awaitCommittedEnd(
                broker: broker, group: group, topic: topic, partitions: partitions)
            let stats = started.consumer.statistics
            try await started.stop()

            #expect(allHandled)
            #expect(log.distinct == total)
            #expect(log.duplicates == 0)
            #expect(committed == end)
            #expect(stats.failed == throwing)
            #expect(stats.completed == total)
        }
    }
}
