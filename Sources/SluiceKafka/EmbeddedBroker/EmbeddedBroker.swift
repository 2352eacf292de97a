//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import _SluiceTime
internal import CRdKafka
public import Logging
internal import Synchronization

/// A Kafka cluster inside this process: librdkafka's mock cluster, speaking the real Kafka
/// protocol over TCP on 127.0.0.1. For tests and demos; real deployments use real Kafka.
///
/// It supports topics, produce and fetch, consumer groups and offset commits, and fault
/// injection: brokers down and up, latency, and per-request error codes.
///
/// - Important: Each partition keeps only about 5 MB (or 100k message sets) and silently drops
///   older data. Give test topics enough partitions, or produce while consuming.
///
/// ```swift
/// let broker = try EmbeddedBroker(brokers: 3)
/// try broker.createTopic("orders", partitions: 8)
/// let config = KafkaConsumerConfiguration(bootstrapServers: [broker.bootstrapServers], groupID: "g")
/// try broker.setBrokerDown(2)          // fault injection
/// try broker.injectErrors([.notCoordinator, .notCoordinator], into: .offsetCommit)
/// broker.stop()
/// ```
///
/// `@unchecked Sendable`: the mock cluster's functions are thread-safe (they post to its own
/// thread), and the stopped flag is a `Mutex`.
public final class EmbeddedBroker: @unchecked Sendable {
    private let client: RDKafkaClient
    private let cluster: OpaquePointer
    private let isStopped = Mutex(false)

    /// `host:port,…` of every broker, for `bootstrap.servers`.
    public let bootstrapServers: String
    /// How many brokers the cluster has; their ids are 1 through this number.
    public let brokerCount: Int

    /// Starts a cluster of `brokers` brokers on random loopback ports.
    /// - Throws: ``KafkaError`` when the cluster cannot start.
    public init(brokers: Int = 1, logger: Logger = Logger(label: "sluice.embedded-broker")) throws {
        guard brokers >= 1 else {
            throw KafkaError(code: .invalidArgument, message: "an embedded broker needs at least 1 broker, got \(brokers)")
        }
        // The mock cluster needs a client instance for its bookkeeping; it serves nothing else.
        // That instance never connects, so it has no bootstrap.servers, and librdkafka would
        // tell the user so at notice level ("CONFWARN No `bootstrap.servers` configured"): its
        // log level is warning, so that only the mock brokers' warnings and errors show.
        client = try RDKafkaClient(
            type: RD_KAFKA_PRODUCER, properties: ["client.id": "sluice-embedded-broker", "log_level": "4"],
            context: RDKafkaClientContext(logger: logger))
        guard let cluster = rd_kafka_mock_cluster_new(client.handle, Int32(brokers)) else {
            throw KafkaError(code: .rdKafka, message: "could not start the embedded broker")
        }
        self.cluster = cluster
        self.bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
        self.brokerCount = brokers
    }

    deinit {
        stop()
    }

    private func withCluster<T>(_ body: (OpaquePointer) throws -> T) throws -> T {
        if isStopped.withLock({ $0 }) { throw KafkaError.closed("embedded broker") }
        return try body(cluster)
    }

    private func check(_ error: rd_kafka_resp_err_t, _ action: String) throws {
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.rdKafka(error, action) }
    }

    /// Creates a topic. Creating an existing topic throws.
    public func createTopic(_ name: String, partitions: Int, replicationFactor: Int = 1) throws {
        guard partitions >= 1 else {
            throw KafkaError(code: .invalidArgument, message: "topic \(name) needs at least 1 partition, got \(partitions)")
        }
        try withCluster { cluster in
            try check(rd_kafka_mock_topic_create(cluster, name, Int32(partitions), Int32(replicationFactor)),
                      "creating topic \(name)")
        }
    }

    /// Disconnects a broker (`nil`: all) and refuses new connections, without moving leadership.
    public func setBrokerDown(_ id: Int32? = nil) throws {
        try withCluster { try check(rd_kafka_mock_broker_set_down($0, id ?? -1), "taking broker \(id ?? -1) down") }
    }

    /// Brings a broker (`nil`: all) back up.
    public func setBrokerUp(_ id: Int32? = nil) throws {
        try withCluster { try check(rd_kafka_mock_broker_set_up($0, id ?? -1), "bringing broker \(id ?? -1) up") }
    }

    /// Makes `broker` the leader of a partition (the mock picks leaders at random otherwise).
    /// Clients that already know the old leader are told to refresh their metadata.
    public func setLeader(topic: String, partition: Int32, broker: Int32) throws {
        try withCluster {
            try check(rd_kafka_mock_partition_set_leader($0, topic, partition, broker), "moving the leader of \(topic)[\(partition)]")
        }
    }

    /// Delays every response of a broker (`nil`: all) by `latency`.
    public func setLatency(_ latency: Duration, broker id: Int32? = nil) throws {
        try withCluster {
            try check(rd_kafka_mock_broker_set_rtt($0, id ?? -1, Int32(latency.milliseconds)), "setting latency")
        }
    }

    /// Makes the next requests of type `api` fail, one error each, in order.
    public func injectErrors(_ errors: [KafkaProtocolError], into api: KafkaAPIKey) throws {
        try withCluster { cluster in
            let codes = errors.map { rd_kafka_resp_err_t(rawValue: $0.rawValue) }
            codes.withUnsafeBufferPointer {
                rd_kafka_mock_push_request_errors_array(cluster, api.rawValue, $0.count, $0.baseAddress)
            }
        }
    }

    /// Forgets errors injected for `api` that have not been used yet.
    public func clearInjectedErrors(for api: KafkaAPIKey) throws {
        try withCluster { rd_kafka_mock_clear_request_errors($0, api.rawValue) }
    }

    /// Stops the cluster: its listeners close and clients see the brokers as down. Idempotent.
    public func stop() {
        let wasStopped = isStopped.withLock { stopped in
            defer { stopped = true }
            return stopped
        }
        if !wasStopped { rd_kafka_mock_cluster_destroy(cluster) }
    }
}
