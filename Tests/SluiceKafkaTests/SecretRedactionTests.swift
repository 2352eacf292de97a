//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SluiceKafka
import Testing

/// Secret property values never show when a configuration or a redactor is printed, and a
/// redactor masks them in any text.
struct SecretRedactionTests {
    private static let secrets = [
        "sasl.password": "S3cr3t", "ssl.key.password": "K3yP4ss", "ssl.keystore.password": "St0reP4ss",
        "sasl.oauthbearer.client.secret": "Cl13ntS3c", "sasl.oauthbearer.config": "principal=admin T0k3nCfg",
        "ssl.key.pem": "-----BEGIN PRIVATE KEY-----PEMB0DY",
    ]

    @Test(arguments: [
        "sasl.password", "ssl.key.password", "ssl.keystore.password", "sasl.oauthbearer.client.secret",
        "sasl.oauthbearer.config", "ssl.key.pem", "ssl.key.location", "ssl.ca.pem", "SASL.PASSWORD",
        "some.future.password", "https.client.secret",
    ])
    func sensitivePropertiesAreRecognised(name: String) {
        #expect(KafkaConfiguration.isSensitive(name))
    }

    @Test(arguments: ["sasl.username", "sasl.mechanisms", "bootstrap.servers", "ssl.certificate.location", "acks"])
    func ordinaryPropertiesAreNot(name: String) {
        #expect(!KafkaConfiguration.isSensitive(name))
    }

    @Test func printingAConfigurationShowsNoSecret() {
        var consumer = KafkaConsumerConfiguration(bootstrapServers: ["127.0.0.1:9092"], groupID: "g")
        consumer.common.properties = Self.secrets.merging(["acks": "all"]) { $1 }
        var producer = KafkaProducerConfiguration(bootstrapServers: ["127.0.0.1:9092"])
        producer.common.properties = consumer.common.properties
        var dumped = ""
        dump(consumer, to: &dumped)
        let shown = [
            "\(consumer)", String(reflecting: consumer), "\(producer)", "\(consumer.common)", dumped,
            "\([consumer.common])", "\(KafkaConfiguration.redacted(consumer.common.properties))",
        ]
        for text in shown {
            for secret in Self.secrets.values {
                #expect(!text.contains(secret), "\(secret) in \(text)")
            }
            #expect(text.contains("sasl.password") && text.contains("***"), "\(text)")
        }
        #expect("\(consumer.common)".contains("acks=all"), "other properties stay visible")
        #expect(consumer.common.redactedProperties["acks"] == "all")
        #expect(consumer.common.redactedProperties["sasl.password"] == "***")
        #expect(consumer.common.properties["sasl.password"] == "S3cr3t", "the configuration itself is unchanged")
    }

    @Test func aRedactorMasksEveryOccurrenceOfEachSecretLongestFirst() {
        var redactor = SecretRedactor(kafkaProperties: ["sasl.password": "abc", "acks": "all"])
        redactor.insert("abcdef")
        redactor.insert("")
        #expect(redactor.redact("abcdef then abc, all and abc") == "*** then ***, all and ***")
        #expect(redactor.redact("nothing here") == "nothing here")
        #expect(SecretRedactor().isEmpty && SecretRedactor(secrets: [""]).isEmpty)
        var other = SecretRedactor(secrets: ["xyz"])
        other.formUnion(redactor)
        #expect(other.redact("xyz abc") == "*** ***")
        // Its own description holds no secret.
        var dumped = ""
        dump(other, to: &dumped)
        for text in ["\(other)", String(reflecting: other), dumped] {
            #expect(!text.contains("abc") && !text.contains("xyz"), "\(text)")
        }
        #expect("\(other)" == "SecretRedactor(3 secrets)")
    }
}
