//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// A Kafka protocol request type, for injecting errors into the ``EmbeddedBroker``.
public struct KafkaAPIKey: Hashable, Sendable, CustomStringConvertible {
    /// The protocol's `ApiKey` number.
    public let rawValue: Int16
    private let name: String

    private init(_ rawValue: Int16, _ name: String) {
        self.rawValue = rawValue
        self.name = name
    }

    /// Any request type by its protocol number.
    public init(rawValue: Int16) {
        self.init(rawValue, "ApiKey(\(rawValue))")
    }

    /// Writes to partitions.
    public static let produce = KafkaAPIKey(0, "Produce")
    /// Reads from partitions.
    public static let fetch = KafkaAPIKey(1, "Fetch")
    /// Offset lookups (watermarks, timestamps).
    public static let listOffsets = KafkaAPIKey(2, "ListOffsets")
    /// Cluster and topic metadata.
    public static let metadata = KafkaAPIKey(3, "Metadata")
    /// Consumer offset commits.
    public static let offsetCommit = KafkaAPIKey(8, "OffsetCommit")
    /// Reading committed offsets.
    public static let offsetFetch = KafkaAPIKey(9, "OffsetFetch")
    /// Locating the group coordinator.
    public static let findCoordinator = KafkaAPIKey(10, "FindCoordinator")
    /// Joining a consumer group.
    public static let joinGroup = KafkaAPIKey(11, "JoinGroup")
    /// Group liveness.
    public static let heartbeat = KafkaAPIKey(12, "Heartbeat")
    /// Leaving a consumer group.
    public static let leaveGroup = KafkaAPIKey(13, "LeaveGroup")
    /// Distributing a group's assignment.
    public static let syncGroup = KafkaAPIKey(14, "SyncGroup")

    /// The request type's protocol name.
    public var description: String { name }
}

/// A Kafka protocol error code for a broker to answer with (fault injection).
public struct KafkaProtocolError: Hashable, Sendable, CustomStringConvertible {
    /// The protocol's error code.
    public let rawValue: Int32
    private let name: String

    private init(_ rawValue: Int32, _ name: String) {
        self.rawValue = rawValue
        self.name = name
    }

    /// Any protocol error by number.
    public init(rawValue: Int32) {
        self.init(rawValue, "error \(rawValue)")
    }

    /// `UNKNOWN_TOPIC_OR_PARTITION` (3).
    public static let unknownTopicOrPartition = KafkaProtocolError(3, "UNKNOWN_TOPIC_OR_PARTITION")
    /// `LEADER_NOT_AVAILABLE` (5).
    public static let leaderNotAvailable = KafkaProtocolError(5, "LEADER_NOT_AVAILABLE")
    /// `NOT_LEADER_OR_FOLLOWER` (6).
    public static let notLeaderForPartition = KafkaProtocolError(6, "NOT_LEADER_OR_FOLLOWER")
    /// `REQUEST_TIMED_OUT` (7).
    public static let requestTimedOut = KafkaProtocolError(7, "REQUEST_TIMED_OUT")
    /// `NETWORK_EXCEPTION` (13).
    public static let networkException = KafkaProtocolError(13, "NETWORK_EXCEPTION")
    /// `COORDINATOR_LOAD_IN_PROGRESS` (14).
    public static let coordinatorLoadInProgress = KafkaProtocolError(14, "COORDINATOR_LOAD_IN_PROGRESS")
    /// `COORDINATOR_NOT_AVAILABLE` (15).
    public static let coordinatorNotAvailable = KafkaProtocolError(15, "COORDINATOR_NOT_AVAILABLE")
    /// `NOT_COORDINATOR` (16).
    public static let notCoordinator = KafkaProtocolError(16, "NOT_COORDINATOR")
    /// `NOT_ENOUGH_REPLICAS` (19).
    public static let notEnoughReplicas = KafkaProtocolError(19, "NOT_ENOUGH_REPLICAS")
    /// `REBALANCE_IN_PROGRESS` (27).
    public static let rebalanceInProgress = KafkaProtocolError(27, "REBALANCE_IN_PROGRESS")
    /// `TOPIC_AUTHORIZATION_FAILED` (29): not retriable.
    public static let topicAuthorizationFailed = KafkaProtocolError(29, "TOPIC_AUTHORIZATION_FAILED")

    /// The error's protocol name.
    public var description: String { name }
}
