//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import ArgumentParser
internal import Foundation
internal import Sluice
internal import SluiceProcessPool

/// The runner: give it your handlers and it provides the whole `sluice` command line — `run`,
/// `dev-broker`, `produce`, `demo` — with environment-variable configuration, signal handling,
/// progress and exit codes.
///
/// An application is a tiny `main`:
///
/// ```swift
/// import SluiceCLI
///
/// var handlers = HandlerRegistry.builtIn
/// handlers.register("score", summary: "scores orders") { _ in .sync(ScoreHandler()) }
/// await SluiceApp(handlers: handlers).main()
/// ```
///
/// Exit codes: 0 after a requested stop (signal, `--max-messages`) or a finished command; 1 when
/// the consumer stopped on an error (broker unreachable, missing topic, a handler failure under
/// `--on-failure stop`, a fatal Kafka error); 64 for a usage error (unknown flag, malformed
/// value, unknown handler, bad librdkafka property).
public struct SluiceApp: Sendable {
    /// The handlers `--handler` chooses from.
    public let handlers: HandlerRegistry

    /// Creates the runner.
    public init(handlers: HandlerRegistry) {
        self.handlers = handlers
    }

    /// The registry of the running app, for the commands (which ArgumentParser creates).
    @TaskLocal static var current: SluiceApp = SluiceApp(handlers: .builtIn)

    /// The secrets of the command line being run (sensitive `-X` properties, secret handler
    /// options), masked in its logs and messages.
    @TaskLocal static var redactor = SecretRedactor()

    /// Parses the process arguments (and `SLUICE_*` environment variables), runs the command,
    /// and exits with its code.
    ///
    /// In a worker process of `sluice run --isolation process` it serves the handler instead,
    /// built from the setup the consumer put in its environment; its arguments only label it.
    public func main() async -> Never {
        if ProcessPoolWorker.isWorkerProcess {
            exit(Self.serveAsWorker(handlers))
        }
        let arguments = EnvironmentDefaults.apply(
            to: Array(CommandLine.arguments.dropFirst()), environment: ProcessInfo.processInfo.environment)
        let code = await run(arguments: arguments)
        exit(code)
    }

    /// Runs one command line and returns the exit code (what ``main()`` exits with).
    public func run(arguments: [String]) async -> Int32 {
        await SluiceApp.$current.withValue(self) {
            await SluiceApp.$redactor.withValue(SecretRedactor(commandLine: arguments)) { await Self.run(arguments) }
        }
    }

    /// A worker process of `sluice run --isolation process`: serves the handler its setup names,
    /// and returns the exit code.
    private static func serveAsWorker(_ handlers: HandlerRegistry) -> Int32 {
        do {
            try WorkerCommand.serve(registry: handlers)
            return 0
        } catch let error as CommandFailure {
            FileHandle.standardError.write(Data("sluice worker: \(error.message)\n".utf8))
            return error.exitCode
        } catch {
            FileHandle.standardError.write(Data("sluice worker: \(error)\n".utf8))
            return 1
        }
    }

    private static func run(_ arguments: [String]) async -> Int32 {
        // Whatever a command fails with may quote a value it was given: mask the secrets among them.
        let redactor = SluiceApp.redactor
        do {
            var command = try SluiceCommand.parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            return 0
        } catch let error as CommandFailure {
            FileHandle.standardError.write(Data("error: \(redactor.redact(error.message))\n".utf8))
            return error.exitCode
        } catch {
            let code = SluiceCommand.exitCode(for: error).rawValue
            let message = redactor.redact(SluiceCommand.fullMessage(for: error))
            if !message.isEmpty {
                let stream = code == 0 ? FileHandle.standardOutput : FileHandle.standardError
                stream.write(Data((message + "\n").utf8))
            }
            return code
        }
    }
}

/// A command that ends with a message and a specific exit code.
struct CommandFailure: Error {
    var message: String
    var exitCode: Int32

    /// A usage error: bad flag, value, handler or property (EX_USAGE).
    static func usage(_ message: String) -> CommandFailure { CommandFailure(message: message, exitCode: 64) }
    /// A runtime failure.
    static func runtime(_ message: String) -> CommandFailure { CommandFailure(message: message, exitCode: 1) }
}

/// The root command.
struct SluiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluice",
        abstract: "Kafka consumers for CPU-bound work: bounded in-flight handlers, offsets committed as they complete.",
        discussion: """
            Every option can also be set with an environment variable named SLUICE_ and the option's \
            name in capitals (--max-in-flight: SLUICE_MAX_IN_FLIGHT). List options take several \
            values separated by commas (SLUICE_TOPIC) or, for key=value options, semicolons \
            (SLUICE_HANDLER_OPTION, SLUICE_KAFKA_PROPERTY; write \\; for a semicolon inside a value). \
            One variable per key passes a value unchanged: SLUICE_X_SASL_PASSWORD sets -X \
            sasl.password, SLUICE_HANDLER_OPTION_API_KEY sets --handler-option api-key. A flag on the \
            command line wins.

            Secrets (sensitive librdkafka properties such as sasl.password, and handler options named \
            like password, secret, token or *key) are shown as *** in logs and messages, and never \
            reach the worker processes of --isolation process.

            Exit codes: 0 done or stopped on request; 1 stopped on an error; 64 usage error.
            """,
        subcommands: [
            RunCommand.self, DevBrokerCommand.self, ProduceCommand.self, DemoCommand.self, BenchCommand.self,
            WorkerCommand.self,
        ]
    )
}
