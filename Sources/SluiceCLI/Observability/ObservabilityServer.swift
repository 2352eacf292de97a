//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import _SluiceTime
internal import Foundation
internal import Hummingbird
public import Logging
internal import Metrics
internal import NIOCore
internal import Prometheus
public import Sluice
internal import Synchronization

/// The HTTP endpoint of a running consumer (Hummingbird): `/metrics` in Prometheus text format,
/// `/health/live` and `/health/ready` for probes (200 when healthy, 503 otherwise, with a JSON
/// body saying why).
public struct ObservabilityServer: Sendable {
    /// The consumer whose health is served.
    public var consumer: SluiceConsumer
    /// Address to bind: 127.0.0.1 unless told otherwise.
    public var host: String
    /// Port to bind; 0 picks a free one (see `onListening`).
    public var port: Int
    /// `/health/live` fails when the consumer loop has not turned for this long.
    public var livenessTTL: Duration
    /// Called with the bound port once the server listens.
    public var onListening: @Sendable (Int) async -> Void
    var logger: Logger

    /// Creates the server; ``run()`` serves until cancelled.
    public init(
        consumer: SluiceConsumer, host: String = "127.0.0.1", port: Int, livenessTTL: Duration = .seconds(30),
        logger: Logger, onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.consumer = consumer
        self.host = host
        self.port = port
        self.livenessTTL = livenessTTL
        self.logger = logger
        self.onListening = onListening
    }

    /// Serves until the task is cancelled.
    /// - Throws: when the address cannot be bound.
    public func run() async throws {
        let router = Router()
        let registry = PrometheusExport.registry
        let consumer = self.consumer
        let ttl = livenessTTL
        router.get("/metrics") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        router.get("/health/live") { _, _ -> Response in
            let health = consumer.health(livenessTTL: ttl)
            return Self.response(health, healthy: health.isLive)
        }
        router.get("/health/ready") { _, _ -> Response in
            let health = consumer.health(livenessTTL: ttl)
            return Self.response(health, healthy: health.isReady)
        }
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .notice)  // no line per request
        let onListening = self.onListening
        let host = self.host
        let app = Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "sluice"),
            onServerRunning: { [logger] channel in
                let bound = channel.localAddress?.port ?? 0
                logger.notice("metrics and health on http://\(host):\(bound) (/metrics, /health/live, /health/ready)")
                await onListening(bound)
            },
            logger: quiet)
        try await app.runService(gracefulShutdownSignals: [])
    }

    private static func response(_ health: SluiceHealth, healthy: Bool) -> Response {
        let since = health.sinceLastTurn.map { String(format: "%.3f", $0.inSeconds) } ?? "null"
        let json = """
            {"status":"\(healthy ? "ok" : "unavailable")","phase":"\(health.phase.rawValue)",\
            "assignedPartitions":\(health.assignedPartitions),"secondsSinceLoopTurned":\(since),\
            "livenessTTLSeconds":\(health.livenessTTL.components.seconds),"stuckWorkers":\(health.stuckWorkers)}

            """
        return Response(
            status: healthy ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: json)))
    }
}

/// The process's Prometheus registry, bootstrapped into swift-metrics on first use (swift-metrics
/// takes one backend per process).
enum PrometheusExport {
    private static let bootstrapped: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Handler calls from microseconds to minutes; commits from milliseconds.
        factory.defaultDurationHistogramBuckets = [
            .microseconds(10), .microseconds(50), .microseconds(100), .microseconds(500), .milliseconds(1),
            .milliseconds(5), .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(500),
            .seconds(1), .seconds(5), .seconds(30), .seconds(120),
        ]
        // Messages per batch handler call, up to the largest sensible batches.
        factory.valueHistogramBuckets["sluice_batch_size"] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 5_000]
        MetricsSystem.bootstrap(factory)
        return registry
    }()

    /// The registry `/metrics` serves; reading it bootstraps swift-metrics with it.
    static var registry: PrometheusCollectorRegistry { bootstrapped }

    /// Bootstraps swift-metrics with the Prometheus registry, before a consumer is created (a
    /// consumer checks for a metrics backend once, when it is created).
    static func bootstrap() {
        _ = bootstrapped
    }
}
