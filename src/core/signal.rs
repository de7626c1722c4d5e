//! Signal samples, their history and their freshness; one poll's readings ([`EnvPoll`]) and
//! the [`SignalSource`] trait that every poller implements, those in `signals` and the
//! backends' own (HAProxy stats, ALB target health, Deployment readiness). The trait is
//! only a definition: nothing here does I/O.

use super::guardrail::Bad;
use super::{Env, EnvPair, Millis};
use crate::shared::SignalError;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// How many samples of history a series keeps (at 1 s polls: two minutes).
pub const HISTORY: usize = 120;

/// One measured value, or why there is none. "No data" is never zero.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Reading {
    Value(f64),
    /// The source answered but had nothing to measure (no traffic, empty vector, NaN).
    NoData(String),
    /// The source could not be read.
    Error(String),
}

impl Reading {
    pub fn value(&self) -> Option<f64> {
        match self {
            Reading::Value(v) => Some(*v),
            _ => None,
        }
    }

    /// A reading from an optional value; `None` means no data for `why`.
    pub fn from_option(v: Option<f64>, why: &str) -> Reading {
        match v {
            Some(v) if v.is_finite() => Reading::Value(v),
            Some(v) => Reading::NoData(format!("{v}")),
            None => Reading::NoData(why.to_string()),
        }
    }
}

/// A reading with the time it was taken.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub reading: Reading,
    pub at: Millis,
}

/// The latest sample of one signal and the history of its values.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    pub latest: Option<Sample>,
    pub history: VecDeque<Option<f64>>,
}

impl Series {
    pub fn push(&mut self, reading: Reading, at: Millis) {
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(reading.value());
        self.latest = Some(Sample { reading, at });
    }

    /// Age of the latest sample.
    pub fn age(&self, now: Millis) -> Option<Millis> {
        self.latest.as_ref().map(|s| now.saturating_sub(s.at))
    }

    /// Stale: older than three poll intervals (or never sampled).
    pub fn is_stale(&self, now: Millis, interval: Millis) -> bool {
        match self.age(now) {
            Some(age) => age > interval.saturating_mul(3),
            None => true,
        }
    }

    /// The latest value, if there is one.
    pub fn value(&self) -> Option<f64> {
        self.latest.as_ref().and_then(|s| s.reading.value())
    }

    /// The latest value only when it is fresh.
    pub fn fresh_value(&self, now: Millis, interval: Millis) -> Option<f64> {
        if self.is_stale(now, interval) {
            None
        } else {
            self.value()
        }
    }

    /// Direction of the last `span` samples: +1 rising by more than 10 %, -1 falling, 0 flat.
    pub fn trend(&self, span: usize) -> i8 {
        let vals: Vec<f64> = self
            .history
            .iter()
            .rev()
            .take(span)
            .flatten()
            .copied()
            .collect();
        let (Some(&last), Some(&first)) = (vals.first(), vals.last()) else {
            return 0;
        };
        let base = first.abs().max(f64::EPSILON);
        let change = (last - first) / base;
        if vals.len() < 2 || change.abs() < 0.10 {
            0
        } else if change > 0.0 {
            1
        } else {
            -1
        }
    }
}

/// Health of an env as its probes see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    Up,
    Degraded,
    Down,
    Unknown,
}

impl Health {
    pub fn word(self) -> &'static str {
        match self {
            Health::Up => "up",
            Health::Degraded => "degraded",
            Health::Down => "down",
            Health::Unknown => "unknown",
        }
    }
}

/// One health reading: how many probes are up, and how long they took.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HealthSample {
    pub health: Health,
    pub up: u32,
    pub total: u32,
    pub latency_ms: Option<f64>,
    /// Consecutive failed polls.
    pub failures: u32,
    pub detail: String,
}

/// An extra metric (a configured Prometheus query) as the screen shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricInfo {
    pub name: String,
    pub unit: String,
    pub bad: Bad,
}

/// Everything known about one env's signals.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EnvSignals {
    pub health: Option<(HealthSample, Millis)>,
    pub error_rate: Series,
    pub p99_ms: Series,
    pub rps: Series,
    /// Requests and 5xx errors over the source's window, for the significance test.
    pub requests: Series,
    pub errors: Series,
    /// Extra named queries ("business metrics"), in config order.
    pub metrics: Vec<(String, Series)>,
    /// The version the env reports, when it does.
    pub version: Option<String>,
}

impl EnvSignals {
    /// The series of the named extra metric.
    pub fn metric(&self, name: &str) -> Option<&Series> {
        self.metrics.iter().find(|(n, _)| n == name).map(|(_, s)| s)
    }

    /// The series of the named extra metric, created on first use.
    pub fn metric_mut(&mut self, name: &str) -> &mut Series {
        if let Some(i) = self.metrics.iter().position(|(n, _)| n == name) {
            return &mut self.metrics[i].1;
        }
        self.metrics.push((name.to_string(), Series::default()));
        &mut self.metrics.last_mut().expect("just pushed").1
    }

    /// Health, `Unknown` when never read or stale.
    pub fn health(&self, now: Millis, interval: Millis) -> Health {
        match &self.health {
            Some((h, at)) if now.saturating_sub(*at) <= interval.saturating_mul(3) => h.health,
            _ => Health::Unknown,
        }
    }
}

/// One poll's readings for one env. `None`: this source does not provide that signal.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EnvPoll {
    pub health: Option<HealthSample>,
    pub error_rate: Option<Reading>,
    pub p99_ms: Option<Reading>,
    pub rps: Option<Reading>,
    /// Requests and 5xx errors over the source's window (for the significance test).
    pub requests: Option<Reading>,
    pub errors: Option<Reading>,
    pub metrics: Vec<(String, Reading)>,
    pub version: Option<String>,
}

impl EnvPoll {
    /// Records what this poll provides into `s`, sampled at `at`.
    pub fn apply_to(self, s: &mut EnvSignals, at: Millis) {
        let series = [
            (self.error_rate, &mut s.error_rate),
            (self.p99_ms, &mut s.p99_ms),
            (self.rps, &mut s.rps),
            (self.requests, &mut s.requests),
            (self.errors, &mut s.errors),
        ];
        for (reading, series) in series {
            if let Some(r) = reading {
                series.push(r, at);
            }
        }
        for (name, r) in self.metrics {
            s.metric_mut(&name).push(r, at);
        }
        if let Some(h) = self.health {
            s.health = Some((h, at));
        }
        if self.version.is_some() {
            s.version = self.version;
        }
    }
}

/// The outcome of a smoke run against one env.
#[derive(Clone, Debug, PartialEq)]
pub struct SmokeReport {
    pub env: Env,
    pub passed: bool,
    pub summary: String,
}

/// A source of signals for both envs.
#[async_trait]
pub trait SignalSource: Send + Sync {
    fn name(&self) -> String;
    async fn poll(&self) -> Result<EnvPair<EnvPoll>, SignalError>;
    /// Whether a first poll cannot give this source's rates (they need two samples): a
    /// one-shot read (`status`, the CLI's writes) polls it again one poll interval later.
    fn needs_warm_up(&self) -> bool {
        false
    }
    /// Whether [`SignalSource::smoke`] means anything for this source.
    fn can_smoke(&self) -> bool {
        false
    }
    /// Runs smoke requests against `env`.
    async fn smoke(&self, env: Env) -> SmokeReport {
        SmokeReport {
            env,
            passed: false,
            summary: format!("{} cannot run smoke checks", self.name()),
        }
    }
}

/// Both envs' health from a backend's own per-env reading (target health, Deployment
/// readiness): one env failing is that env's `unknown`; both failing is the source's error.
pub fn health_pair(
    blue: Result<HealthSample, String>,
    green: Result<HealthSample, String>,
) -> Result<EnvPair<EnvPoll>, SignalError> {
    if let (Err(e), Err(_)) = (&blue, &green) {
        return Err(SignalError::Failed(e.clone()));
    }
    let poll = |r: Result<HealthSample, String>| EnvPoll {
        health: Some(r.unwrap_or_else(|e| HealthSample {
            health: Health::Unknown,
            up: 0,
            total: 0,
            latency_ms: None,
            failures: 1,
            detail: e,
        })),
        ..EnvPoll::default()
    };
    Ok(EnvPair::new(poll(blue), poll(green)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staleness_table() {
        let mut s = Series::default();
        assert!(s.is_stale(0, 1000), "never sampled is stale");
        s.push(Reading::Value(1.0), 1000);
        let cases = [(1000, false), (4000, false), (4001, true), (60_000, true)];
        for (now, stale) in cases {
            assert_eq!(s.is_stale(now, 1000), stale, "now {now}");
        }
        assert_eq!(s.fresh_value(2000, 1000), Some(1.0));
        assert_eq!(s.fresh_value(9000, 1000), None);
    }

    #[test]
    fn no_data_is_not_zero() {
        let mut s = Series::default();
        s.push(Reading::from_option(None, "no traffic"), 0);
        assert_eq!(s.value(), None);
        s.push(Reading::from_option(Some(f64::NAN), ""), 1);
        assert_eq!(s.value(), None);
        assert_eq!(s.history.iter().flatten().count(), 0);
    }

    #[test]
    fn trend_table() {
        let cases: [(&[f64], i8); 4] = [
            (&[1.0, 1.0, 1.0], 0),
            (&[1.0, 1.5, 2.0], 1),
            (&[2.0, 1.0, 0.5], -1),
            (&[1.0], 0),
        ];
        for (vals, want) in cases {
            let mut s = Series::default();
            for (i, v) in vals.iter().enumerate() {
                s.push(Reading::Value(*v), i as Millis);
            }
            assert_eq!(s.trend(10), want, "{vals:?}");
        }
    }

    #[test]
    fn history_is_bounded() {
        let mut s = Series::default();
        for i in 0..(HISTORY as u64 + 50) {
            s.push(Reading::Value(i as f64), i);
        }
        assert_eq!(s.history.len(), HISTORY);
        assert_eq!(s.value(), Some((HISTORY + 49) as f64));
    }
}
