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

    @Test func builtInNamesAreSortedAndListed() {
        #expect(HandlerRegistry.builtIn.names == ["flaky", "forward", "noop", "spin"])
        let listing = HandlerRegistry.builtIn.listing
        #expect(listing.split(separator: "\n").count == 4)
        #expect(listing.contains("  spin — busy-spins"))
    }

    @Test func theDemoIsAUsageErrorInAnApplicationWithoutTheDemoHandlers() async {
        // Before any broker starts: exit 64 at once.
        #expect(await SluiceApp(handlers: .builtIn).run(arguments: ["demo", "--count", "10", "--partitions", "1"]) == 64)
    }

    @Test func theSluiceExecutableAddsTheDemoHandlers() {
        #expect(Self.sluiceExecutable.names == ["flaky", "forward", "noop", "score-orders", "sha256", "spin"])
        #expect(Self.sluiceExecutable.listing.contains("  score-orders — decodes JSON order events"))
    }

    @Test func unknownNameListsTheKnownHandlers() {
        #expect(error(making: "nope") == "unknown handler 'nope'; known handlers: flaky, forward, noop, score-orders, sha256, spin")
    }

    @Test(arguments: ["noop", "spin", "sha256", "score-orders", "flaky"])
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
        #expect(registry.names == ["custom", "flaky", "forward", "noop", "spin"])
        #expect(registry.listing.contains("  noop — replaced"))
        _ = try registry.make("custom", setup: HandlerSetup(options: HandlerOptions(["micros": "3"])))
    }
}
