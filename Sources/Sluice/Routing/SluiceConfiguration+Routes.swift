//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

extension SluiceConfiguration {
    /// What the consumer subscribes to: ``topics``, or with routes their names and patterns (as
    /// librdkafka regular expressions), each once.
    var subscription: [String] {
        guard !routes.isEmpty else { return topics }
        var seen = Set<String>()
        return routes.flatMap(\.topics).map(\.subscription).filter { seen.insert($0).inserted }
    }

    /// The topics named outright (not by a pattern), which must exist before the consumer starts.
    var namedTopics: [String] {
        guard !routes.isEmpty else { return topics }
        var seen = Set<String>()
        return (topics + routes.flatMap(\.topics).filter(\.isName).map(\.text)).filter { seen.insert($0).inserted }
    }

    /// The index of the route serving `topic`: the first that matches (0 without routes).
    func routeIndex(of topic: String) -> Int {
        routes.firstIndex { $0.matches(topic) } ?? 0
    }

    /// The failure policy of `topic`'s messages: its route's, or the consumer's.
    func failurePolicy(of topic: String) -> FailurePolicy {
        guard !routes.isEmpty else { return failurePolicy }
        return routes[routeIndex(of: topic)].failurePolicy ?? failurePolicy
    }

    /// Whether any message may go to a dead-letter topic (the consumer's policy or a route's).
    var usesDeadLetters: Bool {
        if routes.isEmpty { return failurePolicy.deadLetterTopicTemplate != nil }
        return routes.contains { ($0.failurePolicy ?? failurePolicy).deadLetterTopicTemplate != nil }
    }

    /// The dead-letter topics of the named topics.
    var deadLetterTopics: Set<String> {
        Set(namedTopics.compactMap { failurePolicy(of: $0).deadLetterTopic(for: $0) })
    }

    /// Checks the routes: names unique, topics valid and served once, their own values in range.
    func validateRoutes() throws {
        guard !routes.isEmpty else { return }
        var names = Set<String>()
        var owners: [String: String] = [:]
        for route in routes {
            guard !route.name.isEmpty else { throw SluiceError.configuration("a route has an empty name") }
            guard names.insert(route.name).inserted else {
                throw SluiceError.configuration("two routes are named '\(route.name)'; give each route its own name")
            }
            guard !route.topics.isEmpty else { throw SluiceError.configuration("route '\(route.name)' has no topics") }
            for pattern in route.topics {
                try pattern.validate()
                if pattern.isName, let owner = owners[pattern.text] {
                    throw SluiceError.configuration("topic '\(pattern.text)' is in both route '\(owner)' and route '\(route.name)'")
                }
                owners[pattern.text] = route.name
            }
            func require(_ condition: Bool, _ message: @autoclosure () -> String) throws {
                if !condition { throw SluiceError.configuration("route '\(route.name)': \(message())") }
            }
            if let value = route.maxInFlightMessages {
                try require(value >= 1 && value <= maxInFlightMessages, "max in-flight messages must be 1...\(maxInFlightMessages) (the consumer's window), got \(value)")
            }
            if let value = route.workers { try require(value >= 1, "workers must be at least 1, got \(value)") }
            if let value = route.maxBatchSize { try require(value >= 1, "max batch size must be at least 1, got \(value)") }
            if let value = route.maxBatchBytes { try require(value >= 1, "max batch bytes must be at least 1, got \(value)") }
            if let value = route.maxBatchDelay { try require(value >= .zero, "max batch delay must not be negative, got \(value)") }
            try route.retry?.validate()
            let policy = route.failurePolicy ?? failurePolicy
            for pattern in route.topics where !pattern.isName {
                // A pattern that matches its own dead-letter topics would consume them, fail them
                // again and dead-letter them again, without end.
                let example = pattern.text.replacingAll("*", with: "x")
                if let deadLetter = policy.deadLetterTopic(for: example), pattern.matches(deadLetter) {
                    throw SluiceError.configuration(
                        "route '\(route.name)': pattern '\(pattern.text)' matches its own dead-letter topics (\(example) → \(deadLetter)); "
                            + "name them outside the pattern, e.g. .deadLetter(topic: \"dlq.{topic}\")")
                }
            }
            do {
                try (route.failurePolicy ?? failurePolicy).validate(topics: route.topics.filter(\.isName).map(\.text))
            } catch let error as SluiceError {
                throw SluiceError.configuration("route '\(route.name)': \(error.message)")
            }
        }
        for topic in topics where !routes.contains(where: { $0.matches(topic) }) {
            throw SluiceError.configuration(
                "topic '\(topic)' is in topics but no route serves it; add it to a route or leave topics empty")
        }
    }
}
