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

/// One measured figure.
struct Row: Sendable {
    var group: String
    var name: String
    var tasks: Int
    var seconds: Double
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
                case "--spin-us":
                    self.spinMicroseconds = iterator.next().flatMap { Int($0) } ?? self.spinMicroseconds
                case "--cpu-seconds":
                    self.cpuSeconds = iterator.next().flatMap { Double($0) } ?? self.cpuSeconds
                case "--help", "-h":
                    print(
                        """
                        usage: sluice-futures-bench [--json] [--quick] [--spin-us N] [--cpu-seconds S]
                          --json          print JSON instead of a table
                          --quick         fewer tasks (a smoke run, figures are noisier)
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
        rows.append(Row(group: "overhead", name: "ThreadPoolExecutor(2) submit+complete", tasks: n,
                        seconds: self.poolBatch(workers: 2, tasks: n)))
        rows.append(Row(group: "overhead", name: "ThreadPoolExecutor(1) submit+complete", tasks: n,
                        seconds: self.poolBatch(workers: 1, tasks: n)))
        rows.append(Row(group: "overhead", name: "DispatchQueue.concurrentPerform", tasks: n,
                        seconds: self.concurrentPerformBatch(tasks: n)))
        rows.append(Row(group: "overhead", name: "TaskGroup addTask", tasks: n,
                        seconds: await self.taskGroupBatch(tasks: n)))
        rows.append(Row(group: "latency", name: "ThreadPoolExecutor(1) submit→result round trip",
                        tasks: options.roundTrips, seconds: self.poolRoundTrips(count: options.roundTrips)))
        rows.append(Row(group: "latency", name: "Task { }.value round trip",
                        tasks: options.roundTrips, seconds: await self.taskRoundTrips(count: options.roundTrips)))

        let cost = UInt64(options.spinMicroseconds) * 1_000
        for workers in [1, 2] {
            let ideal = Double(workers) * 1e9 / Double(cost)
            let tasks = Int(ideal * options.cpuSeconds)
            rows.append(Row(group: "cpu-bound", name: "ThreadPoolExecutor(\(workers)) spin \(options.spinMicroseconds)µs",
                            tasks: tasks, seconds: self.poolSpin(workers: workers, tasks: tasks, cost: cost),
                            idealThroughput: ideal))
        }
        let cores = 2
        let ideal = Double(cores) * 1e9 / Double(cost)
        let tasks = Int(ideal * options.cpuSeconds)
        rows.append(Row(group: "cpu-bound", name: "concurrentPerform spin \(options.spinMicroseconds)µs (2 cores)",
                        tasks: tasks, seconds: self.concurrentPerformSpin(tasks: tasks, cost: cost),
                        idealThroughput: ideal))
        rows.append(Row(group: "cpu-bound", name: "TaskGroup spin \(options.spinMicroseconds)µs (2 cores)",
                        tasks: tasks, seconds: await self.taskGroupSpin(tasks: tasks, cost: cost),
                        idealThroughput: ideal))

        if options.json {
            print(Report.json(rows))
        } else {
            print(Report.table(rows))
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

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        let (seconds, attoseconds) = elapsed.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
