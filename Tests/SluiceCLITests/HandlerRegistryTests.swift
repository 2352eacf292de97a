//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Sluice
import SluiceCLI
import SluiceDemoHandlers
import Testing

struct HandlerRegistryTests {
    /// The `sluice` executable's registry: the built-ins and the demo handlers.
    private static var sluiceExecutable: HandlerRegistry {
        var registry = HandlerRegistry.builtIn
        registry.registerDemoHandlers()
        return registry
    }

    /// The factory's error for `name` with `options`, as text; nil when it made a handler.
    private func error(making name: String, options: [String: String] = [:], outputTopic: String? = nil) -> String? {
        do {
            _ = try Self.sluiceExecutable.make(name, setup: HandlerSetup(options: HandlerOptions(options), outputTopic: outputTopic))
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func theBatchBuiltInsAreBatchHandlers() throws {
        let spin = try HandlerRegistry.builtIn.make("spin-batch", setup: HandlerSetup())
        #expect(spin.handlesBatches && spin.isSynchronous)
        let forward = try HandlerRegistry.builtIn.make("forward-batch", setup: HandlerSetup(outputTopic: "out"))
        #expect(forward.handlesBatches && !forward.isSynchronous)
        #expect(try !HandlerRegistry.builtIn.make("spin", setup: HandlerSetup()).handlesBatches)
    }

    @Test func builtInNamesAreSortedAndListed() {
        #expect(HandlerRegistry.builtIn.names == ["flaky", "forward", "forward-batch", "noop", "spin", "spin-batch"])
        let listing = HandlerRegistry.builtIn.listing
        #expect(listing.split(separator: "\n").count == 6)
        #expect(listing.contains("  spin — busy-spins"))
    }

    @Test func theDemoIsAUsageErrorInAnApplicationWithoutTheDemoHandlers() async {
        // Before any broker starts: exit 64 at once.
        #expect(await SluiceApp(handlers: .builtIn).run(arguments: ["demo", "--count", "10", "--partitions", "1"]) == 64)
    }

    @Test func theSluiceExecutableAddsTheDemoHandlers() {
        #expect(Self.sluiceExecutable.names == ["flaky", "forward", "forward-batch", "noop", "score-orders", "sha256", "spin", "spin-batch"])
        #expect(Self.sluiceExecutable.listing.contains("  score-orders — decodes JSON order events"))
    }

    @Test func unknownNameListsTheKnownHandlers() {
        #expect(error(making: "nope") == "unknown handler 'nope'; known handlers: flaky, forward, forward-batch, noop, score-orders, sha256, spin, spin-batch")
    }

    @Test(arguments: ["noop", "spin", "sha256", "score-orders", "flaky", "spin-batch"])
    func builtInsMakeWithDefaultOptions(name: String) {
        #expect(error(making: name) == nil)
    }

    @Test(arguments: [
        ("spin", ["micros": "fast"], "handler option micros=fast: 'fast' is not an integer"),
        ("spin", ["micros": "-5"], "handler option micros=-5 must not be negative"),
        ("sha256", ["rounds": "0"], "handler option rounds=0 must be at least 1"),
        ("score-orders", ["rounds": "x"], "handler option rounds=x: 'x' is not an integer"),
        ("forward", [:], "handler 'forward' needs --output-topic"),
        ("flaky", ["fail-every": "-1"], "handler option fail-every=-1 must not be negative"),
        ("flaky", ["hang-every": "-3"], "handler option hang-every=-3 must not be negative"),
        ("spin-batch", ["call-micros": "-1"], "handler option call-micros=-1 must not be negative"),
        ("spin-batch", ["trap-on": "soon"], "handler option trap-on=soon: 'soon' is not an integer"),
        ("forward-batch", [:], "handler 'forward-batch' needs --output-topic"),
    ])
    func factoriesRejectBadOptionsNamingThem(name: String, options: [String: String], message: String) {
        #expect(error(making: name, options: options) == message)
    }

    @Test func registeringReplacesAndAddsHandlers() throws {
        var registry = HandlerRegistry.builtIn
        registry.register("noop", summary: "replaced") { _ in .sync(SpinHandler(micros: 1)) }
        registry.register("custom", summary: "mine") { setup in
            .sync(SpinHandler(micros: try setup.options.int("micros", default: 1)))
        }
        #expect(registry.names == ["custom", "flaky", "forward", "forward-batch", "noop", "spin", "spin-batch"])
        #expect(registry.listing.contains("  noop — replaced"))
        _ = try registry.make("custom", setup: HandlerSetup(options: HandlerOptions(["micros": "3"])))
    }
}
