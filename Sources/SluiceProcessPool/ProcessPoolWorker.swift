//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The worker side of a ``ProcessPoolExecutor``: an executable started by a pool serves named jobs.
///
/// The pool starts its workers with ``environmentVariable`` set, work arriving on fd 3 and results leaving
/// on fd 4; standard input, output and error are inherited and free for the jobs to use (print, log).
/// Jobs are looked up by name, so no closure or code crosses the boundary: the executable must register
/// every job it should run, typically the same table in the pool's process and in the workers.
///
/// ```swift
/// @main struct Resizer {
///     static let jobs: [String: ProcessPoolWorker.Job] = [
///         "echo": { $0 },
///         "square": ProcessPoolWorker.codableJob { (n: Int) in n * n },
///     ]
///
///     static func main() throws {
///         if ProcessPoolWorker.isWorkerProcess {
///             try ProcessPoolWorker.serve(jobs: jobs)    // returns when the pool closes the input
///             return
///         }
///         // … the normal program, which may start a ProcessPoolExecutor on its own executable …
///     }
/// }
/// ```
public enum ProcessPoolWorker {
    /// A job: bytes in, bytes out. What it throws crosses back as its type name and description
    /// (``ProcessPoolError/Code/jobFailed``).
    ///
    /// ```swift
    /// let upper: ProcessPoolWorker.Job = { bytes in Array(String(decoding: bytes, as: UTF8.self).uppercased().utf8) }
    /// ```
    public typealias Job = @Sendable ([UInt8]) throws -> [UInt8]

    /// The environment variable a pool sets in its workers: `SLUICE_PROCESS_POOL_WORKER`, whose value is the
    /// pool's process ID. ``serve(jobs:)`` removes it, so that processes the jobs start are not workers.
    ///
    /// ```swift
    /// let isWorker = ProcessInfo.processInfo.environment[ProcessPoolWorker.environmentVariable] != nil
    /// ```
    public static let environmentVariable = "SLUICE_PROCESS_POOL_WORKER"

    /// Whether this process was started by a ``ProcessPoolExecutor`` as a worker and should call
    /// ``serve(jobs:)`` instead of running normally.
    ///
    /// ```swift
    /// if ProcessPoolWorker.isWorkerProcess { try ProcessPoolWorker.serve(jobs: jobs); exit(0) }
    /// ```
    public static var isWorkerProcess: Bool {
        getenv(self.environmentVariable) != nil
    }

    /// Wraps a function of `Codable` values as a ``Job``: the input is decoded from JSON and the output encoded
    /// to JSON, the counterpart of ``ProcessPoolExecutor/submit(job:input:returning:timeout:)``.
    ///
    /// An input that cannot be decoded fails the task with a ``ProcessPoolError/Code/decodingFailed`` error,
    /// reported to the pool as a thrown error.
    ///
    /// ```swift
    /// let jobs: [String: ProcessPoolWorker.Job] = ["score": ProcessPoolWorker.codableJob { (order: Order) in score(order) }]
    /// ```
    public static func codableJob<Input: Decodable & Sendable, Output: Encodable & Sendable>(
        _ body: @escaping @Sendable (Input) throws -> Output
    ) -> Job {
        let signature = "\(Input.self) → \(Output.self)"
        return { bytes in
            let input = try ProcessPoolCoding.decode(Input.self, from: bytes, job: signature, what: "input")
            let output = try body(input)
            return try ProcessPoolCoding.encode(output, job: signature, what: "output")
        }
    }

    /// Serves jobs to the pool that started this process until the pool closes the input, then returns.
    ///
    /// It reads one task at a time, runs the job registered under its name on the calling thread, and writes
    /// back the output, the thrown error (type and description), or "job not found". A job that traps or
    /// hangs is the pool's business: it kills and replaces this process.
    ///
    /// ```swift
    /// if ProcessPoolWorker.isWorkerProcess {
    ///     try ProcessPoolWorker.serve(jobs: ["echo": { $0 }])
    ///     exit(0)
    /// }
    /// ```
    ///
    /// - Parameter jobs: the jobs this worker runs, by name.
    /// - Throws: ``ProcessPoolError/Code/protocolViolation`` if this process was not started by a pool (fds 3
    ///   and 4 are not open) or the pool sent something that is not a frame.
    public static func serve(jobs: [String: Job]) throws(ProcessPoolError) {
        let input = WorkerSpawner.workerInputFD
        let output = WorkerSpawner.workerOutputFD
        guard fcntl(input, F_GETFD) >= 0, fcntl(output, F_GETFD) >= 0 else {
            throw ProcessPoolError(
                code: .protocolViolation,
                message:
                    "ProcessPoolWorker.serve(jobs:) needs fds 3 and 4 from a ProcessPoolExecutor; this process was not started by one"
            )
        }
        // Processes the jobs start must not inherit the pool's sockets: the pool sees this worker's exit as
        // the end of file on fd 4, which a grandchild holding fd 4 would delay.
        _ = fcntl(input, F_SETFD, FD_CLOEXEC)
        _ = fcntl(output, F_SETFD, FD_CLOEXEC)
        // A worker stuck in a hung job must not outlive a pool whose process was killed with SIGKILL. If the
        // pool is already gone, its socket reads end of file below and this returns.
        Posix.dieWithSpawningThread()
        // Nor should processes the jobs start take themselves for workers.
        unsetenv(self.environmentVariable)
        // SIGHUP, SIGINT and SIGTERM sent to every process of a service are meant for the pool's process: it
        // drains and then stops this worker itself (closing its input, SIGKILL after the grace period).
        Posix.ignoreStopSignals()

        let names = jobs.keys.sorted().joined(separator: ", ")
        guard Posix.writeAll(output, Frame.hello(version: Frame.protocolVersion, pid: getpid()).encoded) else { return }

        var buffer: [UInt8] = []
        var scratch = [UInt8](repeating: 0, count: 1 << 16)
        var reply: [UInt8] = []
        while true {
            let count = scratch.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return }  // the pool closed our input (or is gone): done
            buffer.append(contentsOf: scratch[0..<count])
            var offset = 0
            decoding: while true {
                switch Frame.decode(from: buffer, at: offset) {
                case .incomplete:
                    break decoding
                case .corrupt(let what):
                    throw ProcessPoolError(code: .protocolViolation, message: "The pool sent \(what)")
                case .frame(let frame, let next):
                    offset = next
                    guard case .run(let id, let name, let payload) = frame else {
                        throw ProcessPoolError(
                            code: .protocolViolation, message: "The pool sent a frame that is not a task")
                    }
                    reply.removeAll(keepingCapacity: true)
                    self.run(id: id, name: name, payload: payload, jobs: jobs, names: names).encode(into: &reply)
                    guard Posix.writeAll(output, reply) else { return }  // the pool is gone
                }
            }
            buffer.removeFirst(offset)
        }
    }

    private static func run(id: UInt64, name: String, payload: [UInt8], jobs: [String: Job], names: String) -> Frame {
        guard let job = jobs[name] else {
            let description =
                "Job '\(name)' is not registered in worker \(getpid()) (\(ProcessPoolConfiguration.currentExecutablePath)); it serves: \(names.isEmpty ? "no jobs" : names)"
            return .notFound(id: id, description: Frame.truncated(description, toBytes: Frame.maximumErrorDescriptionBytes))
        }
        do {
            return .success(id: id, payload: try job(payload))
        } catch {
            // Cut to fit the pool's bound on replies (ProcessPoolConfiguration.maximumResultBytes plus the overhead).
            return .thrown(
                id: id,
                type: Frame.truncated(String(reflecting: type(of: error)), toBytes: Frame.maximumErrorTypeBytes),
                description: Frame.truncated(String(describing: error), toBytes: Frame.maximumErrorDescriptionBytes)
            )
        }
    }
}
