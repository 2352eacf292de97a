//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// Counts the process's `malloc` calls when ordo-one's malloc-interposer is preloaded
/// (`LD_PRELOAD=…/libMallocInterposerSwift.so sluice bench`), for the "allocs/msg" column.
///
/// The interposer is found at run time (`dlsym`) rather than linked: linked in, it would
/// replace `malloc` for every `sluice` process, while preloaded it costs nothing unless asked
/// for. Without it, ``allocations()`` is `nil` and the column stays empty.
enum AllocationCounter {
    private typealias Enable = @convention(c) () -> Void
    private typealias GetStats = @convention(c) (
        UnsafeMutablePointer<Int64>?, UnsafeMutablePointer<Int64>?, UnsafeMutablePointer<Int64>?,
        UnsafeMutablePointer<Int64>?, UnsafeMutablePointer<Int64>?, UnsafeMutablePointer<Int64>?
    ) -> Void

    private static let enableFunction: Enable? = dlsym(nil, "malloc_interposer_enable")
        .map { unsafeBitCast($0, to: Enable.self) }
    private static let getStatsFunction: GetStats? = dlsym(nil, "malloc_interposer_get_stats")
        .map { unsafeBitCast($0, to: GetStats.self) }

    /// Starts counting, process-wide, when the interposer is loaded.
    static func start() {
        enableFunction?()
    }

    /// `malloc`-family calls counted so far in this process; `nil` without the interposer.
    static func allocations() -> Int64? {
        guard let getStatsFunction else { return nil }
        // The interposer writes all six fields (none may be null); only the count is used.
        var fields = [Int64](repeating: 0, count: 6)
        fields.withUnsafeMutableBufferPointer { field in
            getStatsFunction(
                field.baseAddress, field.baseAddress! + 1, field.baseAddress! + 2, field.baseAddress! + 3,
                field.baseAddress! + 4, field.baseAddress! + 5)
        }
        return fields[0]
    }
}
