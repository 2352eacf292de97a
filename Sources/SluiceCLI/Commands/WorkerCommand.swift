//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import ArgumentParser
internal import Foundation
internal import Logging
internal import Sluice

/// `sluice worker`: a worker process of `sluice run --isolation process`.
///
/// The consumer starts its workers as `sluice worker --group G --handler H`, so that `ps` shows
/// whose workers they are, and hands them the handler's setup in their private environment
/// (``WorkerSetup``). Run by hand it only says so: hidden from `--help`.
struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "A worker process of sluice run --isolation process (started by it, not by hand).",
        shouldDisplay: false)

    @Option(help: "The consumer group of the consumer that started the worker (shown by ps).")
    var group: String?

    @Option(help: "The handler the worker serves (shown by ps).")
    var handler: String?

    @Option(help: "The routes the worker serves, with sluice run --route (shown by ps).")
    var routes: String?

    func run() throws {
        throw CommandFailure.usage("sluice worker is started by sluice run --isolation process, not by hand")
    }

    /// Worker mode: this process was started by the consumer's process pool. Builds the handler
    /// of the setup in its environment (or each route's) and serves messages until the pool
    /// closes the connection.
    static func serve(registry: HandlerRegistry) throws {
        let setup = try WorkerSetup.takeFromEnvironment()
        let secrets = ([setup.options] + (setup.routes ?? []).map(\.options)).flatMap { HandlerOptions($0).secretValues }
        let redactor = SecretRedactor(secrets: secrets)
        let logger = OutputOptions.makeLogger(label: "sluice.worker", level: setup.logLevel, redactor: redactor)
        func make(_ name: String, options: [String: String], outputTopic: String?) throws -> RegisteredHandler {
            var handlerSetup = HandlerSetup(options: HandlerOptions(options), outputTopic: outputTopic, logger: logger)
            handlerSetup.isWorkerProcess = true
            let made: RegisteredHandler
            do {
                made = try registry.make(name, setup: handlerSetup)
            } catch let error as HandlerOptions.Error {
                throw CommandFailure.usage(redactor.redact(error.description))
            } catch {
                // An application's factory may quote the options it was given.
                throw CommandFailure.usage(redactor.redact("handler '\(name)': \(error)"))
            }
            guard made.isSynchronous else {
                throw CommandFailure.usage("handler '\(name)' is asynchronous: --isolation process runs synchronous handlers only")
            }
            return made
        }
        if let routes = setup.routes {
            var jobs: [String: SluiceHandler] = [:]
            for route in routes {
                jobs[route.job] = try make(route.handler, options: route.options, outputTopic: route.outputTopic).sluiceHandler
            }
            try ProcessIsolation.serve(jobs: jobs, logger: logger)
            return
        }
        switch try make(setup.handler, options: setup.options, outputTopic: setup.outputTopic).kind {
        case .sync(let handler): try ProcessIsolation.serve(handler, logger: logger)
        case .batch(let handler): try ProcessIsolation.serve(batchHandler: handler, logger: logger)
        case .async, .asyncBatch: preconditionFailure("make(_:options:outputTopic:) returns synchronous handlers only")
        }
    }
}
