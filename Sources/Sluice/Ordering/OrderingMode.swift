//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// How the engine orders handler calls for messages of the same partition.
///
/// Kafka orders messages within a partition. Running handlers in parallel gives that order up;
/// an ordering mode says how much of it to keep. Whatever the mode, offsets are committed in
/// order: a message that finishes early never lets a commit skip one that is still running.
///
/// - ``unordered``: every message is dispatched at once. The most parallel mode.
/// - ``key``: messages with the same key on the same partition run one at a time, in offset order;
///   messages with different keys run in parallel. Keys are compared per partition: the same key
///   on two partitions names two independent lanes (Kafka's default partitioner sends a key to one
///   partition anyway).
/// - ``partition``: one message in flight per partition, in offset order. Parallelism comes only
///   from having several partitions.
///
/// Messages that wait for their lane still count against the in-flight window.
///
/// - Important: In `key` mode a message with a **null key** (no key at all) has nothing to be
///   ordered by, so it is handled as in `unordered` mode: dispatched at once, in parallel with
///   everything else, including other null-key messages of its partition. An empty key (zero
///   bytes) is a key like any other and is ordered with the other empty-key messages. Producers
///   that need null-key messages kept in order should use `partition` mode.
///
/// Parse a configuration value with ``init(_:)``:
///
/// ```swift
/// let mode = OrderingMode("key") ?? .unordered
/// print(mode)  // key
/// ```
public struct OrderingMode: Hashable, Sendable, CaseIterable, LosslessStringConvertible {
    /// The modes. Not public, so that adding one is not a breaking change; internal rather than
    /// private so that the engine switches over it exhaustively and a new mode fails to compile
    /// until every place handles it.
    enum Kind: String, Hashable, Sendable, CaseIterable {
        case unordered
        case key
        case partition
    }

    /// The mode this value stands for.
    let kind: Kind

    private init(_ kind: Kind) {
        self.kind = kind
    }

    /// Dispatch every message at once, with no ordering between handler calls.
    public static var unordered: OrderingMode { OrderingMode(.unordered) }

    /// Run messages with the same key on the same partition one at a time, in offset order.
    ///
    /// Null-key messages are handled as in ``unordered`` mode.
    public static var key: OrderingMode { OrderingMode(.key) }

    /// Run one message at a time per partition, in offset order.
    ///
    /// Only as many workers are busy as the window holds partitions with work. librdkafka hands
    /// messages over a whole fetch of one partition at a time (up to `max.partition.fetch.bytes`),
    /// which can fill the window with one partition; with more than one worker and no routes, the
    /// consumer then polls on past the full window, up to `workers × max.partition.fetch.bytes`
    /// (at most ``SluiceConfiguration/maxInFlightBytes``), and admits each partition up to its
    /// share of the window (``SluiceConfiguration/maxInFlightMessages`` over the workers) first.
    public static var partition: OrderingMode { OrderingMode(.partition) }

    /// Every ordering mode: `unordered`, `key`, `partition`.
    public static var allCases: [OrderingMode] {
        Kind.allCases.map(OrderingMode.init)
    }

    /// Parses a mode from its name: `unordered`, `key` or `partition`, in any letter case.
    ///
    /// - Parameter string: The mode's name, as printed by ``description``.
    /// - Returns: nil if `string` names no mode.
    public init?(_ string: String) {
        guard let kind = Kind(rawValue: string.lowercased()) else {
            return nil
        }
        self.kind = kind
    }

    /// The mode's name: `unordered`, `key` or `partition`.
    public var description: String {
        self.kind.rawValue
    }
}
