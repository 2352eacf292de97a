//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

// A CPU-bound application on Sluice: it registers its own handler, `proof-of-work`, next to the
// built-in ones and gets the whole `sluice` command line (run, dev-broker, produce, demo) from
// SluiceApp. Each message costs real CPU time, which Sluice spreads over its worker threads
// while committing offsets in order as the work completes.
import Sluice
import SluiceCLI
import SluiceDemoHandlers

/// Finds, for each message, a nonce such that SHA-256(SHA-256(payload) ‖ nonce) starts with
/// `difficulty` zero bits: about 2^difficulty hashes per message (of 40 bytes each, whatever the
/// payload's size), all on the calling worker thread.
///
/// A synchronous ``MessageHandler``: Sluice runs it on its own worker threads (`--workers`), so
/// it never occupies Swift's cooperative thread pool.
struct ProofOfWorkHandler: MessageHandler {
    /// The number of leading zero bits the digest must have.
    var difficulty: Int

    func handle(_ message: KafkaMessage, context: HandlerContext) throws {
        _ = Self.solve(message.value, difficulty: difficulty)
    }

    /// The first nonce (counting from 0, appended to the payload's digest as 8 little-endian
    /// bytes) whose digest has `difficulty` leading zero bits, and that digest.
    static func solve(_ payload: [UInt8], difficulty: Int) -> (nonce: UInt64, digest: [UInt8]) {
        let seed = SHA256Handler.digest(payload, rounds: 1)
        var input = seed + [UInt8](repeating: 0, count: 8)
        var nonce: UInt64 = 0
        while true {
            withUnsafeBytes(of: nonce.littleEndian) { bytes in
                input.replaceSubrange(seed.count..., with: bytes)
            }
            let digest = SHA256Handler.digest(input, rounds: 1)
            if leadingZeroBits(digest) >= difficulty { return (nonce, digest) }
            nonce &+= 1
        }
    }

    /// The number of zero bits before the first one bit.
    static func leadingZeroBits(_ digest: [UInt8]) -> Int {
        var bits = 0
        for byte in digest {
            guard byte == 0 else { return bits + byte.leadingZeroBitCount }
            bits += 8
        }
        return bits
    }
}

var handlers = HandlerRegistry.builtIn
handlers.registerDemoHandlers()  // sha256 and score-orders: this example needs swift-crypto anyway
handlers.register(
    "proof-of-work",
    summary: "finds a nonce so that SHA-256(SHA-256(payload)+nonce) has difficulty=N leading zero bits (default 12)"
) { setup in
    let difficulty = try setup.options.int("difficulty", default: 12)
    guard (0...24).contains(difficulty) else {
        throw HandlerOptions.Error(description: "handler option difficulty=\(difficulty) must be between 0 and 24")
    }
    return .sync(ProofOfWorkHandler(difficulty: difficulty))
}
await SluiceApp(handlers: handlers).main()
