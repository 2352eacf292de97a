//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// One measurement of `sluice bench`: what consumes, with which handler, from which topic, and
/// until how many messages are handled. Each runs in a process of its own (so that its CPU time
/// and peak memory are its own, not the embedded broker's) against the one broker of the run.
struct BenchScenario: Codable, Sendable, Hashable {
    /// What consumes.
    enum Kind: String, Codable, Sendable {
        /// A bare librdkafka poll loop that drops each message without copying it: the ceiling.
        case raw
        /// The same loop copying each message into a `KafkaMessage`, as Sluice does.
        case rawCopy = "raw-copy"
        /// A `SluiceConsumer` with a synchronous handler (no-op, or busy-spin of thread CPU time).
        case sync
        /// A `SluiceConsumer` with a synchronous batch handler that spins a cost per call plus a
        /// cost per message (`spin-batch`).
        case batch
        /// A `SluiceConsumer` with an asynchronous handler that sleeps.
        case async
        /// A `SluiceConsumer` assigned partitions with nothing to consume: its CPU use.
        case idle
    }

    /// Which topic of the run it reads.
    enum Workload: String, Codable, Sendable {
        /// Values of 100 bytes, keys spread over 1,000 keys.
        case small
        /// Values of 1 KiB, same keys.
        case large
        /// An empty topic.
        case empty
        /// Values of 100 bytes over 64 partitions: the engine's per-partition costs.
        case wide
        /// An empty topic that the scenario writes itself at ``BenchScenario/trickleRate``.
        case trickle
        /// No broker: the small workload served from memory (``SyntheticMessageSource``), to
        /// measure the engine alone.
        case synthetic
    }

    /// The name `--scenarios` selects it by, e.g. `spin-100us-2w`.
    var name: String
    var kind: Kind
    var workload: Workload = .small
    /// Messages to handle before the measurement ends (0 for `idle`).
    var messages: Int
    /// Thread CPU time a `sync` handler spins per message, in µs (0: no-op); a `batch` handler
    /// spins it per message of the batch.
    var spinMicros = 0
    /// Thread CPU time spun once per call on top of ``spinMicros``, in µs: a `sync` handler pays
    /// it for every message, a `batch` handler once per batch.
    var callMicros = 0
    /// The batch handler's `maxBatchSize` (`batch` only).
    var batchSize = 0
    /// The scenario whose rate this one's is set against in the same run (a batch handler
    /// against the per-message handler of the same costs).
    var comparedWith: String?
    /// Time an `async` handler sleeps per message, in µs.
    var sleepMicros = 0
    var workers = 2
    /// `unordered`, `key` or `partition`.
    var ordering = "unordered"
    /// The window's message bound (`maxInFlightMessages`).
    var window = 1_000
    /// librdkafka's `fetch.wait.max.ms` (the embedded broker answers an empty fetch only after it).
    var fetchWaitMillis = 10
    /// How long `idle` measures, in seconds.
    var idleSeconds = 0.0
    /// Where a `sync` handler runs: `thread` or `process` (`--isolation process`).
    var isolation = "thread"
    /// Messages per second the scenario writes while it consumes (``Workload/trickle``).
    var trickleRate = 0
    /// Messages the synthetic source delivers from one partition in a row (``Workload/synthetic``).
    var syntheticRun = SyntheticMessageSource.runLength

    /// The best possible rate: `workers / cost` for a spinning handler, `window / sleep` for a
    /// sleeping one; `nil` when only the ceiling bounds it.
    var ideal: Double? {
        switch kind {
        case _ where trickleRate > 0: Double(trickleRate)  // nothing can go faster than the arrivals
        case .sync where spinMicros + callMicros > 0: Double(workers) * 1_000_000 / Double(spinMicros + callMicros)
        // Full batches: one call's cost spread over `batchSize` messages.
        case .batch where batchSize > 0:
            Double(workers) * 1_000_000 * Double(batchSize) / Double(callMicros + spinMicros * batchSize)
        case .async where sleepMicros > 0: Double(window) * 1_000_000 / Double(sleepMicros)
        default: nil
        }
    }

    /// One line saying what runs.
    var summary: String {
        switch kind {
        case .raw: return "librdkafka poll loop, no copy (the ceiling)"
        case .rawCopy: return "librdkafka poll loop, copying each message"
        case .sync, .batch:
            let handler = switch (kind, spinMicros, callMicros) {
            case (.batch, _, _):
                "batch spin \(Self.format(micros: callMicros)) per call + \(Self.format(micros: spinMicros)) per message, batches of \(batchSize)"
            case (_, _, 1...): "spin \(Self.format(micros: callMicros)) per call + \(Self.format(micros: spinMicros)) per message"
            case (_, 0, _): "no-op"
            default: "spin \(Self.format(micros: spinMicros))"
            }
            let size = switch workload {
            case .large: ", 1 KiB values"
            case .wide: ", \(BenchRunner.widePartitions) partitions"
            case .trickle: ", \(trickleRate) msg/s arriving"
            case .synthetic: ", no broker (messages from memory)"
            default: ""
            }
            let unit = isolation == "process" ? (workers == 1 ? "worker process" : "worker processes") : (workers == 1 ? "worker" : "workers")
            return "\(handler), \(workers) \(unit), \(ordering), window \(window)\(size)"
        case .async: return "async sleep \(Self.format(micros: sleepMicros)), \(window) in flight, \(ordering)"
        case .idle: return "idle consumer, fetch.wait.max.ms=\(fetchWaitMillis)"
        }
    }

    /// Whether `--scenarios` token `token` selects this scenario: its name, or a prefix of it
    /// ending at a dash (`spin` selects every `spin-…`, `noop` every ordering of the no-op).
    func isSelected(by token: String) -> Bool {
        name == token || name.hasPrefix(token + "-")
    }

    /// `10 µs`, `1 ms`.
    static func format(micros: Int) -> String {
        micros % 1_000 == 0 ? "\(micros / 1_000) ms" : "\(micros) µs"
    }
}

extension BenchScenario {
    /// Sizes of a run.
    struct Sizes: Sendable {
        /// Messages of the raw and no-op scenarios (and the most any scenario reads).
        var messages: Int
        /// Target duration of the CPU-bound and async scenarios: they read `ideal × seconds` messages.
        var seconds: Double
        /// 1 KiB messages written for the memory scenario.
        var largeMessages: Int
        /// How long the idle scenarios measure.
        var idleSeconds: Double
    }

    /// Every scenario of a full run, in the order they run.
    static func catalogue(_ sizes: Sizes) -> [BenchScenario] {
        func count(ideal: Double) -> Int { max(1, min(sizes.messages, Int(ideal * sizes.seconds))) }
        var all: [BenchScenario] = [
            BenchScenario(name: "raw", kind: .raw, messages: sizes.messages),
            BenchScenario(name: "raw-copy", kind: .rawCopy, messages: sizes.messages),
        ]
        for ordering in ["unordered", "key", "partition"] {
            all.append(BenchScenario(name: "noop-\(ordering)", kind: .sync, messages: sizes.messages, ordering: ordering))
        }
        // The engine's per-partition costs: the same no-op over 64 partitions.
        // 64 partitions keep about 3 MB each (the embedded broker's retention is about 5 MB).
        let wideMessages = min(sizes.messages, BenchRunner.widePartitions * 20_000)
        all.append(BenchScenario(name: "noop-unordered-64p", kind: .sync, workload: .wide, messages: wideMessages))
        // The engine alone: the no-op on messages served from memory, without librdkafka's
        // fetching and parsing and without a broker sharing the cores.
        for ordering in ["unordered", "key", "partition"] {
            all.append(BenchScenario(
                name: "engine-noop-\(ordering)", kind: .sync, workload: .synthetic, messages: sizes.messages, ordering: ordering))
        }
        // Partition order on the engine alone, with each partition's messages in one run of a
        // whole fetch (librdkafka's default `max.partition.fetch.bytes`, 1 MiB, as a real broker
        // answers): a window of 1,000 then holds one or two partitions unless the engine looks
        // past it for others.
        var fetchRuns = BenchScenario(
            name: "engine-spin-100us-2w-partition", kind: .sync, workload: .synthetic, messages: 0, spinMicros: 100,
            ordering: "partition", syntheticRun: SyntheticMessageSource.fetchRunLength)
        fetchRuns.messages = count(ideal: fetchRuns.ideal ?? 0)
        all.append(fetchRuns)
        // What a worker process costs per message: the no-op in 2 worker processes.
        all.append(BenchScenario(name: "noop-process", kind: .sync, messages: max(1, sizes.messages / 5), isolation: "process"))
        for (micros, label) in [(10, "10us"), (100, "100us"), (1_000, "1ms")] {
            for workers in [1, 2] {
                var spin = BenchScenario(
                    name: "spin-\(label)-\(workers)w", kind: .sync, messages: 0, spinMicros: micros, workers: workers)
                spin.messages = count(ideal: spin.ideal ?? 0)
                all.append(spin)
            }
        }
        // The orders that keep lanes (`sluice run` orders by key unless told otherwise).
        for (micros, label) in [(100, "100us"), (10, "10us")] {
            for ordering in ["key", "partition"] {
                var spin = BenchScenario(
                    name: "spin-\(label)-2w-\(ordering)", kind: .sync, messages: 0, spinMicros: micros, ordering: ordering)
                spin.messages = count(ideal: spin.ideal ?? 0)
                all.append(spin)
            }
        }
        var wide = BenchScenario(name: "spin-10us-2w-64p", kind: .sync, workload: .wide, messages: 0, spinMicros: 10)
        wide.messages = min(wideMessages, count(ideal: wide.ideal ?? 0))
        all.append(wide)
        // What batching buys a handler with a fixed cost per call (a round trip to a database):
        // 100 µs per call + 5 µs per message, paid per message (`spin`) or per batch (`spin-batch`).
        var callCost = BenchScenario(name: "spin-call-cost", kind: .sync, messages: 0, spinMicros: 5, callMicros: 100)
        callCost.messages = count(ideal: callCost.ideal ?? 0)
        all.append(callCost)
        for (size, isolation) in [(10, "thread"), (100, "thread"), (100, "process")] {
            var batch = BenchScenario(
                name: "spin-batch-\(size)x\(isolation == "process" ? "-process" : "")", kind: .batch, messages: 0, spinMicros: 5,
                callMicros: 100, batchSize: size, comparedWith: callCost.name, isolation: isolation)
            batch.messages = count(ideal: batch.ideal ?? 0)
            all.append(batch)
        }
        // The same handlers in worker processes (`--isolation process`), next to their thread runs.
        for (micros, label) in [(10, "10us"), (100, "100us"), (1_000, "1ms")] {
            var spin = BenchScenario(
                name: "spin-\(label)-2w-process", kind: .sync, messages: 0, spinMicros: micros, isolation: "process")
            spin.messages = count(ideal: spin.ideal ?? 0)
            all.append(spin)
        }
        // Messages arriving one by one far below capacity: latency, not rate (the ideal is the
        // arrival rate). Twice the CPU-bound scenarios' duration, at least 200 messages.
        let trickleMessages = (max(200, min(sizes.messages, Int(1_000 * sizes.seconds * 2))) + 3) / 4 * 4
        all.append(BenchScenario(
            name: "trickle-1k", kind: .sync, workload: .trickle, messages: trickleMessages, spinMicros: 100, trickleRate: 1_000))
        // The ideal (1,000 in flight / 1 ms = 1M/s) is above the ceiling: read as many as the no-op.
        all.append(BenchScenario(name: "async-sleep-1ms", kind: .async, messages: sizes.messages, sleepMicros: 1_000))
        // Memory: a handler slower than the broker, so that the window and librdkafka's queue fill up.
        var memory = BenchScenario(
            name: "rss-1kb-10k", kind: .sync, workload: .large, messages: 0, spinMicros: 100, window: 10_000)
        memory.messages = min(sizes.largeMessages, count(ideal: memory.ideal ?? 0))
        all.append(memory)
        all.append(BenchScenario(name: "idle", kind: .idle, workload: .empty, messages: 0, fetchWaitMillis: 500, idleSeconds: sizes.idleSeconds))
        all.append(BenchScenario(
            name: "idle-fetch-wait-10ms", kind: .idle, workload: .empty, messages: 0, idleSeconds: sizes.idleSeconds))
        return all
    }
}
