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
}
