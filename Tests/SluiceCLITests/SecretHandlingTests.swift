//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Logging
import Sluice
@testable import SluiceCLI
import SluiceProcessPool
import SluiceTestKit
import Synchronization
import Testing

/// What the runner does with secrets, without starting processes: it finds them on its command
/// line, masks them in its logs (librdkafka's included), and gives worker processes none of
/// Kafka's configuration.
struct SecretHandlingTests {
    @Test func theCommandLinesSecretsAreFoundInEveryForm() {
        let redactor = SecretRedactor(commandLine: [
            "run", "-X", "sasl.password=Alpha1", "-Xssl.key.password=Bravo2",
            "--kafka-property=sasl.oauthbearer.config=Charlie3", "--kafka-property", "ssl.keystore.password=Delta4",
            "--handler-option", "api-key=Echo5", "--handler-option=token=Fox6", "--handler-option", "micros=500",
            "-X", "acks=all", "--group", "Alpha1-group",
        ])
        #expect(
            redactor.redact("Alpha1 Bravo2 Charlie3 Delta4 Echo5 Fox6 500 all Alpha1-group")
                == "*** *** *** *** *** *** 500 all ***-group")
    }

    @Test func secretRouteOptionsAreFoundByTheirKeyNotTheirRoute() {
        let redactor = SecretRedactor(commandLine: [
            "run", "--route", "tokens=spin", "--route-option", "tokens:micros=500", "--route-option", "audit.*:api-key=Golf7",
            "--route-option=tokens:password=Hotel8",
        ])
        #expect(redactor.redact("500 Golf7 Hotel8") == "500 *** ***", "a route named tokens does not make its options secret")
    }

    @Test func theLoggerMasksMessagesMetadataAndErrors() {
        let captured = CapturedLogs()
        var logger = Logger(label: "test") { _ in
            RedactingLogHandler(
                wrapping: captured.handler(), redactor: SecretRedactor(secrets: ["S3cr3t"]))
        }
        logger[metadataKey: "handler"] = "key S3cr3t"
        struct Failure: Error, CustomStringConvertible { var description = "rejected S3cr3t" }
        logger.warning(
            "login with S3cr3t failed",
            error: Failure(), metadata: ["nested": ["list": ["S3cr3t", .stringConvertible(42)], "text": "x S3cr3t"]])
        let lines = captured.lines
        #expect(lines.count == 1)
        #expect(!lines.joined().contains("S3cr3t"), "\(lines)")
        #expect(lines.first?.contains("login with *** failed") == true, "\(lines)")
        #expect(lines.first?.contains("rejected ***") == true, "\(lines)")
    }

    /// librdkafka quotes a malformed `sasl.oauthbearer.config` in full in its own log line: the
    /// Kafka layer masks the values of sensitive properties before any logger sees them (a library
    /// user's logger too), and the runner's logger would mask it again.
    @Test func librdkafkasOwnLogLinesAreMasked() throws {
        func logLines(redacting: Bool) throws -> [String] {
            let captured = CapturedLogs()
            let properties = [
                "security.protocol": "sasl_plaintext", "sasl.mechanisms": "OAUTHBEARER",
                "enable.sasl.oauthbearer.unsecure.jwt": "true", "sasl.oauthbearer.config": "bogus0authS3cr3t",
            ]
            let logger = Logger(label: "test") { _ -> any LogHandler in
                let capturing = captured.handler()
                guard redacting else { return capturing }
                return RedactingLogHandler(wrapping: capturing, redactor: SecretRedactor(kafkaProperties: properties))
            }
            var configuration = KafkaConsumerConfiguration(bootstrapServers: ["127.0.0.1:1"], groupID: "g")
            configuration.common.properties = properties
            let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
            defer { try? consumer.close(timeout: .seconds(5)) }
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: .seconds(10))
            while clock.now < deadline, !captured.lines.contains(where: { $0.contains("sasl.oauthbearer.config") }) {
                _ = try? consumer.poll(timeout: .milliseconds(50))
            }
            return captured.lines.filter { $0.contains("sasl.oauthbearer.config") }
        }
        let plain = try logLines(redacting: false)
        #expect(!plain.isEmpty)
        #expect(!plain.joined().contains("bogus0authS3cr3t"), "\(plain)")
        #expect(plain.contains { $0.contains("***") }, "librdkafka quotes the value, masked: \(plain)")
        let masked = try logLines(redacting: true)
        #expect(!masked.isEmpty)
        #expect(!masked.joined().contains("bogus0authS3cr3t"), "\(masked)")
        #expect(masked.contains { $0.contains("beginning at: ***") }, "\(masked)")
    }

    @Test func workersGetTheHandlerSetupPrivatelyAndNothingOfKafka() throws {
        let setup = WorkerSetup(
            handler: "spin", options: ["micros": "5", "api-key": "S3cr3t"], outputTopic: "out", logLevel: "debug")
        let consumerEnvironment = ["SWIFT_BACKTRACE": "enable=yes,interactive=no"]
        let isolation = try IsolationOptions.parsed(from: ["--isolation", "process", "--max-tasks-per-worker", "10"])
        let pool = try isolation.processIsolation(setup: setup, group: "billing", environment: consumerEnvironment).pool
        #expect(pool.arguments == ["worker", "--group", "billing", "--handler", "spin"])
        #expect(pool.withheldEnvironmentPrefixes == ["SLUICE_"])
        #expect(pool.maxTasksPerWorker == 10)
        // The Docker image turns the backtracer on for the consumer; workers have it off.
        #expect(pool.environment["SWIFT_BACKTRACE"] == "enable=no")
        let encoded = try #require(pool.environment[WorkerSetup.environmentVariable])
        #expect(try JSONDecoder().decode(WorkerSetup.self, from: Data(encoded.utf8)) == setup)
        // A worker's answer is an outcome of a few KiB: the pool refuses more.
        #expect(pool.maximumResultBytes <= 32 << 10)

        let withBacktraces = try IsolationOptions.parsed(from: ["--isolation", "process", "--worker-backtraces"])
        let traced = try withBacktraces.processIsolation(setup: setup, group: "g", environment: consumerEnvironment).pool
        #expect(traced.environment["SWIFT_BACKTRACE"] == "enable=yes,interactive=no")
        #expect(throws: (any Error).self) { try IsolationOptions.parsed(from: ["--worker-backtraces"]) }
    }

    @Test func aWorkerTakesItsSetupOutOfItsEnvironment() throws {
        let setup = WorkerSetup(handler: "noop", options: ["token": "S3cr3t;x"], outputTopic: nil, logLevel: "info")
        setenv(WorkerSetup.environmentVariable, try setup.encoded(), 1)
        defer { unsetenv(WorkerSetup.environmentVariable) }
        #expect(try WorkerSetup.takeFromEnvironment() == setup)
        #expect(getenv(WorkerSetup.environmentVariable) == nil, "processes a handler starts do not inherit it")
        #expect(throws: CommandFailure.self) { try WorkerSetup.takeFromEnvironment() }
    }

    /// An application's factory may quote its options in its error: a worker reports it masked.
    @Test func aWorkersFactoryErrorShowsNoSecretOption() throws {
        struct Rejected: Error, CustomStringConvertible { var description: String }
        var registry = HandlerRegistry()
        registry.register("strict", summary: "rejects its key") { setup in
            throw Rejected(description: "key \(setup.options.string("api-key") ?? "") is not valid")
        }
        let setup = WorkerSetup(handler: "strict", options: ["api-key": "S3cr3t"], outputTopic: nil, logLevel: "info")
        setenv(WorkerSetup.environmentVariable, try setup.encoded(), 1)
        defer { unsetenv(WorkerSetup.environmentVariable) }
        do {
            try WorkerCommand.serve(registry: registry)
            Issue.record("expected an error")
        } catch let error as CommandFailure {
            #expect(error.message == "handler 'strict': key *** is not valid")
            #expect(error.exitCode == 64)
        }
    }
}
