//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Sluice
import SluiceCLI
import Testing

struct ArgumentTypesTests {
    @Test(arguments: [
        ("1048576", 1_048_576), ("512KiB", 512 << 10), ("64MiB", 64 << 20), ("1GiB", 1 << 30), ("10MB", 10_000_000),
        ("4k", 4_096), ("4kb", 4_000), ("7b", 7), (" 2 m ", 2 << 20), ("0", 0),
    ])
    func byteSizeParsesUnits(text: String, bytes: Int) {
        #expect(ByteSize(argument: text)?.bytes == bytes)
    }

    @Test(arguments: ["", "12XB", "MiB", "-1", "1.5MiB", "1 2", "99999999999999999999", "9223372036854775807GiB"])
    func byteSizeRejectsMalformedText(text: String) {
        #expect(ByteSize(argument: text) == nil)
    }

    @Test func byteSizeDescribesItselfInTheLargestExactBinaryUnit() {
        #expect(ByteSize(bytes: 64 << 20).description == "64MiB")
        #expect(ByteSize(bytes: 3 << 30).description == "3GiB")
        #expect(ByteSize(bytes: 1_536).description == "1536")
        #expect(ByteSize(bytes: 2_048).description == "2KiB")
    }

    @Test(arguments: [
        ("250ms", Duration.milliseconds(250)), ("2s", .seconds(2)), ("1.5s", .milliseconds(1_500)), ("5m", .seconds(300)),
        ("1h", .seconds(3_600)), ("3", .seconds(3)), ("0", .zero), ("2min", .seconds(120)),
    ])
    func durationParsesUnits(text: String, duration: Duration) {
        #expect(DurationArgument(argument: text)?.duration == duration)
    }

    @Test(arguments: ["", "soon", "5d", "-1s", "ms", "1.2.3s"])
    func durationRejectsMalformedText(text: String) {
        #expect(DurationArgument(argument: text) == nil)
    }

    @Test func durationDescribesItselfInSecondsOrMilliseconds() {
        #expect(DurationArgument(.seconds(30)).description == "30s")
        #expect(DurationArgument(.milliseconds(250)).description == "250ms")
        #expect(DurationArgument(.milliseconds(1_500)).description == "1500ms")
    }

    @Test func orderingAndFailurePolicyParseTheirNames() {
        #expect(OrderingMode(argument: "key") == .key)
        #expect(OrderingMode(argument: "partition") == .partition)
        #expect(OrderingMode(argument: "unordered") == .unordered)
        #expect(OrderingMode(argument: "sideways") == nil)
        #expect(FailurePolicy(argument: "skip") == .skip)
        #expect(FailurePolicy(argument: "stop") == .stop)
        #expect(FailurePolicy(argument: "retry") == nil)
    }
}
