//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Settings shared by every Kafka client: where the cluster is, who the client is, and any
/// librdkafka property passed through as is.
///
/// Typed settings cover what most applications change; everything else in librdkafka's
/// `CONFIGURATION.md` goes through ``properties`` (the `-X key=value` of kcat). Properties are
/// applied after the typed settings, so a property given both ways takes the pass-through value.
/// Unknown properties and bad values are rejected with librdkafka's own message when a client is
/// created, or earlier by ``validate()``.
///
/// ```swift
/// var config = KafkaConfiguration(bootstrapServers: ["127.0.0.1:9092"])
/// config.properties["socket.keepalive.enable"] = "true"
/// try config.validate()
/// ```
public struct KafkaConfiguration: Sendable, Hashable {
    /// Initial brokers, as `host:port`. librdkafka property: `bootstrap.servers`. Default: empty (must be set).
    public var bootstrapServers: [String]
    /// Client identifier sent to the brokers. librdkafka property: `client.id`. Default: `"sluice"`.
    public var clientID: String
    /// Any librdkafka property, applied last. Default: empty.
    public var properties: [String: String]

    /// Creates a configuration.
    public init(bootstrapServers: [String] = [], clientID: String = "sluice", properties: [String: String] = [:]) {
        self.bootstrapServers = bootstrapServers
        self.clientID = clientID
        self.properties = properties
    }

    /// The librdkafka properties this configuration stands for (typed settings, then pass-through).
    public var librdkafkaProperties: [String: String] {
        var result: [String: String] = ["client.id": clientID]
        if !bootstrapServers.isEmpty { result["bootstrap.servers"] = bootstrapServers.joined(separator: ",") }
        result.merge(properties) { _, passThrough in passThrough }
        return result
    }

    /// Checks every property against librdkafka without connecting anywhere.
    ///
    /// - Throws: ``KafkaError`` with code ``KafkaError/Code/configuration`` and librdkafka's
    ///   message, e.g. `No such configuration property: "foo.bar"`.
    public func validate() throws {
        _ = try RDKafkaConfig(properties: librdkafkaProperties)
    }
}
