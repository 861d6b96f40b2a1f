//! Counters of what a pipeline program saw, logged periodically without flooding.

use std::collections::BTreeMap;

use vigie_model::Event;

#[derive(Debug, Default)]
pub struct Stats {
    pub received: u64,
    /// Rejected messages by reason (`json`, `out_of_range`, `oversize`, `topic`).
    pub rejected: BTreeMap<&'static str, u64>,
    /// Events emitted or stored, by kind.
    pub events: BTreeMap<&'static str, u64>,
    pub outbox_depth: usize,
}

impl Stats {
    pub fn reject(&mut self, reason: &'static str) {
        let count = self.rejected.entry(reason).or_default();
        *count += 1;
        // One line for the first rejection of a kind, then one per power of ten.
        if *count == 10u64.pow(count.ilog10()) {
            tracing::warn!(reason, count = *count, "rejected telemetry");
        }
    }

    pub fn events(&mut self, events: &[Event]) {
        for event in events {
            *self.events.entry(event.kind.as_str()).or_default() += 1;
        }
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
