//! `[[smoke]]` checks: HTTP requests against the candidate's own address, each with the
//! status, body or JSON field it must answer and a latency limit. Run with `s` and before
//! the first step away from 0.

use super::SmokeReport;
use super::health::{HealthPoller, Probe};
use crate::core::{Env, EnvPair};
use std::time::Duration;

#[derive(Clone, Debug, PartialEq)]
pub struct SmokeCheck {
    pub name: String,
    /// The request for each env (URL per env; method, headers and expectations shared).
    pub probes: EnvPair<Probe>,
    pub max_latency: Option<Duration>,
}

/// Runs the checks one after another, each bounded by its timeout.
pub struct HttpSmoke {
    checks: Vec<SmokeCheck>,
    poller: HealthPoller,
}

impl HttpSmoke {
    pub fn new(checks: Vec<SmokeCheck>) -> HttpSmoke {
        HttpSmoke {
            // The poller's client is made for these URLs (no TLS roots for plain http).
            poller: HealthPoller::new(EnvPair::new(
                checks.iter().map(|c| c.probes.blue.clone()).collect(),
                checks.iter().map(|c| c.probes.green.clone()).collect(),
            )),
            checks,
        }
    }

    pub async fn run(&self, env: Env) -> SmokeReport {
        let mut failed = Vec::new();
        for c in &self.checks {
            let r = self.poller.probe_with(c.probes.get(env), true).await;
            if !r.ok {
                failed.push(format!("{}: {}", c.name, r.detail));
            } else if let Some(max) = c.max_latency
                && r.latency_ms > max.as_secs_f64() * 1000.0
            {
                failed.push(format!(
                    "{}: {:.0} ms > max {} ms",
                    c.name,
                    r.latency_ms,
                    max.as_millis()
                ));
            }
        }
        let n = self.checks.len();
        SmokeReport {
            env,
            passed: failed.is_empty(),
            summary: if failed.is_empty() {
                format!("{n}/{n} checks passed")
            } else {
                format!(
                    "{} of {n} checks failed: {}",
                    failed.len(),
                    failed.join("; ")
                )
            },
        }
    }
}

/// Longest a source's own smoke run (the simulator's) may take before it counts as failed.
pub const SOURCE_SMOKE_TIMEOUT: Duration = Duration::from_secs(60);

/// One smoke run against `env`, as the cockpit's `s` and every pre-flight run it: the
/// `[[smoke]]` checks when there are some, else the first source that can smoke, else a
/// failed report saying there is nothing to run.
pub async fn smoke_now(
    checks: Option<&HttpSmoke>,
    sources: &[std::sync::Arc<dyn super::SignalSource>],
    env: Env,
) -> SmokeReport {
    if let Some(checks) = checks {
        return checks.run(env).await;
    }
    let failed = |summary: String| SmokeReport {
        env,
        passed: false,
        summary,
    };
    match sources.iter().find(|s| s.can_smoke()) {
        None => failed("no smoke checks for this backend".into()),
        Some(source) => tokio::time::timeout(SOURCE_SMOKE_TIMEOUT, source.smoke(env))
            .await
            .unwrap_or_else(|_| {
                failed(format!(
                    "timed out after {}",
                    crate::shared::seconds_text(SOURCE_SMOKE_TIMEOUT.as_secs_f64())
                ))
            }),
    }
}
