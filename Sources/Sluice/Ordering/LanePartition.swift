//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// A partition as lanes know it: a number the engine gives each partition the first time it is
/// assigned, and gives it again on every later assignment (so that work of an earlier assignment
/// still running holds the same lanes as the new one's). A lane is copied, hashed and compared
/// several times per message, and a topic name longer than 15 bytes would cost an atomic
/// reference count on every copy and a hash of every byte on every look-up.
struct LanePartition: Hashable, Sendable {
    /// The number, unique among the partitions of one engine.
    let number: UInt32
}
