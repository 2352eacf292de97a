//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import Foundation

/// The machine's active processor count, read once.
enum ProcessorCount {
    static let active: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)
}
