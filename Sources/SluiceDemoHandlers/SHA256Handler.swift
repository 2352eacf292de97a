//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import Crypto
public import Sluice

/// Real CPU-bound work: the SHA-256 digest of the payload, chained `rounds` times.
public struct SHA256Handler: MessageHandler {
    /// How many times the digest is taken (each round hashes the previous digest and the payload).
    public var rounds: Int

    /// Creates the handler.
    public init(rounds: Int = 1) {
        self.rounds = rounds
    }

    /// Hashes the payload.
    public func handle(_ message: KafkaMessage, context: HandlerContext) throws {
        _ = Self.digest(message.value, rounds: rounds)
    }

    /// The payload's chained digest.
    public static func digest(_ payload: [UInt8], rounds: Int) -> [UInt8] {
        var digest = Array(SHA256.hash(data: payload))
        for _ in 1..<max(rounds, 1) {
            var hasher = SHA256()
            hasher.update(data: digest)
            hasher.update(data: payload)
            digest = Array(hasher.finalize())
        }
        return digest
    }
}
