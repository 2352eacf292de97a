//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SluiceFutures
import Synchronization

/// The duration of one run and the CPU time the process used meanwhile.
struct Timing: Sendable {
    var seconds: Double
    var processCPUSeconds: Double
}

/// One measured figure.
struct Row: Sendable {
    var group: String
    var name: String
    var tasks: Int
    var timing: Timing
    var seconds: Double { self.timing.seconds }
    /// CPU time used per wall-clock second: about `workers` when every worker ran all the time; less
    /// means the threads waited (for work, or for a core another process had).
    var cpuPerWallSecond: Double { self.timing.processCPUSeconds / self.timing.seconds }
    /// Nanoseconds per task (overhead rows).
    var nanosecondsPerTask: Double { self.seconds * 1e9 / Double(self.tasks) }
    /// Tasks per second.
    var throughput: Double { Double(self.tasks) / self.seconds }
    /// For CPU-bound rows: the ideal throughput, `workers / cost`.
    var idealThroughput: Double?
    var ratio: Double? { self.idealThroughput.map { self.throughput / $0 } }
}

enum FuturesBenchmark {
    struct Options {
        var json = false
        var overheadTasks = 200_000
        var roundTrips = 20_000
        var spinMicroseconds = 100
        var cpuSeconds = 1.0
        var repetitions = 3

        init(arguments: [String]) {
            var iterator = arguments.makeIterator()
            while let argument = iterator.next() {
                switch argument {
                case "--json":
                    self.json = true
                case "--quick":
                    self.overheadTasks = 20_000
                    self.roundTrips = 2_000
                    self.cpuSeconds = 0.2
                    self.repetitions = 1
                case "--spin-us":
                    self.spinMicroseconds = iterator.next().flatMap { Int($0) } ?? self.spinMicroseconds
                case "--repeat":
                    self.repetitions = max(1, iterator.next().flatMap { Int($0) } ?? self.repetitions)
                case "--cpu-seconds":
                    self.cpuSeconds = iterator.next().flatMap { Double($0) } ?? self.cpuSeconds
                case "--help", "-h":
                    print(
                        """
                        usage: sluice-futures-bench [--json] [--quick] [--repeat N] [--spin-us N] [--cpu-seconds S]
                          --json          print JSON instead of a table
                          --quick         fewer tasks (a smoke run, figures are noisier)
                          --repeat N      run each measurement N times and report the fastest (default 3)
                          --spin-us N     cost of one CPU-bound task in µs of thread CPU time (default 100)
                          --cpu-seconds S ideal duration of each CPU-bound run (default 1)
                        """
                    )
                    exit(0)
                default:
                    print("unknown argument \(argument); try --help")
                    exit(2)
                }
            }
        }
    }

    static func main(arguments: [String]) async {
        let options = Options(arguments: arguments)
        var rows: [Row] = []

        // Warm up the pool, the allocator and the cooperative pool once.
        _ = self.poolBatch(workers: 2, tasks: 10_000)
        _ = await self.taskGroupBatch(tasks: 10_000)

        let n = options.overheadTasks
        let r = options.repetitions
        rows.append(Row(group: "overhead", name: "ThreadPoolExecutor(2) submit+complete", tasks: n,
                        timing: best(r) { self.poolBatch(workers: 2, tasks: n) }))
        rows.append(Row(group: "overhead", name: "ThreadPoolExecutor(1) submit+complete", tasks: n,
                        timing: best(r) { self.poolBatch(workers: 1, tasks: n) }))
        rows.append(Row(group: "overhead", name: "DispatchQueue.concurrentPerform", tasks: n,
                        timing: best(r) { self.concurrentPerformBatch(tasks: n) }))
        rows.append(Row(group: "overhead", name: "TaskGroup addTask", tasks: n,
                        timing: await bestAsync(r) { await self.taskGroupBatch(tasks: n) }))
        rows.append(Row(group: "latency", name: "ThreadPoolExecutor(1) submit→result round trip",
                        tasks: options.roundTrips, timing: best(r) { self.poolRoundTrips(count: options.roundTrips) }))
        rows.append(Row(group: "latency", name: "Task { }.value round trip",
                        tasks: options.roundTrips, timing: await bestAsync(r) { await self.taskRoundTrips(count: options.roundTrips) }))

        let cost = UInt64(options.spinMicroseconds) * 1_000
        // The ceiling of the spin itself: reading the thread clock costs a little on every task.
        let serialTasks = Int(1e9 / Double(cost) * options.cpuSeconds)
        rows.append(Row(group: "cpu-bound", name: "no executor: spin \(options.spinMicroseconds)µs on the calling thread",
                        tasks: serialTasks, timing: best(r) { self.serialSpin(tasks: serialTasks, cost: cost) },
                        idealThroughput: 1e9 / Double(cost)))
        for workers in [1, 2] {
            let ideal = Double(workers) * 1e9 / Double(cost)
            let tasks = Int(ideal * options.cpuSeconds)
            rows.append(Row(group: "cpu-bound", name: "ThreadPoolExecutor(\(workers)) spin \(options.spinMicroseconds)µs",
                            tasks: tasks, timing: best(r) { self.poolSpin(workers: workers, tasks: tasks, cost: cost) },
                            idealThroughput: ideal))
        }
        let cores = 2
        let ideal = Double(cores) * 1e9 / Double(cost)
        let tasks = Int(ideal * options.cpuSeconds)
        rows.append(Row(group: "cpu-bound", name: "concurrentPerform spin \(options.spinMicroseconds)µs (2 cores)",
                        tasks: tasks, timing: best(r) { self.concurrentPerformSpin(tasks: tasks, cost: cost) },
                        idealThroughput: ideal))
        rows.append(Row(group: "cpu-bound", name: "TaskGroup spin \(options.spinMicroseconds)µs (2 cores)",
                        tasks: tasks, timing: await bestAsync(r) { await self.taskGroupSpin(tasks: tasks, cost: cost) },
                        idealThroughput: ideal))

        if options.json {
            print(Report.json(rows, repetitions: r))
        } else {
            print(Report.table(rows, repetitions: r))
        }
    }

    // MARK: Overhead

    /// Submits `tasks` tiny tasks at once and waits for the last completion.
    static func poolBatch(workers: Int, tasks: Int) -> Double {
        let pool = ThreadPoolExecutor(workers: workers, name: "bench")
        defer { pool.shutdown() }
        let remaining = Atomic<Int>(tasks)
        let allDone = Promise<Void>()
        let start = ContinuousClock.now
        for index in 0..<tasks {
            pool.submit { Spin.tiny(index) }.whenComplete { _ in
                if remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
                    allDone.succeed(())
                }
            }
        }
        try! allDone.future.result(timeout: .seconds(600))
        return seconds(since: start)
    }

    static func concurrentPerformBatch(tasks: Int) -> Double {
        let sink = Atomic<Int>(0)
        let start = ContinuousClock.now
        DispatchQueue.concurrentPerform(iterations: tasks) { index in
            sink.add(Spin.tiny(index) & 1, ordering: .relaxed)
        }
        return seconds(since: start)
    }

    static func taskGroupBatch(tasks: Int) async -> Double {
        let start = ContinuousClock.now
        let total = await withTaskGroup(of: Int.self) { group in
            for index in 0..<tasks {
                group.addTask { Spin.tiny(index) }
            }
            var total = 0
            for await value in group { total &+= value }
            return total
        }
        precondition(total != 1)
        return seconds(since: start)
    }

    static func poolRoundTrips(count: Int) -> Double {
        let pool = ThreadPoolExecutor(workers: 1, name: "bench-rt")
        defer { pool.shutdown() }
        let start = ContinuousClock.now
        for index in 0..<count {
            _ = try! pool.submit { Spin.tiny(index) }.result(timeout: .seconds(60))
        }
        return seconds(since: start)
    }

    static func taskRoundTrips(count: Int) async -> Double {
        let start = ContinuousClock.now
        for index in 0..<count {
            _ = await Task { Spin.tiny(index) }.value
        }
        return seconds(since: start)
    }

    // MARK: CPU-bound

    static func poolSpin(workers: Int, tasks: Int, cost: UInt64) -> Double {
        let pool = ThreadPoolExecutor(workers: workers, name: "bench-cpu")
        defer { pool.shutdown() }
        let remaining = Atomic<Int>(tasks)
        let allDone = Promise<Void>()
        let start = ContinuousClock.now
        for _ in 0..<tasks {
            pool.submit { Spin.run(nanoseconds: cost) }.whenComplete { _ in
                if remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
                    allDone.succeed(())
                }
            }
        }
        try! allDone.future.result(timeout: .seconds(600))
        return seconds(since: start)
    }

    static func serialSpin(tasks: Int, cost: UInt64) -> Double {
        let start = ContinuousClock.now
        for _ in 0..<tasks {
            _ = Spin.run(nanoseconds: cost)
        }
        return seconds(since: start)
    }

    static func concurrentPerformSpin(tasks: Int, cost: UInt64) -> Double {
        let start = ContinuousClock.now
        DispatchQueue.concurrentPerform(iterations: tasks) { _ in
            _ = Spin.run(nanoseconds: cost)
        }
        return seconds(since: start)
    }

    static func taskGroupSpin(tasks: Int, cost: UInt64) async -> Double {
        let start = ContinuousClock.now
        await withTaskGroup(of: Int.self) { group in
            for _ in 0..<tasks {
                group.addTask { Spin.run(nanoseconds: cost) }
            }
            for await _ in group {}
        }
        return seconds(since: start)
    }

    /// The fastest of `repetitions` runs (the least disturbed by other processes on the machine), with
    /// the CPU time the whole process used during that run.
    static func best(_ repetitions: Int, _ measure: () -> Double) -> Timing {
        var fastest = Timing(seconds: .infinity, processCPUSeconds: 0)
        for _ in 0..<repetitions {
            let cpuBefore = Spin.processCPUSeconds()
            let seconds = measure()
            let timing = Timing(seconds: seconds, processCPUSeconds: Spin.processCPUSeconds() - cpuBefore)
            if timing.seconds < fastest.seconds { fastest = timing }
        }
        return fastest
    }

    static func bestAsync(_ repetitions: Int, _ measure: () async -> Double) async -> Timing {
        var fastest = Timing(seconds: .infinity, processCPUSeconds: 0)
        for _ in 0..<repetitions {
            let cpuBefore = Spin.processCPUSeconds()
            let seconds = await measure()
            let timing = Timing(seconds: seconds, processCPUSeconds: Spin.processCPUSeconds() - cpuBefore)
            if timing.seconds < fastest.seconds { fastest = timing }
        }
        return fastest
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        let (seconds, attoseconds) = elapsed.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
