//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Sluice
import SluiceCLI
import Testing

/// Bad command lines end with a message naming what is wrong, and exit 64 (EX_USAGE).
extension ProcessTests {
    @Suite struct UsageErrors {
        /// Arguments of `sluice run` that reach no broker (port 1 refuses at once).
        static let run = ["run", "--brokers", "127.0.0.1:1", "--topic", "t"]

        @Test func unknownHandlerListsTheKnownOnes() async throws {
            let (code, process) = try await SluiceProcess.run(Self.run + ["--handler", "nope"])
            #expect(code == 64)
            let message = process.stderr.joined(separator: "\n")
            #expect(message.contains("unknown handler 'nope'"), "\(process.transcript)")
            #expect(message.contains("noop, score-orders, sha256, spin"), "\(process.transcript)")
        }

        @Test(arguments: [
            (["--max-in-flight-bytes", "12XB"], "--max-in-flight-bytes", "12XB"),
            (["--max-in-flight", "abc"], "--max-in-flight", "abc"),
            (["--ordering", "sideways"], "--ordering", "sideways"),
            (["--commit-interval", "soon"], "--commit-interval", "soon"),
            (["--handler-option", "micros"], "handler option", "micros"),
            (["--commit-metadata", "maybe"], "--commit-metadata", "maybe"),
            (["--max-uncommitted-span", "lots"], "--max-uncommitted-span", "lots"),
            (["--stuck-warning", "later"], "--stuck-warning", "later"),
            (["--max-batch-size", "lots"], "--max-batch-size", "lots"),
            (["--max-batch-bytes", "12XB"], "--max-batch-bytes", "12XB"),
            (["--max-batch-delay", "soon"], "--max-batch-delay", "soon"),
        ])
        func malformedValueNamesTheFlagAndTheValue(arguments: [String], flag: String, value: String) async throws {
            let (code, process) = try await SluiceProcess.run(Self.run + ["--handler", "spin"] + arguments)
            #expect(code == 64, "\(process.transcript)")
            let message = process.stderr.joined(separator: "\n")
            #expect(message.contains(flag), "\(process.transcript)")
            #expect(message.contains("'\(value)'"), "\(process.transcript)")
        }

        @Test func aSpanBelowOneIsRefusedByName() async throws {
            let (code, process) = try await SluiceProcess.run(Self.run + ["--handler", "spin", "--max-uncommitted-span", "0"])
            #expect(code == 64, "\(process.transcript)")
            #expect(process.stderr.joined(separator: "\n").contains("--max-uncommitted-span must be at least 1, got 0"), "\(process.transcript)")
        }

        @Test func aBatchSizeBelowOneIsRefusedByName() async throws {
            let (code, process) = try await SluiceProcess.run(Self.run + ["--handler", "spin-batch", "--max-batch-size", "0"])
            #expect(code == 64, "\(process.transcript)")
            #expect(process.stderr.joined(separator: "\n").contains("--max-batch-size must be at least 1, got 0"), "\(process.transcript)")
        }

        /// Arguments of `sluice run` with routes that reach no broker.
        static let routed = ["run", "--brokers", "127.0.0.1:1"]

        @Test(arguments: [
            (["--route", "orders=spin,ordering=sideways"],
             "--route 'orders=spin,ordering=sideways': ordering=sideways: 'sideways' is not unordered, key or partition"),
            (["--route", "orders=nope"], "--route 'orders=nope': unknown handler 'nope'; known handlers: flaky, forward, forward-batch,"),
            (["--route", "orders=spin", "--route-option", "orders:micros=fast"],
             "--route 'orders=spin': handler option micros=fast: 'fast' is not an integer"),
            (["--route", "orders=spin", "--topic", "orders"],
             "--route replaces --topic and --handler: give --route for each topic's handler, or --topic with --handler, not both"),
            (["--route", "orders=sha256,max-batch-size=5"],
             "--route 'orders=sha256,max-batch-size=5': max-batch-size=5: handler 'sha256' handles one message at a time, not batches"),
            (["--route", "orders=spin", "--route", "orders=sha256,name=o"],
             "topic 'orders' is in both route 'orders' and route 'o'"),
        ])
        func aBadRouteNamesItselfAndTheBadPart(arguments: [String], message: String) async throws {
            let (code, process) = try await SluiceProcess.run(Self.routed + arguments)
            #expect(code == 64, "\(process.transcript)")
            #expect(process.stderr.joined(separator: "\n").contains(message), "\(process.transcript)")
        }

        @Test func anAsyncBatchHandlerCannotRunInWorkerProcesses() async throws {
            let (code, run) = try await SluiceProcess.run(
                Self.run + ["--handler", "forward-batch", "--output-topic", "o", "--isolation", "process"], within: .seconds(60))
            #expect(code == 64, "\(run.transcript)")
            #expect(run.transcript.contains("handler 'forward-batch' is asynchronous: --isolation process runs synchronous handlers only"), "\(run.transcript)")
        }

        @Test func unknownKafkaPropertyCarriesLibrdkafkasMessage() async throws {
            let (code, process) = try await SluiceProcess.run(Self.run + ["--handler", "noop", "-X", "foo.bar=1"])
            #expect(code == 64)
            let message = process.stderr.joined(separator: "\n")
            #expect(message.contains("No such configuration property: \"foo.bar\""), "\(process.transcript)")
        }

        /// A `;` inside a secret given in a list variable cuts it: the usage error shows neither part,
        /// and names the ways to pass it whole.
        @Test func aSecretCutByASemicolonIsNotEchoed() async throws {
            let process = try SluiceProcess(
                Self.run + ["--handler", "noop"], environment: ["SLUICE_KAFKA_PROPERTY": "sasl.password=S3cr3t;T41l"])
            defer { process.terminate() }
            let code = try await process.exitCode(within: .seconds(30))
            #expect(code == 64, "\(process.transcript)")
            let message = process.stderr.joined(separator: "\n")
            #expect(!message.contains("S3cr3t") && !message.contains("T41l"), "\(message)")
            #expect(message.contains("the item after sasl.password is not of the form key=value"), "\(message)")
            #expect(message.contains(#"'\;'"#) && message.contains("SLUICE_X_SASL_PASSWORD"), "\(message)")
        }

        @Test func badHandlerOptionValueNamesTheOption() async throws {
            let (code, process) = try await SluiceProcess.run(Self.run + ["--handler", "spin", "--handler-option", "micros=fast"])
            #expect(code == 64)
            #expect(process.stderr.joined().contains("handler option micros=fast"), "\(process.transcript)")
        }

        @Test(arguments: [
            ["run", "--brokers", "127.0.0.1:1", "--topic", "t", "--handler", "nope"],
            ["run", "--brokers", "127.0.0.1:1", "--topic", "t", "--handler", "noop", "-X", "foo.bar=1"],
            ["run", "--brokers", "127.0.0.1:1", "--topic", "t", "--handler", "noop", "--ordering", "sideways"],
            ["run", "--brokers", "127.0.0.1:1", "--handler", "noop"],
            ["produce", "--brokers", "127.0.0.1:1", "--topic", "t", "-X", "foo.bar=1"],
            ["frobnicate"],
            ["worker", "--group", "g", "--handler", "noop"],
            ["run", "--brokers", "127.0.0.1:1", "--route", "orders=noop", "--handler", "noop"],
            ["run", "--brokers", "127.0.0.1:1", "--route", "orders=noop,workers=x"],
            ["run", "--brokers", "127.0.0.1:1", "--topic", "t", "--handler", "spin-batch", "--max-batch-delay", "-1s"],
        ])
        func inProcessRunReturnsTheUsageExitCode(arguments: [String]) async {
            let code = await SluiceApp(handlers: .builtIn).run(arguments: arguments)
            #expect(code == 64)
        }

        /// An application's own factory error, not one of SluiceCLI's types.
        struct NoModel: Error {}

        @Test func anApplicationsFactoryErrorsAreUsageErrors() async {
            var handlers = HandlerRegistry()
            handlers.register("strict", summary: "rejects its options") { setup in
                let level = try setup.options.int("level", default: 1)
                guard level <= 3 else { throw HandlerOptions.Error(description: "handler option level=\(level) must be at most 3") }
                throw NoModel()
            }
            let app = SluiceApp(handlers: handlers)
            #expect(await app.run(arguments: Self.run + ["--handler", "strict", "--handler-option", "level=9"]) == 64)
            #expect(await app.run(arguments: Self.run + ["--handler", "strict"]) == 64)
        }

        @Test func anApplicationsOwnHandlersAreTheOnesListed() async throws {
            var handlers = HandlerRegistry()
            handlers.register("mine", summary: "an application's handler") { _ in .sync(NoopHandler()) }
            var message: String?
            do {
                _ = try handlers.make("noop", setup: HandlerSetup())
            } catch {
                message = "\(error)"
            }
            #expect(message == "unknown handler 'noop'; known handlers: mine")
            let code = await SluiceApp(handlers: handlers).run(arguments: Self.run + ["--handler", "spin"])
            #expect(code == 64)
        }
    }
}
