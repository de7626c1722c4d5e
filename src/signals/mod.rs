//! Signal sources: each polled by its own task with a timeout; results go to the loop as
//! events and never touch state. A source provides some signals of both envs; the loop
//! merges what each provides.

pub mod health;
pub mod prometheus;
pub mod sim;
pub mod smoke;

pub use health::HealthPoller;
pub use prometheus::PrometheusSource;
pub use sim::SimSignals;

use crate::core::{Env, EnvPair, EnvSignals, HealthSample, Millis, Reading};
use async_trait::async_trait;

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
    async fn poll(&self) -> Result<EnvPair<EnvPoll>, String>;
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
    blue: Result<crate::core::HealthSample, String>,
    green: Result<crate::core::HealthSample, String>,
) -> Result<EnvPair<EnvPoll>, String> {
    if let (Err(e), Err(_)) = (&blue, &green) {
        return Err(e.clone());
    }
    let poll = |r: Result<crate::core::HealthSample, String>| EnvPoll {
        health: Some(r.unwrap_or_else(|e| crate::core::HealthSample {
            health: crate::core::Health::Unknown,
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
