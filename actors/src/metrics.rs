//! In-process counters and latency samples for `/api/metrics`. Names follow the reference panel
//! (`image_jobs.generation.succeeded`, `job_stage.upstream_wait`); counters appear on first use.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

/// Samples kept per timing name; percentiles are taken over this window.
const WINDOW: usize = 2048;

#[derive(Default)]
pub struct Metrics {
    counters: Mutex<BTreeMap<String, u64>>,
    timings: Mutex<BTreeMap<String, VecDeque<f64>>>,
}

/// `{count, p50, p95, p99, max}` in milliseconds over the recent window.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TimingSummary {
    pub count: u64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

impl Metrics {
    pub fn incr(&self, name: &str) {
        *self.counters.lock().unwrap_or_else(|e| e.into_inner()).entry(name.to_string()).or_default() += 1;
    }

    pub fn counter(&self, name: &str) -> u64 {
        self.counters.lock().unwrap_or_else(|e| e.into_inner()).get(name).copied().unwrap_or(0)
    }

    pub fn observe_ms(&self, name: &str, milliseconds: f64) {
        let mut timings = self.timings.lock().unwrap_or_else(|e| e.into_inner());
        let samples = timings.entry(name.to_string()).or_default();
        if samples.len() == WINDOW {
            samples.pop_front();
        }
        samples.push_back(milliseconds);
    }

    pub fn counters(&self) -> BTreeMap<String, u64> {
        self.counters.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Percentile = the sorted sample at index `round((n − 1) · p)`.
    pub fn timings(&self) -> BTreeMap<String, TimingSummary> {
        let timings = self.timings.lock().unwrap_or_else(|e| e.into_inner());
        timings
            .iter()
            .map(|(name, samples)| {
                let mut sorted: Vec<f64> = samples.iter().copied().collect();
                sorted.sort_by(f64::total_cmp);
                let at = |p: f64| {
                    sorted.get(((sorted.len().saturating_sub(1)) as f64 * p).round() as usize).copied().unwrap_or(0.0)
                };
                let summary = TimingSummary {
                    count: sorted.len() as u64,
                    p50: round2(at(0.50)),
                    p95: round2(at(0.95)),
                    p99: round2(at(0.99)),
                    max: round2(sorted.last().copied().unwrap_or(0.0)),
                };
                (name.clone(), summary)
            })
            .collect()
    }

    /// failed / (failed + succeeded) for `image_jobs.<kind>`, 0 when none ended.
    pub fn failure_ratio(&self, kind: &str) -> f64 {
        let failed = self.counter(&format!("image_jobs.{kind}.failed")) as f64;
        let succeeded = self.counter(&format!("image_jobs.{kind}.succeeded")) as f64;
        if failed + succeeded == 0.0 { 0.0 } else { failed / (failed + succeeded) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_rounded_index_over_the_window() {
        let metrics = Metrics::default();
        for ms in 1..=100 {
            metrics.observe_ms("job_stage.upstream_wait", f64::from(ms));
        }
        let summary = metrics.timings()["job_stage.upstream_wait"];
        assert_eq!(summary, TimingSummary { count: 100, p50: 51.0, p95: 95.0, p99: 99.0, max: 100.0 });
        for _ in 0..WINDOW {
            metrics.observe_ms("job_stage.upstream_wait", 7.0);
        }
        assert_eq!(metrics.timings()["job_stage.upstream_wait"].max, 7.0, "old samples leave the window");
    }

    #[test]
    fn counters_appear_on_first_use_and_feed_the_failure_ratio() {
        let metrics = Metrics::default();
        assert!(metrics.counters().is_empty());
        assert_eq!(metrics.failure_ratio("generation"), 0.0);
        metrics.incr("image_jobs.generation.succeeded");
        metrics.incr("image_jobs.generation.succeeded");
        metrics.incr("image_jobs.generation.succeeded");
        metrics.incr("image_jobs.generation.failed");
        assert_eq!(metrics.failure_ratio("generation"), 0.25);
        assert_eq!(metrics.counters().len(), 2);
    }
}
