//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

public import Sluice

extension HandlerRegistry {
    /// The handlers every application gets for free, with no dependency beyond `SluiceCLI`:
    /// `noop`, `spin`, `forward`, `flaky` (fails on purpose), and the batch handlers `spin-batch`
    /// and `forward-batch`.
    ///
    /// The generic `sluice` executable adds `sha256` and `score-orders` (the demo's handler) from
    /// `SluiceDemoHandlers` (``HandlerRegistry/registerDemoHandlers()``), which needs swift-crypto:
    /// an application that does not use them does not build it.
    public static var builtIn: HandlerRegistry {
        var registry = HandlerRegistry()
        registry.register("noop", summary: "does nothing (measures the framework)") { _ in .sync(NoopHandler()) }
        registry.register("spin", summary: "busy-spins micros=N µs of thread CPU time per message (default 100)") { setup in
            let micros = try setup.options.int("micros", default: 100)
            guard micros >= 0 else { throw HandlerOptions.Error(description: "handler option micros=\(micros) must not be negative") }
            return .sync(SpinHandler(micros: micros))
        }
        registry.register("forward", summary: "writes each message, key and headers to --output-topic; done when acknowledged") { setup in
            .async(ForwardHandler(producer: try setup.makeProducer(), topic: try setup.requireOutputTopic(for: "forward")))
        }
        registry.register("flaky", summary: "fails on purpose: fail-every=N fails every N-th message on every attempt, transient=K the first K attempts of each; trap-every=N and hang-every=N trap or hang instead") { setup in
            let values = try ["fail-every", "transient", "trap-every", "hang-every"].map { try setup.options.int($0, default: 0) }
            if let negative = zip(["fail-every", "transient", "trap-every", "hang-every"], values).first(where: { $0.1 < 0 }) {
                throw HandlerOptions.Error(description: "handler option \(negative.0)=\(negative.1) must not be negative")
            }
            return .sync(FlakyHandler(failEvery: values[0], transient: values[1], trapEvery: values[2], hangEvery: values[3]))
        }
        registry.register("spin-batch", summary: "a batch handler: busy-spins call-micros=N µs per call (default 100) plus micros=M µs per message (default 5); fail-every=N, fail-on=ID and trap-on=ID fail or trap on chosen messages") { setup in
            let callMicros = try setup.options.int("call-micros", default: 100)
            let micros = try setup.options.int("micros", default: 5)
            let failEvery = try setup.options.int("fail-every", default: 0)
            for (key, value) in [("call-micros", callMicros), ("micros", micros), ("fail-every", failEvery)] where value < 0 {
                throw HandlerOptions.Error(description: "handler option \(key)=\(value) must not be negative")
            }
            return .batch(SpinBatchHandler(
                callMicros: callMicros, micros: micros, failEvery: failEvery,
                failOn: try setup.options.int("fail-on").map(Int64.init), trapOn: try setup.options.int("trap-on").map(Int64.init)))
        }
        registry.register("forward-batch", summary: "a batch handler: writes each batch to --output-topic in order; a message the broker refuses fails alone") { setup in
            .asyncBatch(ForwardBatchHandler(producer: try setup.makeProducer(), topic: try setup.requireOutputTopic(for: "forward-batch")))
        }
        return registry
    }
}

/// Does nothing: measures the framework's own cost.
public struct NoopHandler: MessageHandler {
    /// Creates the handler.
    public init() {}
    /// Returns at once.
    public func handle(_ message: KafkaMessage, context: HandlerContext) throws {}
}
