//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Testing

@testable import SluiceProcessPool

@Suite struct FrameTests {
    static let frames: [Frame] = [
        .run(id: 1, job: "échø", payload: [0, 1, 2, 255]),
        .run(id: .max, job: "", payload: []),
        .hello(version: Frame.protocolVersion, pid: 4711),
        .success(id: 42, payload: Array(repeating: 7, count: 100_000)),
        .thrown(id: 3, type: "MyApp.ParseError", description: "bad input: \"x\""),
        .notFound(id: 9, description: "Job 'nope' is not registered"),
    ]

    @Test func everyFrameDecodesToWhatWasEncoded() {
        var buffer: [UInt8] = []
        for frame in Self.frames { frame.encode(into: &buffer) }
        var offset = 0
        var decoded: [Frame] = []
        while case .frame(let frame, let next) = Frame.decode(from: buffer, at: offset) {
            decoded.append(frame)
            offset = next
        }
        #expect(decoded == Self.frames)
        #expect(offset == buffer.count)
    }

    @Test func aPartialFrameIsIncompleteAtEveryCut() {
        let bytes = Frame.run(id: 5, job: "spin", payload: [1, 2, 3]).encoded
        for cut in 0..<bytes.count {
            #expect(Frame.decode(from: Array(bytes[0..<cut]), at: 0) == .incomplete, "cut at \(cut)")
        }
    }

    @Test func garbageIsCorruptNotACrash() {
        let unknownKind: [UInt8] = [1, 0, 0, 0, 99]
        let hugeLength: [UInt8] = [255, 255, 255, 255, 1]
        let truncatedName: [UInt8] = [11, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 200, 0]
        for garbage in [unknownKind, hugeLength, truncatedName] {
            let result = Frame.decode(from: garbage, at: 0)
            guard case .corrupt = result else {
                Issue.record("\(garbage) decoded as \(result)")
                continue
            }
        }
    }

    @Test func aFrameLongerThanTheLimitIsCorruptAsSoonAsItsLengthArrives() {
        let header = Frame.success(id: 1, payload: [UInt8](repeating: 0, count: 100)).encoded.prefix(4)
        #expect(Frame.decode(from: Array(header), at: 0, maximumLength: 109) == .incomplete)
        #expect(Frame.decode(from: Array(header), at: 0, maximumLength: 108) == .corrupt("a frame of 109 bytes, more than the 108 allowed"))
    }

    @Test func truncatedTextKeepsWholeCharactersAndSaysHowMuchWasCut() {
        #expect(Frame.truncated("short", toBytes: 10) == "short")
        let cut = Frame.truncated(String(repeating: "ä", count: 50), toBytes: 40)
        #expect(cut.utf8.count <= 40)
        #expect(cut == String(repeating: "ä", count: 9) + " … (100 bytes, cut)")
    }
}
