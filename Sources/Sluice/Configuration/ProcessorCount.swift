internal import Foundation

/// The machine's active processor count, read once.
enum ProcessorCount {
    static let active: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)
}
