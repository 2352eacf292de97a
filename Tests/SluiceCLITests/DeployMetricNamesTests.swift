//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension ProcessTests {
    /// The Grafana dashboard and the Prometheus alerts name only metrics that `sluice run
    /// --metrics-port` really serves: a renamed metric fails here, not on a dashboard that
    /// silently shows "no data".
    @Suite struct DeployMetricNamesTests {
        /// The repository's root, from this file's path.
        static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()

        @Test func everyMetricOfTheDashboardAndTheAlertsIsServed() async throws {
            let expressions = try Self.dashboardExpressions() + Self.alertExpressions()
            let named = Set(expressions.flatMap(Self.metricNames))
            #expect(named.count >= 15, "the dashboard and alerts name \(named.sorted())")
            for expression in expressions {
                #expect(!Self.metricNames(in: expression).isEmpty, "names no sluice metric: \(expression)")
            }

            // A run that makes every kind of event the dashboard shows happen: failures, retries
            // and dead letters (flaky handler), a full window (one worker, a window of 4),
            // commits and an assignment.
            let served = try await DevBroker.with(topic: "orders", partitions: 2, otherTopics: ["orders.dlq"]) { broker in
                try await broker.produce(topic: "orders", count: 2_000)
                let run = try SluiceProcess(
                    ["run", "--brokers", broker.bootstrapServers, "--group", "metric-names", "--topic", "orders",
                     "--handler", "flaky", "--handler-option", "fail-every=200", "--on-failure", "dead-letter",
                     "--retry-backoff", "10ms", "--workers", "1", "--max-in-flight", "4", "--commit-interval", "200ms",
                     "--metrics-port", "0", "--status-interval", "0"] + embeddedBrokerConsumerProperties)
                defer { run.terminate() }
                let listening = try await run.line(onStderr: true, within: .seconds(30)) { $0.contains("metrics and health on http://127.0.0.1:") }
                let port = try #require(listening.flatMap(Self.port(in:)), "no metrics port logged\n\(run.transcript)")

                // Scrape until the run has dead-lettered all ten poison messages and handled the rest.
                var scrape = ""
                let deadline = ContinuousClock.now.advanced(by: .seconds(60))
                while ContinuousClock.now < deadline {
                    scrape = try await Self.get("http://127.0.0.1:\(port)/metrics")
                    if Self.value(of: "sluice_messages_dead_lettered_total", in: scrape) == 10,
                       Self.value(of: "sluice_messages_handled_total", in: scrape) == 1_990 {
                        break
                    }
                    try await Task.sleep(for: .milliseconds(200))
                }
                run.send(SIGTERM)
                #expect(try await run.exitCode(within: .seconds(30)) == 0, "\(run.transcript)")
                #expect(Self.value(of: "sluice_messages_dead_lettered_total", in: scrape) == 10, "\(scrape)")
                return Self.sampleLabels(in: scrape)
            }
            let missing = named.subtracting(served.keys).sorted()
            #expect(missing.isEmpty, "named in deploy/ but not served by /metrics: \(missing); served: \(served.keys.sorted())")

            // The labels an expression selects or groups by exist on its metrics (or are the
            // target labels Prometheus adds when it scrapes).
            let added: Set<String> = ["job", "instance"]
            for expression in expressions {
                let available = Self.metricNames(in: expression).reduce(into: added) { $0.formUnion(served[$1] ?? []) }
                let unknown = Self.labelNames(in: expression).subtracting(available).sorted()
                #expect(unknown.isEmpty, "labels \(unknown) are on none of the metrics of: \(expression)")
            }
        }

        @Test func labelNamesAreReadFromSelectorsAndGroupings() {
            let expression = #"sum by (le, topic) (rate(sluice_x_bucket{job=~"$job", topic=~"a,b"}[5m])) / max without(partition) (sluice_y)"#
            #expect(Self.labelNames(in: expression) == ["le", "topic", "job", "partition"])
        }

        @Test func metricNamesAreReadFromPromQL() {
            let expression = #"histogram_quantile(0.99, sum by (le, topic) (rate(sluice_handler_duration_seconds_bucket{job=~"$job", topic=~"sluice_x"}[5m]))) / sluice_in_flight_messages"#
            #expect(Self.metricNames(in: expression) == ["sluice_handler_duration_seconds_bucket", "sluice_in_flight_messages"])
        }

        // MARK: Reading deploy/

        /// Every PromQL expression of the dashboard's panels.
        static func dashboardExpressions() throws -> [String] {
            let data = try Data(contentsOf: root.appendingPathComponent("deploy/grafana/sluice.json"))
            let dashboard = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            let panels = try #require(dashboard["panels"] as? [[String: Any]])
            let expressions = panels.flatMap { ($0["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String } }
            #expect(expressions.count >= panels.count, "every panel has an expression")
            return expressions
        }

        /// Every rule's `expr:` in the alerts file, each on one line (checked: as many as rules).
        static func alertExpressions() throws -> [String] {
            let text = try String(contentsOf: root.appendingPathComponent("deploy/prometheus/alerts.yml"), encoding: .utf8)
            let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            let expressions = lines.filter { $0.hasPrefix("expr: ") }.map { String($0.dropFirst("expr: ".count)) }
            let rules = lines.filter { $0.hasPrefix("- alert: ") }.count
            #expect(rules > 0 && expressions.count == rules, "one single-line expr per alert (\(expressions.count) for \(rules))")
            #expect(!expressions.contains { $0.hasPrefix("|") || $0.hasPrefix(">") }, "block scalars are not read here")
            return expressions
        }

        /// The `sluice_*` metric names in a PromQL expression (label values and strings excluded).
        static func metricNames(in expression: String) -> [String] {
            // Drop quoted strings (label matchers' values) so that only identifiers remain.
            let unquoted = expression.replacingOccurrences(of: #""[^"]*""#, with: "\"\"", options: .regularExpression)
            var names: [String] = []
            var scanner = unquoted[...]
            while let range = scanner.range(of: #"[a-zA-Z_:][a-zA-Z0-9_:]*"#, options: .regularExpression) {
                let token = String(scanner[range])
                if token.hasPrefix("sluice_"), !names.contains(token) { names.append(token) }
                scanner = scanner[range.upperBound...]
            }
            return names
        }

        /// The label names an expression selects on (`{name=~"…"}`) or groups by (`by (…)`,
        /// `without (…)`).
        static func labelNames(in expression: String) -> Set<String> {
            let unquoted = expression.replacingOccurrences(of: #""[^"]*""#, with: "\"\"", options: .regularExpression)
            var labels: Set<String> = []
            for pattern in [#"\{[^}]*\}"#, #"\b(by|without)\s*\([^)]*\)"#] {
                var rest = unquoted[...]
                while let range = rest.range(of: pattern, options: .regularExpression) {
                    var clause = String(rest[range])
                    if let open = clause.firstIndex(where: { $0 == "(" || $0 == "{" }) { clause = String(clause[clause.index(after: open)...]) }
                    for item in clause.split(whereSeparator: { ",)}".contains($0) }) {
                        let name = item.split(whereSeparator: { "=!~".contains($0) }).first?.trimmingCharacters(in: .whitespaces) ?? ""
                        if !name.isEmpty { labels.insert(name) }
                    }
                    rest = rest[range.upperBound...]
                }
            }
            return labels
        }

        // MARK: Reading /metrics

        /// Each sample name of a scrape with the label names it carries.
        static func sampleLabels(in scrape: String) -> [String: Set<String>] {
            var labels: [String: Set<String>] = [:]
            for line in scrape.split(separator: "\n") where !line.hasPrefix("#") {
                guard let end = line.firstIndex(where: { $0 == "{" || $0 == " " }) else { continue }
                let name = String(line[..<end])
                var keys = labels[name, default: []]
                if line[end] == "{", let close = line.firstIndex(of: "}") {
                    for pair in line[line.index(after: end)..<close].split(separator: ",") {
                        if let key = pair.split(separator: "=").first { keys.insert(String(key)) }
                    }
                }
                labels[name] = keys
            }
            return labels
        }

        /// The sum of a metric's samples.
        static func value(of name: String, in scrape: String) -> Double {
            scrape.split(separator: "\n").filter { $0.hasPrefix(name + "{") || $0.hasPrefix(name + " ") }
                .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
        }

        static func port(in line: String) -> Int? {
            guard let range = line.range(of: "http://127.0.0.1:") else { return nil }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        }

        static func get(_ url: String) async throws -> String {
            let (data, _) = try await URLSession.shared.data(from: URL(string: url)!)
            return String(decoding: data, as: UTF8.self)
        }
    }
}
