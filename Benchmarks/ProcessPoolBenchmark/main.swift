//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

// sluice-pool-bench: throughput of a CPU-bound spin job on 2 worker processes against 2 worker threads,
// in one run. The executable is its own worker: started by the pool, it serves the "spin" job.
//
//     swift build -c release --scratch-path .build-h10 --product sluice-pool-bench
//     .build-h10/release/sluice-pool-bench [--quick] [--json]

import SluiceFutures
import SluiceProcessPool

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Busy-spins until the calling thread has used `micros` µs of CPU time (as `SpinHandler.spin` does).
@inline(never)
func spin(micros: Int) -> Int {
    func threadCPUNanoseconds() -> Int {
        var now = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
        return now.tv_sec * 1_000_000_000 + now.tv_nsec
    }
    let end = threadCPUNanoseconds() + micros * 1_000
    var iterations = 0
    while threadCPUNanoseconds() < end { iterations &+= 1 }
    return iterations
}

if ProcessPoolWorker.isWorkerProcess {
    // The payload is the cost in µs as 4 little-endian bytes; the output is empty.
    try ProcessPoolWorker.serve(jobs: [
        "spin": { payload in
            let micros = payload.prefix(4).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
            _ = spin(micros: micros)
            return []
        }
    ])
    exit(0)
}

let arguments = Set(CommandLine.arguments.dropFirst())
let quick = arguments.contains("--quick")
let workers = 2
let repetitions = quick ? 1 : 3
/// Seconds of ideal work per measurement.
let seconds = quick ? 0.5 : 2.0

func now() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

/// Tasks per second of the fastest of `repetitions` runs of `count` tasks.
func measure(count: Int, _ run: () throws -> Void) rethrows -> Double {
    var best = 0.0
    for _ in 0..<repetitions {
        let start = now()
        try run()
        best = max(best, Double(count) / (now() - start))
    }
    return best
}

struct Row {
    var cost: Int
    var name: String
    var tasks: Int
    var throughput: Double
    var ideal: Double { Double(workers) * 1e6 / Double(self.cost) }
}

var rows: [Row] = []
var ratios: [(cost: Int, depth: Int, ratio: Double)] = []

let threads = ThreadPoolExecutor(workers: workers, name: "bench")
var configuration = ProcessPoolConfiguration(
    executable: ProcessPoolConfiguration.currentExecutablePath, workers: workers)
for cost in [100, 1_000] {
    let count = Int(seconds * Double(workers) * 1e6 / Double(cost))
    let threaded = try measure(count: count) {
        let futures = (0..<count).map { _ in threads.submit { _ = spin(micros: cost) } }
        for future in futures { try future.result(timeout: .seconds(120)) }
    }
    rows.append(Row(cost: cost, name: "threads (ThreadPoolExecutor)", tasks: count, throughput: threaded))
    let payload = (0..<4).map { UInt8(truncatingIfNeeded: cost >> (8 * $0)) }
    for depth in [1, 2, 4] {
        configuration.tasksInFlightPerWorker = depth
        let pool = try ProcessPoolExecutor(configuration: configuration)
        let processed = try measure(count: count) {
            let futures = (0..<count).map { _ in pool.submit(job: "spin", payload: payload) }
            for future in futures { _ = try future.result(timeout: .seconds(120)) }
        }
        pool.shutdown()
        rows.append(
            Row(cost: cost, name: "processes, \(depth) in flight per worker", tasks: count, throughput: processed))
        ratios.append((cost, depth, processed / threaded))
    }
}
threads.shutdown()

func fixed(_ value: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    var text = "\(rounded)"
    if let dot = text.firstIndex(of: ".") {
        let decimals = text.distance(from: dot, to: text.endIndex) - 1
        if decimals < digits { text += String(repeating: "0", count: digits - decimals) }
    }
    return digits == 0 ? String(Int(rounded)) : text
}

func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
    let padding = String(repeating: " ", count: max(0, width - text.count))
    return right ? padding + text : text + padding
}

if arguments.contains("--json") {
    let objects = rows.map { row in
        "{\"cost_us\": \(row.cost), \"name\": \"\(row.name)\", \"tasks\": \(row.tasks), \"tasks_per_s\": \(fixed(row.throughput, 1)), \"ideal_per_s\": \(fixed(row.ideal, 1))}"
    }
    let ratioObjects = ratios.map {
        "{\"cost_us\": \($0.cost), \"in_flight_per_worker\": \($0.depth), \"processes_over_threads\": \(fixed($0.ratio, 3))}"
    }
    print(
        "{\"workers\": \(workers), \"rows\": [\(objects.joined(separator: ", "))], \"ratios\": [\(ratioObjects.joined(separator: ", "))]}"
    )
} else {
    print("spin job, \(workers) workers, fastest of \(repetitions) run(s); ideal = workers / cost")
    print(
        pad("cost", 8) + pad("executor", 40) + pad("tasks", 8, right: true) + pad("tasks/s", 12, right: true)
            + pad("ideal/s", 12, right: true) + pad("of ideal", 10, right: true))
    for row in rows {
        print(
            pad("\(row.cost) µs", 8) + pad(row.name, 40) + pad("\(row.tasks)", 8, right: true)
                + pad(fixed(row.throughput, 0), 12, right: true) + pad(fixed(row.ideal, 0), 12, right: true)
                + pad(fixed(row.throughput / row.ideal, 3), 10, right: true)
        )
    }
    print("")
    for ratio in ratios {
        print("processes / threads at \(ratio.cost) µs, \(ratio.depth) in flight per worker: \(fixed(ratio.ratio, 3))")
    }
}
