//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// A `--route` or `--route-option` that cannot be used, with a sentence naming the route and the
/// bad part: `--route 'orders=score-orders,ordering=sideways': ordering=sideways: 'sideways' is
/// not unordered, key or partition`. `sluice run` reports it as a usage error (exit 64).
struct RouteError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What is wrong.
    var description: String
}
