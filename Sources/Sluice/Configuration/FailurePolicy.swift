//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// What the consumer does with a message whose handler threw.
///
/// Whatever the policy, a failed message's offset is never committed unless the policy says the
/// message is dealt with (``skip``).
///
/// ```swift
/// config.failurePolicy = .skip
/// ```
public struct FailurePolicy: Hashable, Sendable, CustomStringConvertible {
    enum Kind: Hashable, Sendable {
        case stop
        case skip
    }

    let kind: Kind

    /// Stop consuming: finish what is in flight, commit nothing past the failed offset, and make
    /// ``SluiceConsumer/run()`` throw the handler's error. The safe default.
    public static let stop = FailurePolicy(kind: .stop)
    /// Log the failure with topic, partition and offset, then treat the message as done.
    public static let skip = FailurePolicy(kind: .skip)

    /// `stop` or `skip`.
    public var description: String {
        switch kind {
        case .stop: "stop"
        case .skip: "skip"
        }
    }

    /// Parses `stop` or `skip`.
    public init?(_ string: String) {
        switch string {
        case "stop": self = .stop
        case "skip": self = .skip
        default: return nil
        }
    }

    private init(kind: Kind) {
        self.kind = kind
    }
}
