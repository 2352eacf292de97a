//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import SluiceProcessPool

/// What kind of failure a handler call's error is, which decides its fate.
enum HandlerFailure: Sendable, Equatable {
    /// The handler threw (or its worker process crashed); another attempt may help.
    case retryable
    /// The handler threw a ``NonRetryableError``: trying the same bytes again cannot help.
    case permanent
    /// The call overran the handler timeout (an attempt like any other).
    case timedOut
    /// The worker processes cannot run any message (job not found, spawn failed, protocol
    /// violation): the consumer stops.
    case workerSetup
    /// The call's worker process was stopped from outside (``ProcessPoolError/isExternalStop``: a
    /// signal the pool did not send, such as `kill -9` of the worker or the OOM killer), or the pool
    /// was shut down under it: not the handler's failure, so it runs again without counting an
    /// attempt (at most ``ConsumerStateMachine/Settings/maxInterruptions`` times in a row), or, while
    /// the consumer stops, stays uncommitted.
    case interrupted

    /// Classifies a handler call's error.
    init(_ error: any Error) {
        switch error {
        case is HandlerTimeoutError:
            self = .timedOut
        case is any NonRetryableError:
            self = .permanent
        case let remote as WorkerHandlerError:
            self = remote.isRetryable ? .retryable : .permanent
        case let pool as ProcessPoolError:
            if [.jobNotFound, .spawnFailed, .protocolViolation, .encodingFailed].contains(pool.code) {
                self = .workerSetup
            } else if pool.isExternalStop || pool.code == .shutDown {
                self = .interrupted
            } else {
                self = .retryable
            }
        default:
            self = .retryable
        }
    }

    /// Whether another attempt may help.
    var isRetryable: Bool { self == .retryable || self == .timedOut }
}
