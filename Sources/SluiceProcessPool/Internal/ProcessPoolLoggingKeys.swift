//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Log metadata keys of the process pool, in one place.
enum ProcessPoolLoggingKeys {
    static let workerPID = "process-pool.worker.pid"
    static let job = "process-pool.job"
    static let exit = "process-pool.worker.exit"
}
