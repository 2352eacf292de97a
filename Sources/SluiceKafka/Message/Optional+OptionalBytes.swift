//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

extension Optional where Wrapped == [UInt8] {
    /// Calls `body` with the array's bytes in place, or with `nil` for no array: a key or a value
    /// that may be absent, handed to C or copied into a message's storage without a copy of its own.
    package func withOptionalBytes<R>(_ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        switch self {
        case .none: try body(nil)
        case .some(let bytes): try bytes.withUnsafeBytes { try body($0) }
        }
    }
}
