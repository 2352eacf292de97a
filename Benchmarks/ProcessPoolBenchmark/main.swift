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
//     .build-h10/release/sluice-pool-bench [--quick] [--json] [--repetitions N] [--costs 100,1000]

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
/// Task costs in µs; `--costs 1,100` measures others (1 µs shows the pure per-task overhead).
let costs: [Int] = {
    let all = Array(CommandLine.arguments.dropFirst())
    guard let index = all.firstIndex(of: "--costs"), index + 1 < all.count else { return [100, 1_000] }
    return all[index + 1].split(separator: ",").compactMap { Int($0) }
}()
let quick = arguments.contains("--quick")
let workers = 2
/// `--repetitions N`: more, shorter-lived chances to catch a quiet moment on a shared machine.
let repetitions: Int = {
    let all = Array(CommandLine.arguments.dropFirst())
    if let index = all.firstIndex(of: "--repetitions"), index + 1 < all.count, let count = Int(all[index + 1]) {
        return max(1, count)
    }
    return quick ? 1 : 3
}()
/// Seconds of ideal work per measurement.
let seconds = quick ? 0.5 : 2.0

func now() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

/// CPU seconds used by this process (`CLOCK_PROCESS_CPUTIME_ID`).
func processCPUSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

/// CPU seconds (user + system) used by another process, from `/proc/PID/stat` (clock-tick resolution).
func cpuSeconds(of pid: Int32) -> Double {
    let fd = open("/proc/\(pid)/stat", O_RDONLY)
    guard fd >= 0 else { return 0 }
    defer { close(fd) }
    var bytes = [UInt8](repeating: 0, count: 1024)
    let count = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    guard count > 0 else { return 0 }
    let text = String(decoding: bytes[0..<count], as: UTF8.self)
    guard let close = text.lastIndex(of: ")") else { return 0 }
    // After "pid (comm)": state is field 3, utime field 14, stime field 15.
    let fields = text[text.index(after: close)...].split(separator: " ")
    guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

struct Row {
    var cost: Int
    var name: String
    var tasks: Int
    var throughput: Double
    /// CPU µs per task, all processes of the variant together.
    var cpuPerTask: Double
    var ideal: Double { Double(workers) * 1e6 / Double(self.cost) }
}

/// One way of running `count` spin tasks of `cost` µs to completion.
struct Variant {
    var name: String
    var depth: Int?
    /// Worker processes whose CPU time counts too.
    var pids: () -> [Int32] = { [] }
    var run: (_ count: Int, _ cost: Int) throws -> Void
}

let threads = ThreadPoolExecutor(workers: workers, name: "bench")
var variants = [
    Variant(name: "threads (ThreadPoolExecutor)", depth: nil) { count, cost in
        let futures = (0..<count).map { _ in threads.submit { _ = spin(micros: cost) } }
        for future in futures { try future.result(timeout: .seconds(120)) }
    }
]
var pools: [ProcessPoolExecutor] = []
for depth in [1, 2, 4] {
    var configuration = ProcessPoolConfiguration(
        executable: ProcessPoolConfiguration.currentExecutablePath, workers: workers)
    configuration.tasksInFlightPerWorker = depth
    let pool = try ProcessPoolExecutor(configuration: configuration)
    pools.append(pool)
    variants.append(
        Variant(name: "processes, \(depth) in flight per worker", depth: depth, pids: { pool.workerPIDs }) {
            count, cost in
            let payload = (0..<4).map { UInt8(truncatingIfNeeded: cost >> (8 * $0)) }
            let futures = (0..<count).map { _ in pool.submit(job: "spin", payload: payload) }
            for future in futures { _ = try future.result(timeout: .seconds(120)) }
        }
    )
}

var rows: [Row] = []
var ratios: [(cost: Int, depth: Int, ratio: Double, cpuRatio: Double)] = []
for cost in costs {
    let count = Int(seconds * Double(workers) * 1e6 / Double(cost))
    // Interleaved repetitions, fastest of each: the machine is shared, and its load drifts.
    var best = [Double](repeating: 0, count: variants.count)
    var leastCPU = [Double](repeating: .infinity, count: variants.count)
    for _ in 0..<repetitions {
        for (index, variant) in variants.enumerated() {
            let pids = variant.pids()
            let cpuBefore = processCPUSeconds() + pids.map(cpuSeconds(of:)).reduce(0, +)
            let start = now()
            try variant.run(count, cost)
            best[index] = max(best[index], Double(count) / (now() - start))
            let cpu = processCPUSeconds() + pids.map(cpuSeconds(of:)).reduce(0, +) - cpuBefore
            leastCPU[index] = min(leastCPU[index], cpu * 1e6 / Double(count))
        }
    }
    for (index, variant) in variants.enumerated() {
        rows.append(
            Row(cost: cost, name: variant.name, tasks: count, throughput: best[index], cpuPerTask: leastCPU[index]))
        if let depth = variant.depth {
            ratios.append((cost, depth, best[index] / best[0], leastCPU[0] / leastCPU[index]))
        }
    }
}
for pool in pools { pool.shutdown() }
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
        "{\"cost_us\": \(row.cost), \"name\": \"\(row.name)\", \"tasks\": \(row.tasks), \"tasks_per_s\": \(fixed(row.throughput, 1)), \"ideal_per_s\": \(fixed(row.ideal, 1)), \"cpu_us_per_task\": \(fixed(row.cpuPerTask, 1))}"
    }
    let ratioObjects = ratios.map {
        "{\"cost_us\": \($0.cost), \"in_flight_per_worker\": \($0.depth), \"processes_over_threads\": \(fixed($0.ratio, 3)), \"cpu_efficiency_processes_over_threads\": \(fixed($0.cpuRatio, 3))}"
    }
    print(
        "{\"workers\": \(workers), \"rows\": [\(objects.joined(separator: ", "))], \"ratios\": [\(ratioObjects.joined(separator: ", "))]}"
    )
} else {
    print("spin job, \(workers) workers, fastest of \(repetitions) interleaved run(s); ideal = workers / cost;")
    print("cpu/task = CPU time of the pool's process and its workers per task (least of the runs)")
    print(
        pad("cost", 8) + pad("executor", 40) + pad("tasks", 8, right: true) + pad("tasks/s", 12, right: true)
            + pad("ideal/s", 12, right: true) + pad("of ideal", 10, right: true) + pad("cpu/task", 12, right: true))
    for row in rows {
        print(
            pad("\(row.cost) µs", 8) + pad(row.name, 40) + pad("\(row.tasks)", 8, right: true)
                + pad(fixed(row.throughput, 0), 12, right: true) + pad(fixed(row.ideal, 0), 12, right: true)
                + pad(fixed(row.throughput / row.ideal, 3), 10, right: true)
                + pad(fixed(row.cpuPerTask, 1) + " µs", 12, right: true)
        )
    }
    print("")
    for ratio in ratios {
        print(
            "processes / threads at \(ratio.cost) µs, \(ratio.depth) in flight per worker: throughput \(fixed(ratio.ratio, 3)),"
                + " CPU efficiency \(fixed(ratio.cpuRatio, 3))"
        )
    }
}
