//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// The in-flight window: how many messages, and how many bytes, are admitted and not yet done.
///
/// A plain value kept inside the engine's state lock, so admitting and completing a message costs
/// no lock of its own. (`SluiceFutures.InFlightLimiter` is the general, async form of the same
/// idea; the engine's poll thread admits whole batches under the state lock instead.)
struct InFlightWindow: Sendable, Hashable {
    /// The message bound.
    let maxCount: Int
    /// The byte bound.
    let maxBytes: Int
    /// Admitted messages not yet done.
    private(set) var count = 0
    /// Bytes of admitted messages not yet done.
    private(set) var bytes = 0

    init(maxCount: Int, maxBytes: Int) {
        precondition(maxCount >= 1 && maxBytes >= 1, "window bounds must be positive")
        self.maxCount = maxCount
        self.maxBytes = maxBytes
    }

    /// Whether a message of `weight` bytes fits. A message larger than the whole byte budget
    /// fits only into an empty window, so it cannot wait forever.
    func hasRoom(for weight: Int) -> Bool {
        if count == 0 { return true }
        return count < maxCount && bytes + weight <= maxBytes
    }

    /// Takes a slot; the caller checked ``hasRoom(for:)``.
    mutating func admit(_ weight: Int) {
        count += 1
        bytes += weight
    }

    /// Gives a slot back.
    mutating func release(_ weight: Int) {
        precondition(count > 0, "released more than was admitted")
        count -= 1
        bytes -= weight
    }

    /// Whether the window has drained to `fraction` of both bounds (resume and refill thresholds).
    func isAtOrBelow(_ fraction: Double) -> Bool {
        count <= Int(Double(maxCount) * fraction) && bytes <= Int(Double(maxBytes) * fraction)
    }
}
