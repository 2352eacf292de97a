//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import Foundation

/// What a worker process of `sluice run --isolation process` needs to build its handler, and
/// nothing more: the handler's name, its options, `--output-topic` and the log level; with
/// `--route`s, the same for each route whose handler is synchronous, and the job name it is served
/// under. No broker address and no Kafka property (credentials included) reaches a worker.
///
/// It travels in the worker's environment (``environmentVariable``, as JSON), which only the
/// worker's user and root can read, never on its command line, which any local user can read
/// (`/proc/PID/cmdline`, `ps`): handler options can be secrets too. The worker removes the
/// variable before it builds the handler, so processes a handler starts do not inherit it.
struct WorkerSetup: Codable, Equatable {
    /// The private variable the consumer sets in its workers' environment.
    static let environmentVariable = "SLUICE_WORKER_SETUP"

    /// The registered handler's name.
    var handler: String
    /// The `--handler-option` values, by key.
    var options: [String: String]
    /// `--output-topic`.
    var outputTopic: String?
    /// `--log-level`.
    var logLevel: String
    /// With `--route`s: the routes the workers serve, each under its own job; `nil` for a single
    /// `--handler`.
    var routes: [Route]?

    /// One route's handler in the workers.
    struct Route: Codable, Equatable {
        /// The route's name.
        var name: String
        /// The job it is served under (``RouteBuilder/job(forRoute:)``).
        var job: String
        /// The registered handler's name.
        var handler: String
        /// Its handler options: the `--handler-option`s with the route's `--route-option`s over them.
        var options: [String: String]
        /// Its output topic: the route's `output-topic=`, or `--output-topic`.
        var outputTopic: String?
    }

    /// A setup for one handler.
    init(handler: String, options: [String: String], outputTopic: String?, logLevel: String, routes: [Route]? = nil) {
        self.handler = handler
        self.options = options
        self.outputTopic = outputTopic
        self.logLevel = logLevel
        self.routes = routes
    }

    /// The setup as the variable's value.
    func encoded() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// Reads the setup from this process's environment and removes the variable from it.
    /// - Throws: ``CommandFailure`` when the variable is missing or malformed: the process was not
    ///   started by `sluice run --isolation process` of the same build.
    static func takeFromEnvironment() throws -> WorkerSetup {
        guard let value = getenv(environmentVariable).map({ String(cString: $0) }) else {
            throw CommandFailure.usage(
                "a worker process needs \(environmentVariable), which sluice run --isolation process sets; it is not started by hand")
        }
        unsetenv(environmentVariable)
        do {
            return try JSONDecoder().decode(WorkerSetup.self, from: Data(value.utf8))
        } catch {
            throw CommandFailure.usage(
                "\(environmentVariable) is not a worker setup of this build (\(type(of: error))); was the worker started by another version of sluice?")
        }
    }
}
