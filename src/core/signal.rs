//! Signal samples, their history and their freshness; one poll's readings ([`EnvPoll`]) and
//! the [`SignalSource`] trait that every poller implements, those in `signals` and the
//! backends' own (HAProxy stats, ALB target health, Deployment readiness). The trait is
//! only a definition: nothing here does I/O.

use super::guardrail::Bad;
use super::value::{Provided, Range, non_finite};
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
    /// The source answered with something that cannot be a measurement (negative, an error
    /// rate over 100 %, non-finite, several series for one env): said with its reason,
    /// never shown, kept or judged as a number.
    Invalid(String),
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
            Some(v) => Reading::Invalid(non_finite(v).to_string()),
            None => Reading::NoData(why.to_string()),
        }
    }
}

/// A reading with the time it was read, and how old it already was then by its own
/// timestamp (a Prometheus sample carries one; 0 when the source does not say).
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub reading: Reading,
    pub at: Millis,
    pub lag: Millis,
    /// Older than this (by its own time) it is stale; `None`: three poll intervals. A
    /// source with coarse data (CloudWatch's minutes) says its own.
    pub stale_after: Option<Millis>,
}

impl Sample {
    /// How old the sample is at `now`, by its own time.
    pub fn age(&self, now: Millis) -> Millis {
        now.saturating_sub(self.at).saturating_add(self.lag)
    }
}

/// The latest sample of one signal and the history of its values.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    pub latest: Option<Sample>,
    pub history: VecDeque<Option<f64>>,
}

impl Series {
    pub fn push(&mut self, reading: Reading, at: Millis) {
        self.push_aged(reading, at, 0);
    }

    /// Records a reading read at `at` that was already `lag` old then.
    pub fn push_aged(&mut self, reading: Reading, at: Millis, lag: Millis) {
        self.push_kept(reading, at, lag, true);
    }

    /// Records a reading; its value goes into the history only when `in_history` (a value
    /// already stale when read is no part of the recent history: a gap there).
    fn push_kept(&mut self, reading: Reading, at: Millis, lag: Millis, in_history: bool) {
        self.push_with(reading, at, lag, in_history, None);
    }

    fn push_with(
        &mut self,
        reading: Reading,
        at: Millis,
        lag: Millis,
        in_history: bool,
        stale_after: Option<Millis>,
    ) {
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history
            .push_back(reading.value().filter(|_| in_history));
        self.latest = Some(Sample {
            reading,
            at,
            lag,
            stale_after,
        });
    }

    /// Age of the latest sample, by its own time.
    pub fn age(&self, now: Millis) -> Option<Millis> {
        self.latest.as_ref().map(|s| s.age(now))
    }

    /// Why the latest reading is not a measurement, when it is invalid.
    pub fn invalid(&self) -> Option<&str> {
        match self.latest.as_ref().map(|s| &s.reading) {
            Some(Reading::Invalid(why)) => Some(why),
            _ => None,
        }
    }

    /// Stale: older than three poll intervals, or than what its source said (or never
    /// sampled).
    pub fn is_stale(&self, now: Millis, interval: Millis) -> bool {
        match &self.latest {
            Some(s) => s.age(now) > s.stale_after.unwrap_or(interval.saturating_mul(3)),
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
    /// What a source says of its data ("CloudWatch 1-min, latest 14:01").
    pub note: Option<String>,
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

/// How old each reading of a poll already was when it was read, by the sample's own
/// timestamp (wall-clock ms). 0 when the source does not timestamp its samples.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Lags {
    pub error_rate: Millis,
    pub p99_ms: Millis,
    pub rps: Millis,
    pub requests: Millis,
    pub errors: Millis,
    pub metrics: Vec<(String, Millis)>,
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
    pub lags: Lags,
    /// How old this source's samples may be before they are stale (CloudWatch's period
    /// and publishing delay); `None`: three poll intervals.
    pub stale_after: Option<Millis>,
    /// What the screen should say of this source's data ("CloudWatch 1-min, latest 14:01").
    pub note: Option<String>,
}

impl EnvPoll {
    /// The signals this poll could not read, each as `signal: why` (a query Prometheus
    /// refused, an answer it could not parse).
    pub fn read_errors(&self) -> Vec<String> {
        let named = [
            ("error-rate", &self.error_rate),
            ("p99", &self.p99_ms),
            ("rps", &self.rps),
            ("requests", &self.requests),
            ("errors", &self.errors),
        ];
        let mut out: Vec<String> = named
            .into_iter()
            .filter_map(|(name, r)| match r {
                Some(Reading::Error(why)) => Some(format!("{name}: {why}")),
                _ => None,
            })
            .collect();
        out.extend(self.metrics.iter().filter_map(|(name, r)| match r {
            Reading::Error(why) => Some(format!("{name}: {why}")),
            _ => None,
        }));
        out
    }

    /// The signals this poll gave that cannot be measurements (each checked against its
    /// range as [`EnvPoll::apply_to`] does: several series, negative, over 100 %…), each as
    /// `signal: invalid: why`.
    pub fn invalid(&self) -> Vec<String> {
        let named = [
            ("error-rate", &self.error_rate, Range::Fraction),
            ("p99", &self.p99_ms, Range::LatencyMs),
            ("rps", &self.rps, Range::NonNegative),
            ("requests", &self.requests, Range::NonNegative),
            ("errors", &self.errors, Range::NonNegative),
        ];
        named
            .into_iter()
            .filter_map(|(name, r, range)| match r.clone().map(|r| range.check(r)) {
                Some(Reading::Invalid(why)) => Some(format!("{name}: invalid: {why}")),
                _ => None,
            })
            .collect()
    }

    /// Records what this poll provides into `s`, read at `at` with polls every `interval`:
    /// each value checked against its signal's range first, so an impossible one is stored
    /// as invalid, never as a number; a value already stale when read (by its own time) is
    /// kept as the latest, marked stale, but not drawn into the recent history.
    pub fn apply_to(self, s: &mut EnvSignals, at: Millis, interval: Millis) {
        let lags = self.lags;
        let stale_after = self.stale_after;
        let fresh = |lag: Millis| lag <= stale_after.unwrap_or(interval.saturating_mul(3));
        let series = [
            (
                self.error_rate,
                lags.error_rate,
                &mut s.error_rate,
                Range::Fraction,
            ),
            (self.p99_ms, lags.p99_ms, &mut s.p99_ms, Range::LatencyMs),
            (self.rps, lags.rps, &mut s.rps, Range::NonNegative),
            (
                self.requests,
                lags.requests,
                &mut s.requests,
                Range::NonNegative,
            ),
            (self.errors, lags.errors, &mut s.errors, Range::NonNegative),
        ];
        for (reading, lag, series, range) in series {
            if let Some(r) = reading {
                series.push_with(range.check(r), at, lag, fresh(lag), stale_after);
            }
        }
        for (name, r) in self.metrics {
            let lag = lags
                .metrics
                .iter()
                .find(|(n, _)| *n == name)
                .map_or(0, |(_, l)| *l);
            s.metric_mut(&name)
                .push_kept(Range::Finite.check(r), at, lag, fresh(lag));
        }
        if let Some(h) = self.health {
            s.health = Some((h, at));
        }
        if self.version.is_some() {
            s.version = self.version;
        }
        if self.note.is_some() {
            s.note = self.note;
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
    /// The signals this source provides, as configured.
    fn provides(&self) -> Provided;
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
    fn an_impossible_value_is_stored_as_invalid_never_as_a_number() {
        let mut s = EnvSignals::default();
        let poll = EnvPoll {
            error_rate: Some(Reading::Value(-5.0)),
            p99_ms: Some(Reading::Value(f64::INFINITY)),
            rps: Some(Reading::Value(1e308)),
            requests: Some(Reading::Value(-1.0)),
            metrics: vec![("orders".into(), Reading::Value(f64::NAN))],
            ..EnvPoll::default()
        };
        poll.apply_to(&mut s, 1_000, 1_000);
        assert_eq!(s.error_rate.invalid(), Some("negative (-500 %)"));
        assert_eq!(s.p99_ms.invalid(), Some("+Inf"));
        assert_eq!(s.rps.value(), Some(1e308), "huge but possible");
        assert_eq!(s.requests.invalid(), Some("negative (-1)"));
        assert_eq!(s.metric("orders").and_then(Series::invalid), Some("NaN"));
        for series in [&s.error_rate, &s.p99_ms, &s.requests] {
            assert_eq!(series.value(), None);
            assert_eq!(series.history.iter().flatten().count(), 0, "not in history");
        }
    }

    #[test]
    fn age_is_the_samples_own() {
        let mut s = EnvSignals::default();
        let poll = EnvPoll {
            error_rate: Some(Reading::Value(0.01)),
            rps: Some(Reading::Value(10.0)),
            lags: Lags {
                error_rate: 86_400_000,
                ..Lags::default()
            },
            ..EnvPoll::default()
        };
        poll.apply_to(&mut s, 5_000, 1_000);
        assert_eq!(s.error_rate.age(6_000), Some(86_401_000));
        assert!(s.error_rate.is_stale(6_000, 1000), "a day old is stale");
        assert_eq!(s.error_rate.fresh_value(6_000, 1000), None);
        assert_eq!(s.error_rate.value(), Some(0.01), "kept as what was read");
        assert_eq!(
            s.error_rate.history.back(),
            Some(&None),
            "not drawn as recent"
        );
        assert_eq!(s.rps.history.back(), Some(&Some(10.0)));
        assert_eq!(s.rps.age(6_000), Some(1_000));
        assert!(!s.rps.is_stale(6_000, 1000));
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
