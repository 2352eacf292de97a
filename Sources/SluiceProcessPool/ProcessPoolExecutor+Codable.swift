//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

public import SluiceFutures

extension ProcessPoolExecutor {
    /// Sends a `Codable` value to a worker and decodes the job's output as `Output`; both cross as JSON.
    ///
    /// The worker side registers the job with ``ProcessPoolWorker/codableJob(_:)``. An input that cannot be
    /// encoded (a `Double.nan` in JSON, an `encode(to:)` that throws) fails the returned future at once with
    /// ``ProcessPoolError/Code/encodingFailed``; an output that cannot be decoded fails it with
    /// ``ProcessPoolError/Code/decodingFailed``. Nothing is sent in the first case.
    ///
    /// ```swift
    /// struct Order: Codable, Sendable { var id: Int; var total: Double }
    /// let score = try await pool.submit(job: "score", input: order, returning: Double.self).value
    /// ```
    ///
    /// - Parameters:
    ///   - job: the name the worker registered the job under.
    ///   - input: the job's input.
    ///   - returning: the type of the job's output.
    ///   - timeout: how long the job may run once started; `nil` for ``ProcessPoolConfiguration/defaultTimeout``.
    /// - Returns: a future for the decoded output.
    public func submit<Input: Encodable & Sendable, Output: Decodable & Sendable>(
        job: String,
        input: Input,
        returning: Output.Type = Output.self,
        timeout: Duration? = nil
    ) -> Future<Output> {
        let payload: [UInt8]
        do {
            payload = try ProcessPoolCoding.encode(input, job: job, what: "input")
        } catch {
            return .failed(error)
        }
        let promise = Promise<Output>()
        let accepted = self.enqueue(job: job, payload: payload, timeout: timeout, promise: promise) { result in
            // Runs on the supervisor thread: decoding is the caller's share of the serialization cost.
            promise.complete(
                with: result.flatMap { bytes in
                    Result { () throws(ProcessPoolError) -> Output in
                        try ProcessPoolCoding.decode(Output.self, from: bytes, job: job, what: "output")
                    }.mapError { $0 as any Error }
                })
        }
        return accepted ? promise.future : .failed(FutureError.executorShutdown)
    }

    /// Runs a `Codable` job in a worker and suspends until it completes.
    ///
    /// ```swift
    /// let score: Double = try await pool.run(job: "score", input: order)
    /// ```
    ///
    /// - Throws: a ``ProcessPoolError``, ``SluiceFutures/FutureError/executorShutdown`` or `CancellationError`.
    public func run<Input: Encodable & Sendable, Output: Decodable & Sendable>(
        job: String,
        input: Input,
        returning: Output.Type = Output.self,
        timeout: Duration? = nil
    ) async throws -> Output {
        try await self.submit(job: job, input: input, returning: returning, timeout: timeout)
            .value(cancellingOnTaskCancellation: true)
    }
}
