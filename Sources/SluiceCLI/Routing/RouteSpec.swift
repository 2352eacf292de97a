//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import Sluice

/// One `--route` of `sluice run`, as written: the topics it serves, the registered handler that
/// serves them, and the route's own settings.
///
/// The syntax is `TOPICS=HANDLER[,setting=value…]`:
///
/// - `TOPICS` is a topic name or a pattern with `*` (`audit.*`), or several joined by `+`
///   (`orders+refunds`); `=` ends them (no topic name holds `=`, `+` or `,`);
/// - `HANDLER` is a registered handler's name, up to the first `,`;
/// - each setting is `key=value`, separated by `,`; every setting not given is the consumer's
///   (the option of the same name): ``settingNames``.
///
/// ```sh
/// --route 'orders=score-orders'
/// --route 'audit.*=spin-batch,ordering=unordered,on-failure=dead-letter,dead-letter-topic=dlq.{topic},max-batch-size=50'
/// --route 'orders+refunds=forward,name=money,output-topic=ledger'
/// ```
///
/// Handler options of one route are given apart, with `--route-option ROUTE:key=value`
/// (``RouteOption``): their values may hold any character, secrets included.
struct RouteSpec: Sendable {
    /// The route as given.
    var text: String
    /// Its topic names and patterns.
    var topics: [String]
    /// The registered handler's name.
    var handler: String
    /// `name=`: what logs, metrics, `--route-option` and the worker processes call it. Default:
    /// its first topic or pattern.
    var explicitName: String?
    /// `ordering=`.
    var ordering: OrderingMode?
    /// `on-failure=`: `stop`, `skip` or `dead-letter`.
    var onFailure: FailurePolicy?
    /// `dead-letter-topic=`: a topic, `{topic}` standing for the source topic.
    var deadLetterTopic: String?
    /// `max-attempts=`.
    var maxAttempts: Int?
    /// `retry-backoff=`.
    var retryBackoff: Duration?
    /// `retry-backoff-max=`.
    var retryBackoffMax: Duration?
    /// `retry-backoff-multiplier=`.
    var retryBackoffMultiplier: Double?
    /// `max-in-flight=`: the route's share of the window.
    var maxInFlight: Int?
    /// `workers=`: worker threads of its own.
    var workers: Int?
    /// `max-batch-size=`.
    var maxBatchSize: Int?
    /// `max-batch-bytes=`, e.g. `256KiB`.
    var maxBatchBytes: Int?
    /// `max-batch-delay=`, e.g. `20ms`.
    var maxBatchDelay: Duration?
    /// `output-topic=`: for handlers that write (`forward`, `forward-batch`).
    var outputTopic: String?

    /// The settings a route takes, in the order `--help` lists them.
    static let settingNames = [
        "name", "ordering", "on-failure", "dead-letter-topic", "max-attempts", "retry-backoff", "retry-backoff-max",
        "retry-backoff-multiplier", "max-in-flight", "workers", "max-batch-size", "max-batch-bytes", "max-batch-delay",
        "output-topic",
    ]

    /// The route's name: `name=`, or its first topic or pattern.
    var name: String { explicitName ?? topics[0] }

    /// `--route 'TEXT'`, for messages.
    var quoted: String { "--route '\(text)'" }

    /// Reads a `--route` value.
    /// - Throws: ``RouteError`` naming the route and its first bad part.
    init(parsing text: String) throws(RouteError) {
        self.text = text
        func fail(_ message: String) -> RouteError { RouteError(description: "--route '\(text)': \(message)") }
        guard let equals = text.firstIndex(of: "=") else {
            throw fail("give TOPICS=HANDLER[,setting=value…], e.g. --route 'orders=score-orders'")
        }
        let topicsText = text[..<equals]
        guard !topicsText.trimmingSpaces.isEmpty else { throw fail("no topic before '='") }
        topics = topicsText.split(separator: "+", omittingEmptySubsequences: false).map { String($0.trimmingSpaces) }
        for topic in topics {
            guard !topic.isEmpty else { throw fail("an empty topic in '\(topicsText)' (topics are joined by '+')") }
            if topic.contains(",") {
                throw fail("'\(topic)' is not a topic: join several with '+' (orders+refunds=…), and give settings after the handler")
            }
            do {
                try TopicPattern(topic).validate()
            } catch {
                throw fail("\(error)")
            }
        }
        let items = text[text.index(after: equals)...].split(separator: ",", omittingEmptySubsequences: false)
            .map { String($0.trimmingSpaces) }
        handler = items[0]
        guard !handler.isEmpty else { throw fail("no handler after '='") }
        guard !handler.contains("=") else {
            throw fail("the handler comes first after '=', then the settings: '\(handler)' is a setting")
        }
        var seen = Set<String>()
        for item in items.dropFirst() {
            guard !item.isEmpty else { throw fail("an empty setting (two commas in a row, or one at the end)") }
            guard let separator = item.firstIndex(of: "="), separator != item.startIndex else {
                throw fail("'\(item)' is not of the form setting=value")
            }
            let key = String(item[..<separator])
            let value = String(item[item.index(after: separator)...])
            guard Self.settingNames.contains(key) else {
                throw fail("unknown setting '\(key)'; a route takes \(Self.settingNames.joined(separator: ", ")) (handler options go in --route-option ROUTE:key=value)")
            }
            guard seen.insert(key).inserted else { throw fail("\(key) is given twice") }
            guard !value.isEmpty else { throw fail("\(key) has no value") }
            try set(key, to: value, fail: fail)
        }
    }

    private mutating func set(_ key: String, to value: String, fail: (String) -> RouteError) throws(RouteError) {
        func integer(atLeast minimum: Int) throws(RouteError) -> Int {
            guard let number = Int(value) else { throw fail("\(key)=\(value): '\(value)' is not an integer") }
            guard number >= minimum else { throw fail("\(key)=\(value): must be at least \(minimum)") }
            return number
        }
        func duration() throws(RouteError) -> Duration {
            guard let parsed = DurationArgument(argument: value) else {
                throw fail("\(key)=\(value): '\(value)' is not a duration (250ms, 2s, 1m)")
            }
            return parsed.duration
        }
        switch key {
        case "name":
            do {
                try TopicPattern(value).validate()
            } catch {
                throw fail("name=\(value): a route's name has letters, digits, '.', '_', '-' and '*'")
            }
            explicitName = value
        case "ordering":
            guard let mode = OrderingMode(value) else { throw fail("ordering=\(value): '\(value)' is not unordered, key or partition") }
            ordering = mode
        case "on-failure":
            guard let policy = FailurePolicy(value) else { throw fail("on-failure=\(value): '\(value)' is not stop, skip or dead-letter") }
            onFailure = policy
        case "dead-letter-topic":
            deadLetterTopic = value
        case "max-attempts": maxAttempts = try integer(atLeast: 1)
        case "retry-backoff": retryBackoff = try duration()
        case "retry-backoff-max": retryBackoffMax = try duration()
        case "retry-backoff-multiplier":
            guard let number = Double(value), number >= 1 else { throw fail("retry-backoff-multiplier=\(value): must be a number of at least 1") }
            retryBackoffMultiplier = number
        case "max-in-flight": maxInFlight = try integer(atLeast: 1)
        case "workers": workers = try integer(atLeast: 1)
        case "max-batch-size": maxBatchSize = try integer(atLeast: 1)
        case "max-batch-bytes":
            guard let size = ByteSize(argument: value) else { throw fail("max-batch-bytes=\(value): '\(value)' is not a size (1048576, 512KiB, 1MiB)") }
            guard size.bytes >= 1 else { throw fail("max-batch-bytes=\(value): must be at least 1 byte") }
            maxBatchBytes = size.bytes
        case "max-batch-delay": maxBatchDelay = try duration()
        case "output-topic":
            do {
                try TopicPattern(value).validate()
            } catch {
                throw fail("output-topic=\(value): \(error)")
            }
            guard !value.contains("*") else { throw fail("output-topic=\(value): an output topic is a name, not a pattern") }
            outputTopic = value
        default:
            throw fail("unknown setting '\(key)'")
        }
    }
}

extension Substring {
    /// Without the spaces around it.
    fileprivate var trimmingSpaces: Substring {
        var result = self
        while result.first == " " { result = result.dropFirst() }
        while result.last == " " { result = result.dropLast() }
        return result
    }
}
