//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Testing
import _SluiceTime

@testable import Sluice

/// A ``ConsumerStateMachine`` driven by hand: events in, actions out, time moved explicitly. What
/// the drivers do with the actions (start handlers, commit, pause) the tests do by hand too.
struct MachineHarness {
    var machine: ConsumerStateMachine
    /// The machine's clock, in nanoseconds.
    var now: Int64 = 0
    let topic: String

    /// A started, connected machine for `topic`, configured by `configure`; `batches` when its
    /// handler takes batches (with routes, each route's handler says); with `laneRuns` above 1, a
    /// lane's queued messages start with it as lane runs of at most that many (threads' handlers).
    init(topic: String = "t", batches: Bool = false, laneRuns: Int = 1, _ configure: (inout SluiceConfiguration) -> Void = { _ in }) {
        var configuration = SluiceConfiguration(brokers: ["in-memory:9092"], groupID: "g", topics: [topic])
        configure(&configuration)
        self.topic = topic
        let handlers = configuration.routes.isEmpty
            ? [(batches: batches, isolated: false)]
            : configuration.routes.map { (batches: $0.handler.handlesBatches, isolated: false) }
        var settings = ConsumerStateMachine.Settings(configuration, handlers: handlers)
        for index in settings.routes.indices { settings.routes[index].runsLanes = laneRuns > 1 }
        machine = ConsumerStateMachine(settings: settings, seed: 1)
        machine.setLaneRunLimit(laneRuns)
        _ = machine.startRequested()
        machine.connected(now: now)
    }

    func tp(_ partition: Int32) -> TopicPartition {
        TopicPartition(topic: topic, partition: partition)
    }

    /// A message of the harness's topic, value `v<offset>`.
    func message(_ partition: Int32, _ offset: Int64, key: String? = nil, size: Int? = nil) -> KafkaMessage {
        KafkaMessage(
            topic: topic, partition: partition, offset: offset, key: key.map { Array($0.utf8) },
            value: size.map { [UInt8](repeating: 1, count: $0) } ?? Array("v\(offset)".utf8))
    }

    mutating func advance(by duration: Duration) {
        now += duration.nanoseconds
    }

    @discardableResult
    mutating func assign(_ partitions: Int32...) -> EngineActions {
        machine.assigned(partitions.map(tp), now: now)
    }

    /// Polls messages; returns what the machine starts.
    @discardableResult
    mutating func poll(_ messages: [KafkaMessage]) -> EngineActions {
        machine.polled(messages.map { PolledMessage($0, polledAt: now) }, now: now)
    }

    mutating func succeed(_ works: [InFlightWork]) -> EngineActions {
        machine.finished(works, results: works.map { _ in .success(()) }, now: now)
    }

    mutating func fail(_ work: InFlightWork, _ error: any Error) -> EngineActions {
        machine.finished([work], results: [.failure(error)], now: now)
    }

    mutating func tick() -> EngineActions {
        machine.tick(now: now)
    }

    /// Assigns partition 0, handles its message 0, and returns the periodic commit due a commit
    /// interval (1 s in these tests) later.
    mutating func handleFirstMessageAndCommitPeriodically() throws -> CommitRequest {
        assign(0)
        let polled = poll([message(0, 0)])
        _ = succeed(polled.dispatch)
        advance(by: .seconds(1))
        let due = tick()
        return try #require(due.commit)
    }

    /// The pending commit point of a partition.
    func commitPoint(_ partition: Int32) -> Int64? {
        machine.tracker.commitPoint(of: tp(partition))
    }
}

/// A handler error for state-machine tests.
struct TestFailure: Error, CustomStringConvertible {
    var description: String { "test failure" }
}
