//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

extension KafkaConfiguration {
    /// The librdkafka properties whose values are secrets: those librdkafka marks sensitive
    /// (`_RK_SENSITIVE` in `rdkafka_conf.c`, in 2.0.2 and later releases), plus
    /// `sasl.oauthbearer.client.secret`, which it does not mark.
    ///
    /// `sasl.password`, `sasl.oauthbearer.config`, `sasl.oauthbearer.client.secret`,
    /// `ssl.key.password`, `ssl.key.pem`, `ssl.key.location`, `ssl.keystore.password` and
    /// `ssl.ca.pem`. librdkafka offers no API to ask, so the list is kept here; any other property
    /// whose name contains `password` or `secret` counts too (``isSensitive(_:)``).
    ///
    /// ```swift
    /// #expect(KafkaConfiguration.sensitiveProperties.contains("sasl.password"))
    /// ```
    public static let sensitiveProperties: Set<String> = [
        "sasl.password", "sasl.oauthbearer.config", "sasl.oauthbearer.client.secret", "ssl.key.password",
        "ssl.key.pem", "ssl.key.location", "ssl.keystore.password", "ssl.ca.pem",
    ]

    /// Whether the value of librdkafka property `name` is a secret, never to be shown: one of
    /// ``sensitiveProperties``, or a name containing `password` or `secret` (so that properties of
    /// later librdkafka releases are covered).
    ///
    /// ```swift
    /// let shown = KafkaConfiguration.isSensitive(key) ? SecretRedactor.mask : value
    /// ```
    public static func isSensitive(_ name: String) -> Bool {
        let lowercased = name.lowercased()
        return self.sensitiveProperties.contains(lowercased) || lowercased.contains("password")
            || lowercased.contains("secret")
    }

    /// `properties` with the value of every sensitive property replaced by `***`, for showing.
    ///
    /// ```swift
    /// logger.info("kafka properties: \(KafkaConfiguration.redacted(properties))")
    /// ```
    public static func redacted(_ properties: [String: String]) -> [String: String] {
        properties.reduce(into: [:]) { result, property in
            result[property.key] = self.isSensitive(property.key) ? SecretRedactor.mask : property.value
        }
    }

    /// The pass-through ``properties`` as they may be shown: sensitive values replaced by `***`.
    ///
    /// ```swift
    /// print(config.redactedProperties)    // ["sasl.password": "***", "acks": "all"]
    /// ```
    public var redactedProperties: [String: String] {
        Self.redacted(self.properties)
    }
}

extension KafkaConfiguration: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The configuration with sensitive property values shown as `***`, so that printing it, or a
    /// structure that holds it, shows no secret.
    public var description: String {
        let properties = self.redactedProperties.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        return
            "KafkaConfiguration(bootstrapServers: \(self.bootstrapServers), clientID: \(self.clientID), properties: [\(properties.joined(separator: ", "))])"
    }

    /// Same as ``description``.
    public var debugDescription: String { self.description }

    /// Children with sensitive property values shown as `***`, for `dump(_:)` and debuggers.
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "bootstrapServers": self.bootstrapServers, "clientID": self.clientID,
                "properties": self.redactedProperties,
            ],
            displayStyle: .struct)
    }
}
