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

/// An error from a ``ProcessPoolExecutor`` or a worker process: a job that crashed its worker, ran past its
/// deadline, threw, or whose values could not cross the process boundary.
///
/// Every error carries a sentence that names the job and the cause, e.g.
/// "Worker 4711 crashed with signal SIGILL (illegal instruction, a Swift trap) while running job 'score'".
/// Classify it by ``code``:
///
/// ```swift
/// do {
///     let bytes = try future.result(timeout: .seconds(30))
/// } catch let error as ProcessPoolError where error.code == .workerCrashed {
///     deadLetter(message, reason: error.description)      // a poison pill: do not retry forever
/// } catch let error as ProcessPoolError where error.code == .timedOut {
///     retryLater(message)
/// }
/// ```
///
/// The set of codes can grow, so ``Code`` is a struct: `switch` over it needs a `default` branch.
public struct ProcessPoolError: Error, CustomStringConvertible {
    /// The kind of failure.
    ///
    /// ```swift
    /// metrics.increment("pool.errors", tags: ["code": "\(error.code)"])
    /// ```
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case workerCrashed
            case workerExited
            case timedOut
            case jobNotFound
            case jobFailed
            case encodingFailed
            case decodingFailed
            case spawnFailed
            case shutDown
            case protocolViolation
        }

        private let value: Value

        /// The worker was killed by a signal while running the job: a Swift trap (`SIGILL`/`SIGTRAP`), a bad
        /// memory access (`SIGSEGV`), an abort, or someone's `kill`. See ``ProcessPoolError/signal``, and
        /// ``ProcessPoolError/isExternalStop`` to tell a stop from outside from a crash of the job.
        public static let workerCrashed = Code(value: .workerCrashed)

        /// The worker exited (`exit(_:)`) while running the job, or before it started serving.
        /// See ``ProcessPoolError/exitStatus``.
        public static let workerExited = Code(value: .workerExited)

        /// The job ran past its deadline; its worker was killed with `SIGKILL` and replaced.
        public static let timedOut = Code(value: .timedOut)

        /// The worker has no job of that name; see ``ProcessPoolWorker/serve(jobs:)``.
        public static let jobNotFound = Code(value: .jobNotFound)

        /// The job threw; ``ProcessPoolError/remoteErrorType`` and ``ProcessPoolError/remoteDescription`` say what.
        public static let jobFailed = Code(value: .jobFailed)

        /// A value could not be encoded to cross to the other process.
        public static let encodingFailed = Code(value: .encodingFailed)

        /// Bytes from the other process could not be decoded into the expected type.
        public static let decodingFailed = Code(value: .decodingFailed)

        /// A worker process could not be started, or did not start serving.
        public static let spawnFailed = Code(value: .spawnFailed)

        /// The pool was shut down (with `cancelPending`) while the job was running, and its worker was killed
        /// after the grace period.
        public static let shutDown = Code(value: .shutDown)

        /// A worker sent something that is not a valid frame, or a process is not a pool worker.
        public static let protocolViolation = Code(value: .protocolViolation)

        /// A short, stable name such as `"workerCrashed"`.
        ///
        /// ```swift
        /// logger.error("job failed", metadata: ["code": "\(error.code)"])
        /// ```
        public var description: String {
            switch self.value {
            case .workerCrashed: "workerCrashed"
            case .workerExited: "workerExited"
            case .timedOut: "timedOut"
            case .jobNotFound: "jobNotFound"
            case .jobFailed: "jobFailed"
            case .encodingFailed: "encodingFailed"
            case .decodingFailed: "decodingFailed"
            case .spawnFailed: "spawnFailed"
            case .shutDown: "shutDown"
            case .protocolViolation: "protocolViolation"
            }
        }
    }

    /// What went wrong.
    ///
    /// ```swift
    /// if error.code == .timedOut { … }
    /// ```
    public let code: Code

    /// A sentence naming the job and the cause.
    ///
    /// ```swift
    /// print(error.message)   // "Job 'resize' timed out after 2.0 s; its worker 4711 was killed and replaced"
    /// ```
    public let message: String

    /// The job the error is about, when there is one.
    ///
    /// ```swift
    /// #expect(error.job == "score")
    /// ```
    public let job: String?

    /// The signal that killed the worker, for ``Code/workerCrashed`` (e.g. `SIGILL` = 4).
    ///
    /// ```swift
    /// if error.signal == SIGKILL { print("killed from outside, perhaps by the OOM killer") }
    /// ```
    public let signal: Int32?

    /// The worker's exit status, for ``Code/workerExited``.
    ///
    /// ```swift
    /// #expect(error.exitStatus == 3)
    /// ```
    public let exitStatus: Int32?

    /// The process ID of the worker involved, when there is one.
    ///
    /// ```swift
    /// logger.warning("worker \(error.workerPID ?? 0) died")
    /// ```
    public let workerPID: Int32?

    /// For ``Code/jobFailed``: the type of the error the job threw in the worker, e.g. `"MyApp.ParseError"`.
    ///
    /// ```swift
    /// if error.remoteErrorType == "MyApp.ParseError" { deadLetter() }
    /// ```
    public let remoteErrorType: String?

    /// For ``Code/jobFailed``: the description of the error the job threw in the worker.
    ///
    /// ```swift
    /// print(error.remoteDescription ?? "")
    /// ```
    public let remoteDescription: String?

    /// The error that caused this one in this process (an `EncodingError`, a `DecodingError`), if any.
    ///
    /// ```swift
    /// if let encoding = error.underlying as? EncodingError { … }
    /// ```
    public let underlying: (any Error)?

    /// Creates an error. The pool creates these; use the initialiser to build expected values in tests.
    ///
    /// ```swift
    /// let error = ProcessPoolError(code: .jobNotFound, message: "Job 'x' is not registered")
    /// ```
    public init(
        code: Code,
        message: String,
        job: String? = nil,
        signal: Int32? = nil,
        exitStatus: Int32? = nil,
        workerPID: Int32? = nil,
        remoteErrorType: String? = nil,
        remoteDescription: String? = nil,
        underlying: (any Error)? = nil
    ) {
        self.code = code
        self.message = message
        self.job = job
        self.signal = signal
        self.exitStatus = exitStatus
        self.workerPID = workerPID
        self.remoteErrorType = remoteErrorType
        self.remoteDescription = remoteDescription
        self.underlying = underlying
    }

    /// `ProcessPoolError.<code>: <message>`.
    ///
    /// ```swift
    /// logger.error("\(error)")
    /// ```
    public var description: String {
        "ProcessPoolError.\(self.code): \(self.message)"
    }

    /// Whether the worker was stopped from outside rather than by its job: it was killed by a signal that the
    /// pool did not send and that a crash does not raise.
    ///
    /// `true` only for ``Code/workerCrashed`` with ``signal`` one of ``externalStopSignals``: `SIGHUP`,
    /// `SIGINT`, `SIGQUIT`, `SIGTERM` (what a terminal, `kill`, systemd or Kubernetes send to stop a
    /// process) and `SIGKILL` (`kill -9`, a service manager's final kill, or the kernel's OOM killer).
    /// The pool's own kills never count: a timeout is ``Code/timedOut``, a kill at shutdown
    /// ``Code/shutDown``, a kill for garbage on the wire ``Code/protocolViolation``. Traps and faults
    /// (`SIGILL`, `SIGTRAP`, `SIGSEGV`, `SIGBUS`, `SIGABRT`, `SIGFPE`), a job's own `SIGPIPE`, `SIGALRM`,
    /// `SIGXCPU` or user signals, and exits are the job's doing: `false`.
    ///
    /// Workers ignore `SIGHUP`, `SIGINT` and `SIGTERM` (the pool's process stops them itself), so those
    /// three reach a job only if it restored their default action. `SIGKILL` cannot be told apart from
    /// the OOM killer's: a job that makes its worker run out of memory is reported as stopped from
    /// outside, so a caller that retries such tasks rather than failing them retries it, which is the
    /// safe side (it is never counted as done); bound its memory with
    /// ``ProcessPoolConfiguration/maxMemoryBytes`` to recycle it before the kernel steps in.
    ///
    /// ```swift
    /// catch let error as ProcessPoolError where error.isExternalStop {
    ///     requeue(task)          // not the task's fault: someone is stopping the service
    /// }
    /// ```
    public var isExternalStop: Bool {
        guard self.code == .workerCrashed, let signal = self.signal else { return false }
        return Self.externalStopSignals.contains(signal)
    }

    /// The signals ``isExternalStop`` counts as a stop from outside: `SIGHUP`, `SIGINT`, `SIGQUIT`, `SIGTERM`
    /// and `SIGKILL`.
    ///
    /// ```swift
    /// #expect(ProcessPoolError.externalStopSignals.contains(SIGTERM))
    /// ```
    public static let externalStopSignals: Set<Int32> = [SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGKILL]

    /// The conventional name of `signal`, e.g. `"SIGILL"`, or `"signal 42"` for one without a name here.
    ///
    /// ```swift
    /// ProcessPoolError.signalName(9)    // "SIGKILL"
    /// ```
    public static func signalName(_ signal: Int32) -> String {
        SignalNames.name(of: signal)
    }
}
