//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import _SluiceTime
internal import ArgumentParser
internal import Foundation
internal import Logging
internal import Sluice

/// `sluice produce`: a load generator.
struct ProduceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "produce",
        abstract: "Write test messages, each with a unique id in the sluice-id header (and in JSON payloads).")

    @Option(help: "Kafka brokers, host:port[,host:port…]. (env: SLUICE_BROKERS)")
    var brokers: String

    @Option(help: "Topic to write to. (env: SLUICE_TOPIC)")
    var topic: String

    @Option(help: "Number of messages. (env: SLUICE_COUNT)")
    var count: Int = 100_000

    @Option(help: "Payload size of raw messages, e.g. 100 or 1KiB. (env: SLUICE_SIZE)")
    var size: ByteSize = ByteSize(bytes: 100)

    @Option(help: "Number of distinct keys; 0 for messages without keys. (env: SLUICE_KEYS)")
    var keys: Int = 1_000

    @Option(help: "Messages per second; 0 for as fast as possible. (env: SLUICE_RATE)")
    var rate: Double = 0

    @Flag(help: "Write JSON order events instead of raw payloads. (env: SLUICE_JSON=1)")
    var json = false

    @Option(name: .customLong("first-id"), help: "Id of the first message (ids are consecutive). (env: SLUICE_FIRST_ID)")
    var firstID: Int = 0

    @OptionGroup var kafka: KafkaPropertyOptions

    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard count >= 0 else { throw ValidationError("--count must not be negative, got \(count)") }
        guard keys >= 0 else { throw ValidationError("--keys must not be negative, got \(keys)") }
        guard rate >= 0 else { throw ValidationError("--rate must not be negative, got \(rate)") }
    }

    func run() async throws {
        let logger = output.makeLogger()
        let config = KafkaProducerConfiguration(
            bootstrapServers: brokers.split(separator: ",").map(String.init), properties: try kafka.parsed())
        let producer: KafkaProducer
        do {
            producer = try KafkaProducer(configuration: config, logger: logger)
        } catch let error as KafkaError {
            throw CommandFailure.usage("invalid Kafka configuration: \(error)")
        }
        let generator = LoadGenerator(
            topic: topic, count: count, size: size.bytes, keys: keys, rate: rate > 0 ? rate : nil, json: json,
            firstID: firstID)
        let report = try await generator.run(producer: producer)
        try producer.close(timeout: .seconds(30))
        let seconds = max(report.elapsed.inSeconds, 0.001)
        print("produced \(report.delivered) messages to \(topic) in \(String(format: "%.2f", seconds)) s (\(StatusFormatter.count(Double(report.delivered) / seconds))/s), ids \(firstID)..<\(firstID + count)")
        if !report.failures.isEmpty {
            throw CommandFailure.runtime("\(count - report.delivered) messages failed, e.g. \(report.failures[0])")
        }
    }
}
