//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Testing

/// `tmux`, found on the PATH; `nil` when it is not installed (scripts/test.sh installs it).
private let tmuxExecutable: URL? = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
    .map { URL(fileURLWithPath: String($0)).appendingPathComponent("tmux") }
    .first(where: { FileManager.default.isExecutableFile(atPath: $0.path) })

extension ProcessTests {
    /// `sluice demo` in a real terminal (a 140-column tmux pane), read back with `capture-pane`:
    /// what a newcomer sees.
    @Suite(.enabled(if: tmuxExecutable != nil, "tmux is not installed (apt-get install tmux; scripts/test.sh installs it)"))
    struct TerminalProcessTests {
        @Test func theDemoShowsItsStepsAProgressBarAndTheSummaryWithLogLinesAboveTheStatus() async throws {
            let socket = "sluice-test-\(UUID().uuidString.prefix(8))"
            let command = "\(SluiceProcess.executable.path) demo --count 60000 --partitions 4 --workers 2 "
                + "--status-interval 100ms; echo DEMO-EXIT=$?; sleep 120"
            try Self.tmux(socket, ["new-session", "-d", "-x", "140", "-y", "50", command])
            defer { _ = try? Self.tmux(socket, ["kill-server"]) }

            var screen = ""
            let deadline = ContinuousClock.now.advanced(by: .seconds(120))
            while ContinuousClock.now < deadline {
                screen = try Self.tmux(socket, ["capture-pane", "-p", "-S", "-200"])
                if screen.contains("DEMO-EXIT=") { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            let lines = screen.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            #expect(lines.contains("DEMO-EXIT=0"), "\(screen)")

            // The steps, in order, and nothing from librdkafka that does not apply.
            let steps = ["1/3 embedded broker at 127.0.0.1:", "2/3 writing 60000 JSON order events", "3/3 scoring them"]
            let positions = steps.map { step in lines.firstIndex { $0.hasPrefix(step) } }
            #expect(positions.allSatisfy { $0 != nil } && positions == positions.sorted { ($0 ?? 0) < ($1 ?? 0) }, "\(screen)")
            #expect(!screen.contains("CONFWARN") && !screen.contains("bootstrap.servers"), "\(screen)")

            // The last progress line stays on screen: bar, count towards the total, rate, ETA.
            let progress = lines.filter { $0.hasPrefix("[") && $0.contains("/60.0k ") && $0.contains(" ETA ") }
            #expect(!progress.isEmpty, "no progress bar:\n\(screen)")
            #expect(progress.allSatisfy { $0.contains("█") || $0.contains("░") })

            // A log line (the assignment) is written on its own line, not after a status line,
            // with the partitions compressed.
            let assigned = lines.filter { $0.contains("partitions assigned") }
            #expect(assigned.count == 1, "\(screen)")
            #expect(assigned.allSatisfy { $0.contains("kafka.partitions=orders[0-3]") && !$0.contains(" ETA ") && !$0.contains("commits ") },
                    "\(screen)")
            #expect(!lines.contains { $0.contains(" ETA ") && ($0.contains(" info ") || $0.contains(" notice ")) }, "\(screen)")

            // The summary, saying which interval each figure covers.
            let handled = try #require(lines.first { $0.hasPrefix("handled    60000 in ") }, "\(screen)")
            #expect(handled.contains("/s, first message to last); run ") && handled.contains(" including start-up and group join "))
            #expect(lines.contains { $0 == "committed  60000 = end offsets 60000 on all 4 partitions" }, "\(screen)")
        }

        /// Runs `tmux -L socket arguments…` and returns what it printed.
        @discardableResult
        static func tmux(_ socket: String, _ arguments: [String]) throws -> String {
            let process = Process()
            guard let tmuxExecutable else { throw CocoaError(.fileNoSuchFile) }
            process.executableURL = tmuxExecutable
            process.arguments = ["-L", socket] + arguments
            var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SLUICE_") && $0.key != "TMUX" }
            environment["TERM"] = "xterm-256color"
            process.environment = environment
            // new-session forks the tmux server, which inherits what Foundation watches to see the
            // client exit: waiting for it would last as long as the server. Only capture-pane's
            // output is read; the server is ended with kill-server.
            guard arguments.first == "capture-pane" else {
                process.standardOutput = FileHandle.nullDevice
                process.standardError = FileHandle.nullDevice
                try process.run()
                if arguments.first != "new-session" { process.waitUntilExit() }
                return ""
            }
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }
    }
}
