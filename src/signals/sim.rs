//! Signals from the simulator: its request statistics, and for `sim serve` a real HTTP
//! health probe of each env.

use super::{EnvPoll, SignalSource, SmokeReport};
use crate::core::{Env, EnvPair, Health, HealthSample, Reading};
use crate::sim::{EnvStats, SimClient, SimHandle, Simulator};
use async_trait::async_trait;
use std::sync::Mutex;
use std::time::Instant;

/// Requests a smoke run sends.
pub const SMOKE_REQUESTS: u32 = 50;
/// Smoke passes with at most this many failures…
const SMOKE_MAX_ERRORS: u32 = 1;
/// …and every request faster than this.
const SMOKE_MAX_LATENCY_MS: f64 = 1000.0;
/// Fewer requests than this in the window make a rate or a p99 that means nothing: it is
/// reported as no data, not as a number.
pub const MIN_REQUESTS: u64 = 100;

/// Which signals the simulator source provides (others may come from Prometheus or HTTP
/// health probes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Provides {
    /// Error rate, p99, rps and the request counts.
    pub metrics: bool,
    pub health: bool,
}

impl Provides {
    pub const ALL: Provides = Provides {
        metrics: true,
        health: true,
    };
}

pub enum Mode {
    Local(SimHandle),
    Remote {
        client: SimClient,
        failures: Mutex<EnvPair<u32>>,
    },
}

pub struct SimSignals {
    pub mode: Mode,
    pub provides: Provides,
}

impl SimSignals {
    pub fn local(handle: SimHandle) -> SimSignals {
        SimSignals {
            mode: Mode::Local(handle),
            provides: Provides::ALL,
        }
    }

    pub fn remote(client: SimClient, provides: Provides) -> SimSignals {
        SimSignals {
            mode: Mode::Remote {
                client,
                failures: Mutex::new(EnvPair::default()),
            },
            provides,
        }
    }
}

fn poll_from_stats(s: &EnvStats, health: HealthSample, provides: Provides) -> EnvPoll {
    let judged = |v: Option<f64>| {
        Some(if s.requests == 0 {
            Reading::NoData("no requests in the window".into())
        } else if s.requests < MIN_REQUESTS {
            Reading::NoData(format!("{} requests: too few to judge", s.requests))
        } else {
            Reading::from_option(v, "no requests in the window")
        })
    };
    let mut p = EnvPoll {
        version: Some(s.version.clone()),
        ..EnvPoll::default()
    };
    if provides.health {
        p.health = Some(health);
    }
    if provides.metrics {
        p.error_rate = judged(s.error_rate);
        p.p99_ms = judged(s.p99_ms);
        p.rps = Some(Reading::Value(s.rps));
        p.requests = Some(Reading::Value(s.requests as f64));
        p.errors = Some(Reading::Value(s.errors as f64));
    }
    p
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
        poll_from_stats(&s, health, Provides::ALL)
    })
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

#[async_trait]
impl SignalSource for SimSignals {
    fn name(&self) -> String {
        match &self.mode {
            Mode::Local(_) => "simulator".into(),
            Mode::Remote { client, .. } => format!("sim {}", client.base()),
        }
    }

    fn provides(&self) -> crate::core::Provided {
        let m = self.provides.metrics;
        crate::core::Provided {
            health: self.provides.health,
            error_rate: m,
            p99: m,
            rps: m,
            counts: m,
        }
    }

    fn can_smoke(&self) -> bool {
        true
    }

    async fn poll(&self) -> Result<EnvPair<EnvPoll>, crate::shared::SignalError> {
        match &self.mode {
            Mode::Local(h) => Ok(poll_local(&h.lock())),
            Mode::Remote { client, failures } => {
                let stats = client.stats().await.map_err(|e| e.to_string())?;
                let mut out = EnvPair::<EnvPoll>::default();
                for env in Env::ALL {
                    let url = format!("{}/health", stats.urls.get(env));
                    let t = Instant::now();
                    let probe = client.http().get(&url).send().await;
                    let ms = t.elapsed().as_secs_f64() * 1000.0;
                    let ok = probe.as_ref().is_ok_and(|r| r.status().is_success());
                    let detail = match &probe {
                        Ok(r) => format!("{url} → HTTP {}", r.status().as_u16()),
                        Err(e) => format!("{url} → {}", crate::shared::root_cause(e)),
                    };
                    let fails = {
                        let mut f = failures
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
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
                    *out.get_mut(env) = poll_from_stats(stats.envs.get(env), health, self.provides);
                }
                Ok(out)
            }
        }
    }

    async fn smoke(&self, env: Env) -> SmokeReport {
        match &self.mode {
            Mode::Local(h) => {
                let mut sim = h.lock();
                let (mut errors, mut worst) = (0, 0.0f64);
                for _ in 0..SMOKE_REQUESTS {
                    let s = sim.serve_smoke(env);
                    errors += u32::from(s.status >= 500);
                    worst = worst.max(s.latency_ms);
                }
                smoke_verdict(env, errors, worst, SMOKE_REQUESTS)
            }
            Mode::Remote { client, .. } => {
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
                let (mut errors, mut worst, mut first) = (0, 0.0f64, None);
                for _ in 0..SMOKE_REQUESTS {
                    let t = Instant::now();
                    let r = client
                        .http()
                        .get(format!("{base}/"))
                        .header(crate::sim::server::SMOKE_HEADER, "1")
                        .send()
                        .await;
                    let ms = t.elapsed().as_secs_f64() * 1000.0;
                    let why = match r {
                        Ok(r) if r.status().is_success() => None,
                        Ok(r) => Some(format!("HTTP {}", r.status().as_u16())),
                        Err(e) => {
                            Some(crate::shared::one_line(&crate::shared::root_cause(&e), 120))
                        }
                    };
                    errors += u32::from(why.is_some());
                    first = first.or(why);
                    worst = worst.max(ms);
                }
                let mut report = smoke_verdict(env, errors, worst, SMOKE_REQUESTS);
                if let Some(why) = first.filter(|_| !report.passed) {
                    report.summary = format!("{why} from {base}: {}", report.summary);
                }
                report
            }
        }
    }
}
