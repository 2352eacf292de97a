//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SluiceCLI
import Testing

struct HandlerOptionsTests {
    @Test func parsesKeyValuePairsAndTypedValues() throws {
        let options = try HandlerOptions(parsing: ["micros=250", "name=abc", "flag=true"])
        #expect(try options.int("micros", default: 100) == 250)
        #expect(try options.int("missing", default: 7) == 7)
        #expect(options.string("name") == "abc")
        #expect(try options.bool("flag", default: false))
    }

    @Test func rejectsMalformedPairsAndValuesWithTheirNames() {
        #expect(throws: HandlerOptions.Error.self) { try HandlerOptions(parsing: ["novalue"]) }
        let options = try? HandlerOptions(parsing: ["micros=fast"])
        do {
            _ = try options?.int("micros", default: 1)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("micros"))
            #expect("\(error)".contains("fast"))
        }
    }

    @Test(arguments: [
        ("api-key", true), ("API_KEY", true), ("apikey", true), ("signing-key", true), ("password", true),
        ("db-passwd", true), ("client_secret", true), ("auth-token", true), ("credentials", true),
        ("micros", false), ("fail-every", false), ("keys", false), ("keyword", false),
    ])
    func secretOptionsAreRecognisedByName(key: String, isSecret: Bool) {
        #expect(HandlerOptions.isSecret(key) == isSecret)
    }

    @Test func secretValuesAreNeverShown() throws {
        let options = try HandlerOptions(parsing: ["api-key=S3cr3t", "micros=5", "token=notanumber"])
        #expect(options.secretValues.sorted() == ["S3cr3t", "notanumber"])
        var dumped = ""
        dump(options, to: &dumped)
        for text in ["\(options)", String(reflecting: options), dumped] {
            #expect(!text.contains("S3cr3t") && !text.contains("notanumber"), "\(text)")
        }
        #expect("\(options)" == "[api-key=***, micros=5, token=***]")
        do {
            _ = try options.int("token", default: 0)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)" == "handler option token=***: '***' is not an integer")
        }
        let setup = HandlerSetup(options: options, kafkaProperties: ["sasl.password": "K4fk4", "acks": "all"])
        #expect(!"\(setup)".contains("S3cr3t") && !"\(setup)".contains("K4fk4") && "\(setup)".contains("acks=all"), "\(setup)")
    }

    /// A `;` in a secret cuts it when the list is split: the rest must not be echoed.
    @Test func aMalformedItemAfterASecretIsNotShown() {
        do {
            _ = try HandlerOptions(parsing: ["api-key=S3cr3t", "T41l"])
            Issue.record("expected an error")
        } catch {
            let message = "\(error)"
            #expect(!message.contains("T41l") && !message.contains("S3cr3t"), "\(message)")
            #expect(message.contains("the item after api-key"), "\(message)")
            #expect(message.contains("SLUICE_HANDLER_OPTION_API_KEY"), "\(message)")
        }
        #expect(throws: HandlerOptions.Error.self) { try HandlerOptions(parsing: ["micros=5", "T41l"]) }
    }
}
