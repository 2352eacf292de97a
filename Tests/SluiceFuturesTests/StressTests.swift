//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Testing

@testable import SluiceFutures

#if canImport(Glibc)
import Glibc
#endif

/// Resident set size in bytes, from /proc/self/statm (Linux); `nil` elsewhere.
func residentBytes() -> Int? {
    #if os(Linux)
    guard let file = fopen("/proc/self/statm", "r") else { return nil }
    defer { fclose(file) }
    var size = 0
    var resident = 0
    guard withUnsafeMutablePointer(to: &size, { sizePointer in
        withUnsafeMutablePointer(to: &resident) { residentPointer in
            readTwoIntegers(file, sizePointer, residentPointer)
        }
    }) else { return nil }
    return resident * Int(sysconf(Int32(_SC_PAGESIZE)))
    #else
    return nil
    #endif
}

#if os(Linux)
private func readTwoIntegers(
    _ file: UnsafeMutablePointer<FILE>,
    _ first: UnsafeMutablePointer<Int>,
    _ second: UnsafeMutablePointer<Int>
) -> Bool {
    var buffer = [CChar](repeating: 0, count: 128)
    guard fgets(&buffer, Int32(buffer.count), file) != nil else { return false }
    let fields = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        .split(separator: " ")
        .compactMap { Int($0) }
    guard fields.count >= 2 else { return false }
    first.pointee = fields[0]
    second.pointee = fields[1]
    return true
}
#endif

@Suite(.serialized, .timeLimit(.minutes(5)))
struct StressTests {
    /// Pushes `total` tiny tasks through a 2-worker pool with at most `window` in flight.
    private func run(total: Int, window: Int) async throws -> (completed: Int, sum: Int) {
        let pool = ThreadPoolExecutor(workers: 2, name: "stress")
        let limiter = InFlightLimiter(maxCount: window, maxWeight: .max)
        let completed = Counter()
        let sum = Counter()
        for index in 0..<total {
            try await limiter.acquire(weight: 0)
            let future = pool.submit { index & 0xFF }
            future.whenComplete { result in
                if case .success(let value) = result {
                    sum.increment(by: value)
                }
                completed.increment()
                limiter.release(weight: 0)
            }
        }
        try await withTimeout(.seconds(120)) { await pool.awaitShutdown(cancelPending: false) }
        return (completed.value, sum.value)
    }

    @Test func aMillionTinyTasksAreAllCompletedAndMemoryReturnsToBaseline() async throws {
        // Warm up allocator arenas and thread stacks, then take the baseline.
        _ = try await self.run(total: 100_000, window: 10_000)
        let baseline = residentBytes()

        let total = 1_000_000
        let (completed, sum) = try await self.run(total: total, window: 10_000)
        #expect(completed == total, "no task was lost")
        #expect(sum == (0..<total).reduce(0) { $0 + ($1 & 0xFF) })

        if let baseline, let after = residentBytes() {
            let growth = after - baseline
            print("stress: RSS baseline \(baseline >> 20) MiB, after 1M tasks \(after >> 20) MiB")
            #expect(growth < 64 << 20, "RSS grew by \(growth >> 20) MiB over a baseline of \(baseline >> 20) MiB")
        }
    }
}
