//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SluiceKafka
import Testing

extension KafkaComponentTests {
    /// The rebalance hook sees every assignment change, and a group splits partitions between its
    /// members, with the eager protocol and with cooperative-sticky.
    @Suite(.timeLimit(.minutes(5)), .serialized)
    struct RebalanceTests {
        private static let partitionCount = 6
        private static let allPartitions = Set((0..<Int32(partitionCount)).map { TopicPartition(topic: testTopic, partition: $0) })

        /// Rebalance events of one consumer, in order.
        private typealias Events = Locked<[KafkaRebalanceEvent]>

        /// Whether two consumers own every partition between them, each exactly once, and each
        /// consumer's hook has seen its current assignment last.
        private static func isSplit(_ a: KafkaConsumer, _ b: KafkaConsumer, _ eventsA: Events, _ eventsB: Events) throws -> Bool {
            let ownedA = Set(try a.assignment())
            let ownedB = Set(try b.assignment())
            return !ownedA.isEmpty && !ownedB.isEmpty && ownedA.isDisjoint(with: ownedB)
                && ownedA.union(ownedB) == allPartitions
                && isSettled(ownedA, eventsA.value) && isSettled(ownedB, eventsB.value)
        }

        /// Whether replaying `events` gives `assignment` (incremental events add and remove; eager
        /// ones replace), i.e. the hook has caught up with the consumer.
        private static func isSettled(_ assignment: Set<TopicPartition>, _ events: [KafkaRebalanceEvent]) -> Bool {
            replay(events) == assignment
        }

        private static func replay(_ events: [KafkaRebalanceEvent]) -> Set<TopicPartition> {
            events.reduce(into: Set<TopicPartition>()) { owned, event in
                switch (event.kind, event.isIncremental) {
                case (.assigned, false): owned = Set(event.partitions)
                case (.assigned, true): owned.formUnion(event.partitions)
                case (_, false): owned = []
                default: owned.subtract(event.partitions)
                }
            }
        }

        /// Why `events` is not an eager history, or nil when it is: assignments and revocations
        /// alternate, starting and ending with an assignment, and each revocation takes back the
        /// whole assignment before it.
        static func eagerHistoryProblem(_ events: [KafkaRebalanceEvent]) -> String? {
            guard events.last?.kind == .assigned else { return "it does not end with an assignment" }
            var owned: Set<TopicPartition> = []
            for (index, event) in events.enumerated() {
                let expected: KafkaRebalanceEvent.Kind = index.isMultiple(of: 2) ? .assigned : .revoked
                guard event.kind == expected else { return "event \(index) is \(event.kind), not \(expected)" }
                if event.kind == .revoked, Set(event.partitions) != owned {
                    return "event \(index) revokes \(event.partitions), not the whole assignment \(owned.sorted())"
                }
                owned = event.kind == .assigned ? Set(event.partitions) : []
            }
            return nil
        }

        /// The mock holds a rebalance open for the session timeout minus a second, waiting for
        /// members that may never rejoin: keep it short so a join takes seconds, not 44.
        private static func shortSession(_ configuration: inout KafkaConsumerConfiguration) {
            configuration.sessionTimeout = .seconds(6)
        }

        /// Starts consumer A, waits for it to own everything, then starts B and waits for the split.
        /// Both are polled concurrently on their own threads throughout.
        private static func joinSecondConsumer(
            _ broker: EmbeddedBroker, group: String, assignment: KafkaConsumerConfiguration.AssignmentStrategy,
            check: (_ eventsA: [KafkaRebalanceEvent], _ eventsB: [KafkaRebalanceEvent],
                    _ ownedA: Set<TopicPartition>, _ ownedB: Set<TopicPartition>) throws -> Void
        ) async throws {
            let eventsA = Events([])
            let eventsB = Events([])
            let a = try makeConsumer(broker, group: group, assignment: assignment, configure: shortSession, rebalanceHook: { event in
                eventsA.withLock { $0.append(event) }
            })
            try await whilePolling(a) { _ in
                let ownsAll = try await eventually(timeout: .seconds(30)) {
                    Set(try a.assignment()) == allPartitions && isSettled(allPartitions, eventsA.value)
                }
                try #require(ownsAll, "the first consumer gets every partition; events: \(eventsA.value)")
                let first = eventsA.value
                #expect(first.count == 1, "one event for the first join: \(first)")
                #expect(first.first?.kind == .assigned)
                #expect(Set(first.first?.partitions ?? []) == allPartitions)

                let b = try makeConsumer(broker, group: group, assignment: assignment, configure: shortSession, rebalanceHook: { event in
                    eventsB.withLock { $0.append(event) }
                })
                try await whilePolling(b) { _ in
                    let split = try await eventually(timeout: .seconds(60)) { try isSplit(a, b, eventsA, eventsB) }
                    let ownedA = try a.assignment()
                    let ownedB = try b.assignment()
                    try #require(split, """
                        both consumers own disjoint partitions covering the topic; \
                        A: \(ownedA) \(eventsA.value), B: \(ownedB) \(eventsB.value)
                        """)
                }
                try check(eventsA.value, eventsB.value, Set(try a.assignment()), Set(try b.assignment()))
                try await close(b)
            }
            try await close(a)
        }

        @Test func eagerRebalanceRevokesEverythingThenAssignsEachPartitionToExactlyOneConsumer() async throws {
            try await withBroker(partitions: Self.partitionCount) { broker in
                try await Self.joinSecondConsumer(broker, group: "eager", assignment: .eager) { eventsA, eventsB, ownedA, ownedB in
                    let incremental = (eventsA + eventsB).filter { event in event.isIncremental }
                    #expect(incremental.isEmpty)
                    // The embedded broker may run more than one round for one join (it starts
                    // another whenever a member is late to sync or rejoins, which a loaded
                    // machine makes happen), so the history is checked round by round.
                    #expect(Self.eagerHistoryProblem(eventsA) == nil, "\(eventsA)")
                    #expect(Self.eagerHistoryProblem(eventsB) == nil, "\(eventsB)")
                    // A: assigned everything, revoked everything, ..., assigned its share last.
                    try #require(eventsA.count >= 3, "\(eventsA)")
                    #expect(Set(eventsA[0].partitions) == Self.allPartitions)
                    #expect(Set(eventsA[1].partitions) == Self.allPartitions)
                    #expect(Set(eventsA.last?.partitions ?? []) == ownedA)
                    // B: assigned its share last.
                    #expect(Set(eventsB.last?.partitions ?? []) == ownedB)
                    // The range assignor halves 6 partitions.
                    #expect(ownedA.count == 3 && ownedB.count == 3, "A: \(ownedA), B: \(ownedB)")
                }
            }
        }

        @Test func theEagerHistoryCheckAcceptsExtraRoundsAndRejectsWhatEagerNeverDoes() {
            let all = Array(Self.allPartitions).sorted()
            let half = Array(all.prefix(3))
            func event(_ kind: KafkaRebalanceEvent.Kind, _ partitions: [TopicPartition]) -> KafkaRebalanceEvent {
                KafkaRebalanceEvent(kind: kind, partitions: partitions, isIncremental: false)
            }
            #expect(Self.eagerHistoryProblem([event(.assigned, all), event(.revoked, all), event(.assigned, half)]) == nil)
            // Consumer A's history in a CI run where the embedded broker went through three rounds
            // after B joined.
            #expect(Self.eagerHistoryProblem([
                event(.assigned, all), event(.revoked, all), event(.assigned, half), event(.revoked, half), event(.assigned, half),
                event(.revoked, half), event(.assigned, half),
            ]) == nil)
            #expect(Self.eagerHistoryProblem([event(.assigned, all), event(.revoked, all)])
                == "it does not end with an assignment")
            #expect(Self.eagerHistoryProblem([event(.assigned, all), event(.assigned, half)])
                == "event 1 is assigned, not revoked")
            #expect(Self.eagerHistoryProblem([event(.assigned, all), event(.revoked, half), event(.assigned, half)])
                == "event 1 revokes \(half), not the whole assignment \(all)")
        }

        @Test func cooperativeRebalanceMovesOnlySomePartitionsWithIncrementalEvents() async throws {
            try await withBroker(partitions: Self.partitionCount) { broker in
                try await Self.joinSecondConsumer(broker, group: "cooperative", assignment: .cooperativeSticky) {
                    eventsA, eventsB, ownedA, ownedB in
                    let eager = (eventsA + eventsB).filter { event in !event.isIncremental }
                    #expect(eager.isEmpty, "\(eventsA) \(eventsB)")
                    // A never gives up everything: it keeps its share and revokes only what moves to B.
                    let revokedA = eventsA.filter { event in event.kind == .revoked }.flatMap { $0.partitions }
                    #expect(!revokedA.isEmpty, "\(eventsA)")
                    #expect(Set(revokedA) == ownedB, "what A gave up is what B got: \(eventsA)")
                    #expect(Set(revokedA).isDisjoint(with: ownedA))
                    let lostA = eventsA.filter { event in event.kind == .lost }
                    #expect(lostA.isEmpty, "\(eventsA)")
                    // Events after the first join never re-assign to A what it kept.
                    let assignedLaterA = eventsA.dropFirst().filter { event in event.kind == .assigned }.flatMap { $0.partitions }
                    #expect(assignedLaterA.isEmpty, "sticky: A keeps its partitions, gets none back: \(eventsA)")
                    // B only ever gains partitions.
                    let notAssignedB = eventsB.filter { event in event.kind != .assigned }
                    #expect(notAssignedB.isEmpty, "\(eventsB)")
                    #expect(Set(eventsB.flatMap(\.partitions)) == ownedB)
                    #expect(ownedA.count == 3 && ownedB.count == 3, "A: \(ownedA), B: \(ownedB)")
                }
            }
        }
    }
}
