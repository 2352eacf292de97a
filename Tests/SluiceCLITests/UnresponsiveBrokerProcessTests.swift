//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Sluice
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension ProcessTests {
    /// `sluice run` stopped while its broker does not answer (the `dev-broker` process is frozen
    /// with SIGSTOP: connections stay open, nothing comes back), as an operator would stop it.
    @Suite struct UnresponsiveBroker {
        /// A second SIGTERM exits within 5 s; a first one alone within the drain (at most 2 s here)
        /// plus the commit-and-close budget (10 s).
        @Test(arguments: [true, false])
        func aStopWithAFrozenBrokerEndsWithinItsBudget(secondSignal: Bool) async throws {
            let group = "g-\(UUID().uuidString.prefix(8))"
            try await DevBroker.with(topic: "frozen", partitions: 1) { broker in
                try await broker.produce(topic: "frozen", count: 100)
                let run = try SluiceProcess(
                    ["run", "--brokers", broker.bootstrapServers, "--group", group, "--topic", "frozen", "--handler", "spin",
                     "--handler-option", "micros=200000", "--workers", "1", "--max-in-flight", "2", "--drain-timeout", "2s",
                     "--status-interval", "0"]
                        + embeddedBrokerConsumerProperties)
                defer { run.terminate() }
                let assigned = try await run.line(onStderr: true, within: .seconds(30)) { $0.contains("partitions assigned") }
                #expect(assigned != nil, "\(run.transcript)")
                try await Task.sleep(for: .seconds(1))

                broker.process.send(SIGSTOP)
                defer { broker.process.send(SIGCONT) }
                let clock = ContinuousClock()
                let stopped = clock.now
                run.send(SIGTERM)
                if secondSignal {
                    try await Task.sleep(for: .milliseconds(500))
                    run.send(SIGTERM)
                }
                let code = try await run.exitCode(within: .seconds(30))
                let took = stopped.duration(to: clock.now)
                broker.process.send(SIGCONT)
                #expect(code == 0, "\(run.transcript)")
                if secondSignal {
                    #expect(took < .seconds(5), "second signal: \(took)\n\(run.transcript)")
                } else {
                    #expect(took < .seconds(15), "drain (2 s) + 10 s for the commit and the close: \(took)\n\(run.transcript)")
                }
            }
        }
    }
}
