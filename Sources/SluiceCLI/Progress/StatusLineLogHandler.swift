//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import Logging

/// A log handler that writes its lines above the terminal's status line
/// (``TerminalStatusLine``): it clears the status, lets the wrapped handler write, and redraws
/// the status below. On a terminal only; elsewhere the runner logs status lines as log lines.
struct StatusLineLogHandler: LogHandler {
    private var wrapped: any LogHandler
    private let statusLine: TerminalStatusLine

    init(wrapping wrapped: any LogHandler, statusLine: TerminalStatusLine = .standardError) {
        self.wrapped = wrapped
        self.statusLine = statusLine
    }

    var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }

    var metadata: Logger.Metadata {
        get { wrapped.metadata }
        set { wrapped.metadata = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { wrapped.metadataProvider }
        set { wrapped.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { wrapped[metadataKey: key] }
        set { wrapped[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        statusLine.writeAbove { wrapped.log(event: event) }
    }
}
