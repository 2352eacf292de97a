//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// A change of a consumer's partition assignment, delivered to the rebalance hook *before* the
/// change is applied, on the thread that polls.
///
/// On ``Kind-swift.struct/revoked`` the hook can drain the partitions' in-flight work and commit
/// synchronously: the revocation waits until the hook returns. On ``Kind-swift.struct/lost`` the
/// partitions already belong to someone else (session timeout), so committing them would fail.
public struct KafkaRebalanceEvent: Sendable, CustomStringConvertible {
    /// What happens to ``partitions``.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        fileprivate let name: String
        /// The partitions are being added to the assignment.
        public static let assigned = Kind(name: "assigned")
        /// The partitions are being taken away; commits are still possible.
        public static let revoked = Kind(name: "revoked")
        /// The partitions were lost (the member fell out of the group); do not commit them.
        public static let lost = Kind(name: "lost")
        /// The kind's name.
        public var description: String { name }
    }

    /// What happens.
    public var kind: Kind
    /// The partitions concerned: the whole new assignment (eager) or only the moved ones (incremental).
    public var partitions: [TopicPartition]
    /// Whether the group uses incremental cooperative rebalancing.
    public var isIncremental: Bool

    /// Creates an event (for tests of code that handles them).
    public init(kind: Kind, partitions: [TopicPartition], isIncremental: Bool) {
        self.kind = kind
        self.partitions = partitions
        self.isIncremental = isIncremental
    }

    /// e.g. `revoked [orders[0], orders[1]] (incremental)`.
    public var description: String {
        "\(kind) \(partitions)\(isIncremental ? " (incremental)" : "")"
    }
}

/// The outcome of an asynchronous or automatic offset commit, as librdkafka reports it.
public struct KafkaCommitResult: Sendable {
    /// The offsets the commit carried.
    public var offsets: [TopicPartitionOffset]
    /// Why it failed, or `nil` when it succeeded.
    public var error: KafkaError?
    /// The id given to ``KafkaConsumer/commitAsync(_:id:)`` (0 for ``KafkaConsumer/commit(_:mode:)``
    /// and automatic commits).
    public var id: UInt64

    /// Creates a result.
    public init(offsets: [TopicPartitionOffset], error: KafkaError?, id: UInt64 = 0) {
        self.offsets = offsets
        self.error = error
        self.id = id
    }
}
