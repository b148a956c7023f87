import Metrics
import Prometheus

extension RelayMetrics {
    /// Points swift-metrics at this registry, so metrics that libraries report through
    /// swift-metrics are served with the relay's own. Once per process (swift-metrics
    /// refuses a second bootstrap): `agentlive-relay` calls it at start.
    public func bootstrapMetricsSystem() {
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    }
}
