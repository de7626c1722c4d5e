//! Signals from the simulator: its request statistics, and for `sim serve` a real HTTP
//! health probe of each env.

use super::{EnvPoll, SignalSource, SmokeReport};
use crate::backends::SimClient;
use crate::core::{Env, EnvPair, Health, HealthSample, Reading};
use crate::sim::{EnvStats, SimHandle, Simulator};
use async_trait::async_trait;
use std::sync::Mutex;
use std::time::Instant;

/// Requests a smoke run sends.
pub const SMOKE_REQUESTS: u32 = 50;
/// Smoke passes with at most this many failures…
const SMOKE_MAX_ERRORS: u32 = 1;
/// …and every request faster than this.
const SMOKE_MAX_LATENCY_MS: f64 = 1000.0;

pub enum SimSignals {
    Local(SimHandle),
    Remote {
        client: SimClient,
        failures: Mutex<EnvPair<u32>>,
    },
}

impl SimSignals {
    pub fn remote(client: SimClient) -> SimSignals {
        SimSignals::Remote {
            client,
            failures: Mutex::new(EnvPair::default()),
        }
    }
}

/// Fewer requests than this in the window make a rate or a p99 that means nothing: it is
/// reported as no data, not as a number.
pub const MIN_REQUESTS: u64 = 100;

fn poll_from_stats(s: &EnvStats, health: HealthSample) -> EnvPoll {
    let judged = |v: Option<f64>| {
        if s.requests == 0 {
            Reading::NoData("no requests in the window".into())
        } else if s.requests < MIN_REQUESTS {
            Reading::NoData(format!("{} requests: too few to judge", s.requests))
        } else {
            Reading::from_option(v, "no requests in the window")
        }
    };
    EnvPoll {
        health: Some(health),
        error_rate: judged(s.error_rate),
        p99_ms: judged(s.p99_ms),
        rps: Reading::Value(s.rps),
        version: Some(s.version.clone()),
    }
}

fn smoke_verdict(env: Env, errors: u32, worst_ms: f64, sent: u32) -> SmokeReport {
    let passed = errors <= SMOKE_MAX_ERRORS && worst_ms <= SMOKE_MAX_LATENCY_MS;
    SmokeReport {
        env,
        passed,
        summary: format!(
            "{ok}/{sent} ok, slowest {worst_ms:.0} ms (pass: ≤ {SMOKE_MAX_ERRORS} failures, all < {SMOKE_MAX_LATENCY_MS:.0} ms)",
            ok = sent - errors
        ),
    }
}

/// One poll of an in-process simulator.
pub fn poll_local(sim: &Simulator) -> EnvPair<EnvPoll> {
    EnvPair::new(Env::Blue, Env::Green).map(|_, &env| {
        let s = sim.stats(env);
        let health = HealthSample {
            health: s.health,
            up: 1,
            total: 1,
            latency_ms: s.p50_ms,
            failures: 0,
            detail: "simulated".into(),
        };
        poll_from_stats(&s, health)
    })
}

#[async_trait]
impl SignalSource for SimSignals {
    fn name(&self) -> String {
        match self {
            SimSignals::Local(_) => "simulator".into(),
            SimSignals::Remote { client, .. } => format!("sim {}", client.base()),
        }
    }

    async fn poll(&self) -> Result<EnvPair<EnvPoll>, String> {
        match self {
            SimSignals::Local(h) => Ok(poll_local(&h.lock())),
            SimSignals::Remote { client, failures } => {
                let stats = client.stats().await.map_err(|e| e.to_string())?;
                let mut out = Vec::new();
                for env in Env::ALL {
                    let url = format!("{}/health", stats.urls.get(env));
                    let t = Instant::now();
                    let probe = client.http().get(&url).send().await;
                    let ms = t.elapsed().as_secs_f64() * 1000.0;
                    let ok = probe.as_ref().is_ok_and(|r| r.status().is_success());
                    let detail = match &probe {
                        Ok(r) => format!("{url} → HTTP {}", r.status().as_u16()),
                        Err(e) => format!("{url} → {}", crate::backends::sim::root_cause(e)),
                    };
                    let fails = {
                        let mut f = failures.lock().unwrap_or_else(|p| p.into_inner());
                        let n = f.get_mut(env);
                        *n = if ok { 0 } else { *n + 1 };
                        *n
                    };
                    let health = HealthSample {
                        health: if ok { Health::Up } else { Health::Down },
                        up: u32::from(ok),
                        total: 1,
                        latency_ms: ok.then_some(ms),
                        failures: fails,
                        detail,
                    };
                    out.push(poll_from_stats(stats.envs.get(env), health));
                }
                let green = out.pop().expect("two envs");
                let blue = out.pop().expect("two envs");
                Ok(EnvPair::new(blue, green))
            }
        }
    }

    async fn smoke(&self, env: Env) -> SmokeReport {
        match self {
            SimSignals::Local(h) => {
                let mut sim = h.lock();
                let (mut errors, mut worst) = (0, 0.0f64);
                for _ in 0..SMOKE_REQUESTS {
                    let s = sim.serve(env);
                    errors += u32::from(s.status >= 500);
                    worst = worst.max(s.latency_ms);
                }
                smoke_verdict(env, errors, worst, SMOKE_REQUESTS)
            }
            SimSignals::Remote { client, .. } => {
                let base = match client.stats().await {
                    Ok(s) => s.urls.get(env).clone(),
                    Err(e) => {
                        return SmokeReport {
                            env,
                            passed: false,
                            summary: e.to_string(),
                        };
                    }
                };
                let (mut errors, mut worst) = (0, 0.0f64);
                for _ in 0..SMOKE_REQUESTS {
                    let t = Instant::now();
                    let r = client.http().get(format!("{base}/")).send().await;
                    let ms = t.elapsed().as_secs_f64() * 1000.0;
                    errors += u32::from(!r.is_ok_and(|r| r.status().is_success()));
                    worst = worst.max(ms);
                }
                smoke_verdict(env, errors, worst, SMOKE_REQUESTS)
            }
        }
    }
}
