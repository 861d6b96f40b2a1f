//! Counters of what a pipeline program saw: logged periodically without flooding, and exported
//! to Prometheus (`/metrics`) when the program was given a metrics address.

use std::collections::BTreeMap;

use vigie_model::Event;

#[derive(Debug, Default)]
pub struct Stats {
    pub received: u64,
    /// Rejected messages by reason (`json`, `schema`, `unknown_field`, `out_of_range`,
    /// `oversize`, `topic`, `future`, `out_of_order`).
    pub rejected: BTreeMap<&'static str, u64>,
    /// Events emitted or stored, by kind.
    pub events: BTreeMap<&'static str, u64>,
    pub outbox_depth: usize,
    /// `vigie_telemetry_received_total`, registered once: looking it up per message costs.
    received_counter: Option<metrics::Counter>,
    /// `vigie_telemetry_acked_total`: messages acknowledged to the broker, the end of their
    /// handling (received + rejected − acked is what the gateway holds back).
    acked_counter: Option<metrics::Counter>,
}

impl Stats {
    pub fn reject(&mut self, reason: &'static str) {
        metrics::counter!("vigie_rejected_total", "reason" => reason).increment(1);
        let count = self.rejected.entry(reason).or_default();
        *count += 1;
        // One line for the first rejection of a kind, then one per power of ten.
        if *count == 10u64.pow(count.ilog10()) {
            tracing::warn!(reason, count = *count, "rejected telemetry");
        }
    }

    pub fn events(&mut self, events: &[Event]) {
        for event in events {
            metrics::counter!("vigie_events_total", "kind" => event.kind.as_str()).increment(1);
            *self.events.entry(event.kind.as_str()).or_default() += 1;
        }
    }

    pub fn receive(&mut self) {
        self.received_counter
            .get_or_insert_with(|| metrics::counter!("vigie_telemetry_received_total"))
            .increment(1);
        self.received += 1;
    }

    pub fn acked(&mut self, count: usize) {
        if count > 0 {
            self.acked_counter
                .get_or_insert_with(|| metrics::counter!("vigie_telemetry_acked_total"))
                .increment(count as u64);
        }
    }

    /// An event a room refused for good (`gateway::MAX_REFUSALS`): not posted, not stored.
    pub fn refused(&mut self) {
        metrics::counter!("vigie_events_refused_total").increment(1);
    }

    /// How far behind real time the program is, in milliseconds: `vigie_lag_seconds`. The
    /// gateway's is the age of the newest fix it handled; the collector's, the age of the
    /// newest event in what it last stored.
    pub fn set_lag(&mut self, lag_ms: i64) {
        metrics::gauge!("vigie_lag_seconds").set(lag_ms as f64 / 1e3);
    }

    pub fn set_outbox_depth(&mut self, depth: usize) {
        metrics::gauge!("vigie_outbox_depth").set(depth as f64);
        self.outbox_depth = depth;
    }

    pub fn log(&self) {
        tracing::info!(
            received = self.received,
            rejected = ?self.rejected,
            events = ?self.events,
            outbox = self.outbox_depth,
            "counters"
        );
    }
}

/// Serves Prometheus metrics on `listen` at `/metrics`; call once, from a program's `main`.
pub fn install_exporter(listen: std::net::SocketAddr) -> anyhow::Result<()> {
    metrics_exporter_prometheus::PrometheusBuilder::new()
        .with_http_listener(listen)
        .install()
        .map_err(|e| anyhow::anyhow!("cannot serve metrics on {listen}: {e}"))
}
