//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import ArgumentParser
internal import Foundation
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

    /// The command line being run (environment defaults applied), for worker processes to repeat.
    @TaskLocal static var arguments: [String] = []

    /// Parses the process arguments (and `SLUICE_*` environment variables), runs the command,
    /// and exits with its code.
    public func main() async -> Never {
        let arguments = EnvironmentDefaults.apply(
            to: Array(CommandLine.arguments.dropFirst()), environment: ProcessInfo.processInfo.environment)
        if ProcessPoolWorker.isWorkerProcess {
            exit(SluiceApp.$current.withValue(self) { Self.serveAsWorker(arguments) })
        }
        let code = await run(arguments: arguments)
        exit(code)
    }

    /// Runs one command line and returns the exit code (what ``main()`` exits with).
    public func run(arguments: [String]) async -> Int32 {
        await SluiceApp.$current.withValue(self) {
            await SluiceApp.$arguments.withValue(arguments) { await Self.run(arguments) }
        }
    }

    /// A worker process of `sluice run --isolation process`: serves the handler the arguments
    /// name, and returns the exit code.
    private static func serveAsWorker(_ arguments: [String]) -> Int32 {
        do {
            guard let command = try SluiceCommand.parseAsRoot(arguments) as? RunCommand else {
                throw CommandFailure.usage("a worker process runs the arguments of 'sluice run', got \(arguments)")
            }
            try command.serveAsWorker()
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
        do {
            var command = try SluiceCommand.parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            return 0
        } catch let error as CommandFailure {
            FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
            return error.exitCode
        } catch {
            let code = SluiceCommand.exitCode(for: error).rawValue
            let message = SluiceCommand.fullMessage(for: error)
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
            (SLUICE_HANDLER_OPTION, SLUICE_KAFKA_PROPERTY). A flag on the command line wins.

            Exit codes: 0 done or stopped on request; 1 stopped on an error; 64 usage error.
            """,
        subcommands: [RunCommand.self, DevBrokerCommand.self, ProduceCommand.self, DemoCommand.self, BenchCommand.self]
    )
}
