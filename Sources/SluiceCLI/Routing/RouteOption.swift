//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import Sluice

/// One `--route-option ROUTE:key=value`: a handler option of one route's handler, given on top
/// of the `--handler-option`s every route's handler gets (the route's own value wins).
///
/// `ROUTE` is the route's name (its `name=`, or its first topic or pattern); the first `:` ends
/// it (a route's name has no `:`), the first `=` after it ends the key, and the value is the rest,
/// whatever it holds. The value of a secret key (``HandlerOptions/isSecret(_:)``) is never shown.
///
/// ```sh
/// --route 'audit.*=spin-batch' --route-option 'audit.*:call-micros=200'
/// ```
struct RouteOption: Sendable, Equatable {
    /// The route's name.
    var route: String
    /// The handler option's key.
    var key: String
    /// Its value.
    var value: String

    /// Reads a `--route-option` value.
    /// - Throws: ``RouteError`` naming the option (its value masked when the key is a
    ///   secret's).
    init(parsing text: String) throws(RouteError) {
        guard let colon = text.firstIndex(of: ":"), colon != text.startIndex else {
            let shown = Self.shown(text)
            throw RouteError(
                description: "--route-option '\(shown)': give ROUTE:key=value, where ROUTE is a route's name or first topic, e.g. --route-option 'orders:rounds=3'")
        }
        route = String(text[..<colon])
        let pair = text[text.index(after: colon)...]
        guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
            throw RouteError(description: "--route-option '\(Self.shown(text))': '\(Self.shown(String(pair)))' is not of the form key=value")
        }
        key = String(pair[..<equals])
        value = String(pair[pair.index(after: equals)...])
    }

    /// `ROUTE:key=value`, or `ROUTE:key=***` for a secret key.
    var shown: String {
        "\(route):\(key)=\(HandlerOptions.isSecret(key) ? SecretRedactor.mask : value)"
    }

    /// `text` with what follows a secret key's `=` masked, for errors about malformed options.
    private static func shown(_ text: String) -> String {
        guard let equals = text.firstIndex(of: "=") else { return text }
        let key = text[..<equals].split(separator: ":", maxSplits: 1).last.map(String.init) ?? ""
        return HandlerOptions.isSecret(key) ? String(text[...equals]) + SecretRedactor.mask : text
    }

    /// The key of a raw `ROUTE:key` (what ``keyValueArguments(givenTo:in:)`` sees before the
    /// `=`), for redaction before parsing.
    static func handlerOptionKey(of routeAndKey: String) -> String {
        routeAndKey.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).last.map(String.init) ?? routeAndKey
    }
}
