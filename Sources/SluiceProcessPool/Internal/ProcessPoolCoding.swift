//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// How `Codable` values cross the process boundary: JSON, with errors that name the job and the type.
enum ProcessPoolCoding {
    static func encode<Value: Encodable>(_ value: Value, job: String, what: String) throws(ProcessPoolError) -> [UInt8]
    {
        do {
            return Array(try JSONEncoder().encode(value))
        } catch {
            throw ProcessPoolError(
                code: .encodingFailed,
                message:
                    "The \(what) of job '\(job)' (a \(String(reflecting: Value.self))) could not be encoded to cross to the other process: \(error)",
                job: job,
                underlying: error
            )
        }
    }

    static func decode<Value: Decodable>(_: Value.Type, from bytes: [UInt8], job: String, what: String)
        throws(ProcessPoolError) -> Value
    {
        do {
            return try JSONDecoder().decode(Value.self, from: Data(bytes))
        } catch {
            throw ProcessPoolError(
                code: .decodingFailed,
                message:
                    "The \(what) of job '\(job)' (\(bytes.count) bytes) could not be decoded as \(String(reflecting: Value.self)): \(error)",
                job: job,
                underlying: error
            )
        }
    }
}
