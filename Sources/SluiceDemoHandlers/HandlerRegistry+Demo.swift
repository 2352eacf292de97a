//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

public import SluiceCLI

extension HandlerRegistry {
    /// Registers the demo handlers of the generic `sluice` executable: `sha256` (the SHA-256 of
    /// the payload, `rounds=N` times) and `score-orders` (the handler `sluice demo` runs).
    ///
    /// They live in their own product because they need swift-crypto (BoringSSL): an application
    /// that registers only its own handlers does not compile it.
    ///
    /// ```swift
    /// var handlers = HandlerRegistry.builtIn
    /// handlers.registerDemoHandlers()
    /// await SluiceApp(handlers: handlers).main()
    /// ```
    public mutating func registerDemoHandlers() {
        register("sha256", summary: "SHA-256 of the payload, rounds=N times (default 1)") { setup in
            let rounds = try setup.options.int("rounds", default: 1)
            guard rounds >= 1 else { throw HandlerOptions.Error(description: "handler option rounds=\(rounds) must be at least 1") }
            return .sync(SHA256Handler(rounds: rounds))
        }
        register("score-orders", summary: "decodes JSON order events and scores them (CPU-bound; rounds=N, default 20)") { setup in
            let rounds = try setup.options.int("rounds", default: 20)
            return .sync(OrderScoringHandler(rounds: max(1, rounds)))
        }
    }
}
