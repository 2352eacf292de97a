//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import Foundation
internal import Synchronization

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// The status line at the bottom of a terminal: redrawn in place, and kept below the log lines.
///
/// The status writer shows a line with ``show(_:)``; a log line goes through ``writeAbove(_:)``,
/// which clears the status line, lets the line be written, and redraws the status below it. Both
/// take one lock, so a log line from any thread (librdkafka's included) never lands in the
/// middle of the status line. A status line longer than the terminal is cut to its width: a
/// wrapped line could not be cleared with `\r`.
final class TerminalStatusLine: Sendable {
    /// Standard error's: where the status and the logs go.
    static let standardError = TerminalStatusLine(fileDescriptor: STDERR_FILENO)

    /// Whether the file descriptor is a terminal; when it is not, nothing is drawn.
    let isTerminal: Bool
    private let fileDescriptor: Int32
    /// The line on screen, if any.
    private let shown = Mutex<String?>(nil)

    init(fileDescriptor: Int32) {
        self.fileDescriptor = fileDescriptor
        self.isTerminal = isatty(fileDescriptor) == 1
    }

    /// Draws `line` in place of the current status line.
    func show(_ line: String) {
        guard isTerminal else { return }
        let fitted = fit(line)
        shown.withLock { shown in
            emit("\r\u{1B}[2K" + fitted)
            shown = fitted
        }
    }

    /// Clears the status line, runs `body` (which writes whole lines), and redraws the status.
    func writeAbove(_ body: () -> Void) {
        guard isTerminal else { return body() }
        shown.withLock { shown in
            if shown != nil { emit("\r\u{1B}[2K") }
            body()
            if let shown { emit(shown) }
        }
    }

    /// Ends the status line with a newline, so that what follows starts below it.
    func finish() {
        shown.withLock { shown in
            if shown != nil { emit("\n") }
            shown = nil
        }
    }

    private func fit(_ line: String) -> String {
        var size = winsize()
        guard ioctl(fileDescriptor, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 1 else { return line }
        let width = Int(size.ws_col) - 1  // the last column would wrap on some terminals
        return line.count <= width ? line : String(line.prefix(width - 1)) + "…"
    }

    private func emit(_ text: String) {
        // The C streams first: a log handler may have written to stderr's (StreamLogHandler
        // flushes, but others may not). `nil` flushes them all without naming the global.
        fflush(nil)
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { write(fileDescriptor, $0.baseAddress! + offset, $0.count - offset) }
            if written > 0 { offset += written } else if errno != EINTR { return }
        }
    }
}
