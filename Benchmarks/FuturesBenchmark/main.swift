//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

// sluice-futures-bench: per-task overhead and CPU-bound throughput of SluiceFutures' thread pool.
//
//     swift run --scratch-path .build-futures -c release sluice-futures-bench [--json] [--quick]

await FuturesBenchmark.main(arguments: Array(CommandLine.arguments.dropFirst()))
