//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import ArgumentParser
internal import Logging
internal import Sluice

/// The HTTP endpoint options of `sluice run`: metrics and health probes.
struct ObservabilityOptions: ParsableArguments {
    @Option(name: .customLong("metrics-port"), help: "Serve /metrics (Prometheus), /health/live and /health/ready on this port; off by default. (env: SLUICE_METRICS_PORT)")
    var metricsPort: Int?

    @Option(name: .customLong("metrics-host"), help: "Address the metrics and health endpoint binds; 0.0.0.0 to expose it (in a container). (env: SLUICE_METRICS_HOST)")
    var metricsHost: String = "127.0.0.1"

    @Option(name: .customLong("liveness-ttl"), help: "/health/live fails when the consumer loop has not turned for this long. (env: SLUICE_LIVENESS_TTL)")
    var livenessTTL: DurationArgument = DurationArgument(.seconds(30))

    mutating func validate() throws {
        if let metricsPort, !(0...65_535).contains(metricsPort) {
            throw ValidationError("--metrics-port must be in 0...65535, got \(metricsPort)")
        }
        guard livenessTTL.duration > .zero else { throw ValidationError("--liveness-ttl must be positive") }
    }

    /// Bootstraps the Prometheus backend when the endpoint is on: before the consumer is created.
    func bootstrapMetrics() {
        if metricsPort != nil { PrometheusExport.bootstrap() }
    }

    /// The server for `consumer`, when `--metrics-port` is given.
    func server(for consumer: SluiceConsumer, logger: Logger) -> ObservabilityServer? {
        metricsPort.map { ObservabilityServer(consumer: consumer, host: metricsHost, port: $0, livenessTTL: livenessTTL.duration, logger: logger) }
    }
}
