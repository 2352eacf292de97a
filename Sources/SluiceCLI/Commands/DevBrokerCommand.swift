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
internal import UnixSignals

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// `sluice dev-broker`: keeps an embedded Kafka broker up for other processes on this machine.
struct DevBrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-broker",
        abstract: "Run an embedded Kafka broker (librdkafka's mock cluster) on 127.0.0.1 until SIGINT/SIGTERM.",
        discussion: """
            Prints the bootstrap address (and writes it to --bootstrap-file), so that several \
            `sluice run` processes can form a group on one machine. For development and tests only: \
            each partition keeps about 5 MB and drops older data.
            """)

    @Option(name: .customLong("brokers"), help: "Number of brokers in the cluster.")
    var brokerCount: Int = 1

    @Option(name: .customLong("topic"), help: "Topic to create, NAME or NAME:PARTITIONS (default 8); repeatable. (env: SLUICE_TOPIC)")
    var topics: [String] = []

    @Option(name: .customLong("bootstrap-file"), help: "Write the bootstrap address to this file. (env: SLUICE_BOOTSTRAP_FILE)")
    var bootstrapFile: String?

    @OptionGroup var output: OutputOptions

    /// `NAME[:PARTITIONS]` parsed, with errors naming the value.
    func parsedTopics() throws -> [(name: String, partitions: Int)] {
        try topics.map { spec in
            let parts = spec.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2, !parts[0].isEmpty else {
                throw ValidationError("--topic '\(spec)' must be NAME or NAME:PARTITIONS")
            }
            guard parts.count == 2 else { return (String(parts[0]), 8) }
            guard let partitions = Int(parts[1]), partitions >= 1 else {
                throw ValidationError("--topic '\(spec)': partitions must be a whole number of at least 1")
            }
            return (String(parts[0]), partitions)
        }
    }

    func validate() throws {
        guard brokerCount >= 1 else { throw ValidationError("--brokers must be at least 1, got \(brokerCount)") }
        _ = try parsedTopics()
    }

    func run() async throws {
        let logger = output.makeLogger()
        // Trapped before anyone can learn the address: a SIGTERM sent the moment the address is
        // printed or the file written must stop the broker cleanly (exit 0, file removed), not
        // kill it with the default action (it did, once in CI: exit -15, file left behind).
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        let broker = try EmbeddedBroker(brokers: brokerCount, logger: logger)
        for topic in try parsedTopics() {
            try broker.createTopic(topic.name, partitions: topic.partitions)
        }
        if let bootstrapFile {
            // Write then rename, so a reader never sees half an address.
            let temporary = bootstrapFile + ".tmp"
            try Data((broker.bootstrapServers + "\n").utf8).write(to: URL(fileURLWithPath: temporary))
            // rename(2), not FileManager.replaceItemAt: the latter fails on Linux when the file does not exist yet.
            guard rename(temporary, bootstrapFile) == 0 else {
                let reason = String(cString: strerror(errno))
                try? FileManager.default.removeItem(atPath: temporary)
                throw CommandFailure.runtime("cannot write --bootstrap-file \(bootstrapFile): \(reason)")
            }
        }
        print("bootstrap: \(broker.bootstrapServers)")
        for topic in try parsedTopics() { print("topic: \(topic.name) (\(topic.partitions) partitions)") }
        fflush(nil)  // flushes stdout too, so a parent reading the pipe sees the address now
        logger.info("embedded broker up; stop with SIGINT or SIGTERM")
        for await signal in signals {
            logger.info("received \(signal): stopping the embedded broker")
            break
        }
        broker.stop()
        if let bootstrapFile { try? FileManager.default.removeItem(atPath: bootstrapFile) }
    }
}
