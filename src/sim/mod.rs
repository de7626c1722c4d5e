//! The bundled simulator: two env models that answer simulated requests, a weighted router
//! and a load generator. Every number it reports is computed from the requests it served.

pub mod client;
pub mod scenario;
pub mod server;

pub use client::SimClient;
pub use scenario::{Scenario, ScenarioError};

use crate::core::{Env, EnvPair, Health, Weights};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// The simulator's weights run on a 0..=100 scale.
pub const WEIGHT_SCALE: u32 = 100;
/// Statistics are computed over this many seconds of requests.
pub const STATS_WINDOW_S: u64 = 10;
/// Seconds of per-second buckets kept.
const RING: usize = 60;
/// Fine latency histogram: bucket i holds latencies below GROWTH^(i+1) ms.
const GROWTH: f64 = 1.05;
const FINE_BUCKETS: usize = 240;
/// Prometheus histogram bounds, in seconds.
pub const PROM_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// z for the 99th percentile of a standard normal.
const Z99: f64 = 2.326_347_874;

/// What one simulated request got.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Served {
    pub env: Env,
    pub latency_ms: f64,
    pub status: u16,
}

/// One env's figures over the stats window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnvStats {
    pub env: Env,
    pub version: String,
    pub health: Health,
    /// Requests and errors in the window.
    pub requests: u64,
    pub errors: u64,
    pub window_s: f64,
    /// `None` when the env served no request in the window.
    pub error_rate: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub rps: f64,
    pub total_requests: u64,
}

#[derive(Clone)]
struct Bucket {
    second: u64,
    count: u64,
    errors: u64,
    /// Smoke requests among `count`: judged like any request, but not traffic the router
    /// sent, so not in the observed rate.
    synthetic: u64,
    fine: Vec<u32>,
}

impl Bucket {
    fn new(second: u64) -> Bucket {
        Bucket {
            second,
            count: 0,
            errors: 0,
            synthetic: 0,
            fine: vec![0; FINE_BUCKETS],
        }
    }
}

struct EnvState {
    fault_levels: Vec<f64>,
    ring: Vec<Bucket>,
    by_code: std::collections::BTreeMap<u16, u64>,
    prom_buckets: [u64; PROM_BUCKETS.len()],
    latency_sum_s: f64,
    total: u64,
}

impl EnvState {
    fn new(faults: usize) -> EnvState {
        EnvState {
            fault_levels: vec![0.0; faults],
            ring: (0..RING).map(|_| Bucket::new(u64::MAX)).collect(),
            by_code: Default::default(),
            prom_buckets: [0; PROM_BUCKETS.len()],
            latency_sum_s: 0.0,
            total: 0,
        }
    }

    fn record(&mut self, second: u64, latency_ms: f64, status: u16, synthetic: bool) {
        let slot = &mut self.ring[(second % RING as u64) as usize];
        if slot.second != second {
            *slot = Bucket::new(second);
        }
        slot.count += 1;
        slot.synthetic += u64::from(synthetic);
        if status >= 500 {
            slot.errors += 1;
        }
        slot.fine[fine_index(latency_ms)] += 1;
        *self.by_code.entry(status).or_default() += 1;
        let secs = latency_ms / 1000.0;
        for (i, le) in PROM_BUCKETS.iter().enumerate() {
            if secs <= *le {
                self.prom_buckets[i] += 1;
            }
        }
        self.latency_sum_s += secs;
        self.total += 1;
    }
}

fn fine_index(ms: f64) -> usize {
    if ms <= 1.0 {
        return 0;
    }
    ((ms.ln() / GROWTH.ln()) as usize).min(FINE_BUCKETS - 1)
}

fn fine_upper(i: usize) -> f64 {
    GROWTH.powi(i as i32 + 1)
}

/// The simulator: scenario, clock, weights, env states and a seeded RNG.
pub struct Simulator {
    scenario: Scenario,
    rng: ChaCha8Rng,
    now_ms: u64,
    weights: Weights,
    envs: EnvPair<EnvState>,
    carry: f64,
    load: bool,
}

impl Simulator {
    /// A simulator at time 0 with all traffic on the scenario's live env.
    pub fn new(scenario: Scenario, seed: Option<u64>) -> Simulator {
        let rng = ChaCha8Rng::seed_from_u64(seed.unwrap_or(scenario.seed));
        let weights = Weights::for_share(scenario.live.other(), 0, WEIGHT_SCALE);
        let mut envs = EnvPair::new(
            EnvState::new(scenario.blue.faults.len()),
            EnvState::new(scenario.green.faults.len()),
        );
        for env in Env::ALL {
            let levels: Vec<f64> = scenario
                .env(env)
                .faults
                .iter()
                .map(|f| {
                    if f.for_first.is_some_and(|d| !d.is_zero()) {
                        1.0
                    } else {
                        0.0
                    }
                })
                .collect();
            envs.get_mut(env).fault_levels = levels;
        }
        Simulator {
            scenario,
            rng,
            now_ms: 0,
            weights,
            envs,
            carry: 0.0,
            load: true,
        }
    }

    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// Turns the built-in load generator on or off (off when a real balancer sends load).
    pub fn set_load(&mut self, on: bool) {
        self.load = on;
    }

    pub fn weights(&self) -> Weights {
        self.weights
    }

    pub fn set_weights(&mut self, w: Weights) {
        self.weights = w;
    }

    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// Fault intensity of `env` (0..=1 per fault), for tests and diagnostics.
    pub fn fault_levels(&self, env: Env) -> &[f64] {
        &self.envs.get(env).fault_levels
    }

    /// Moves simulated time forward by `dt_ms`, generating and serving the load of that time.
    pub fn advance(&mut self, dt_ms: u64) {
        let mut left = dt_ms;
        while left > 0 {
            let step = left.min(100);
            left -= step;
            self.now_ms += step;
            self.update_faults(step);
            if !self.load {
                continue;
            }
            let want = self.scenario.rps * step as f64 / 1000.0 + self.carry;
            let n = want.floor();
            self.carry = want - n;
            let Some(green_frac) = self.weights.fraction(Env::Green) else {
                continue;
            };
            for _ in 0..n as u64 {
                let env = if self.rng.random::<f64>() < green_frac {
                    Env::Green
                } else {
                    Env::Blue
                };
                self.serve(env);
            }
        }
    }

    /// The share of the last few seconds' requests that `env` served: with the load sent
    /// through a real balancer, this is the share that counts, not the simulator's weights.
    fn served_fraction(&self, env: Env) -> Option<f64> {
        let now_s = self.now_ms / 1000;
        let count = |e: Env| -> u64 {
            self.envs
                .get(e)
                .ring
                .iter()
                .filter(|b| b.second != u64::MAX && b.second + 3 > now_s && b.second <= now_s)
                .map(|b| b.count)
                .sum()
        };
        let (mine, other) = (count(env), count(env.other()));
        (mine + other >= 20).then(|| mine as f64 / (mine + other) as f64)
    }

    fn update_faults(&mut self, dt_ms: u64) {
        let now = self.now_ms;
        for env in Env::ALL {
            let frac = if self.load {
                self.weights.fraction(env)
            } else {
                self.served_fraction(env)
            }
            .unwrap_or(0.0)
                * 100.0;
            let faults = &self.scenario.env(env).faults;
            let state = self.envs.get_mut(env);
            for (f, level) in faults.iter().zip(state.fault_levels.iter_mut()) {
                let active = match (f.when_share_at_least, f.for_first) {
                    (Some(min), _) => frac + 1e-9 >= f64::from(min),
                    (None, Some(d)) => (now as u128) < d.as_millis(),
                    (None, None) => false,
                };
                let target = if active { 1.0 } else { 0.0 };
                let tau = f.ramp.as_secs_f64().max(0.001);
                let k = 1.0 - (-(dt_ms as f64 / 1000.0) / tau).exp();
                *level += (target - *level) * k;
            }
        }
    }

    /// Serves one request on `env` and records it.
    pub fn serve(&mut self, env: Env) -> Served {
        self.serve_as(env, false)
    }

    /// Serves one smoke request on `env`: judged like any request (errors, latency), not
    /// counted as routed traffic (the observed share).
    pub fn serve_smoke(&mut self, env: Env) -> Served {
        self.serve_as(env, true)
    }

    fn serve_as(&mut self, env: Env, synthetic: bool) -> Served {
        let spec = self.scenario.env(env);
        let levels = &self.envs.get(env).fault_levels;
        let mut p_err = spec.error_rate;
        let mut scale = 1.0;
        let base_p99 = spec.p99.as_secs_f64() * 1000.0;
        for (f, &lvl) in spec.faults.iter().zip(levels) {
            if let Some(e) = f.error_rate {
                p_err += lvl * (e - spec.error_rate);
            }
            if let Some(p) = f.p99 {
                scale += lvl * (p.as_secs_f64() * 1000.0 / base_p99 - 1.0);
            }
        }
        let p50 = spec.p50.as_secs_f64() * 1000.0;
        let sigma = (base_p99 / p50).ln() / Z99;
        let z = standard_normal(&mut self.rng);
        let latency_ms = (p50 * (sigma * z).exp() * scale).max(0.1);
        let status = if self.rng.random::<f64>() < p_err.clamp(0.0, 1.0) {
            500
        } else {
            200
        };
        let second = self.now_ms / 1000;
        self.envs
            .get_mut(env)
            .record(second, latency_ms, status, synthetic);
        Served {
            env,
            latency_ms,
            status,
        }
    }

    /// `env`'s figures over the last [`STATS_WINDOW_S`] seconds.
    pub fn stats(&self, env: Env) -> EnvStats {
        let state = self.envs.get(env);
        let now_s = self.now_ms / 1000;
        let oldest = now_s.saturating_sub(STATS_WINDOW_S - 1);
        let mut count = 0;
        let mut errors = 0;
        let mut synthetic = 0;
        let mut fine = vec![0u64; FINE_BUCKETS];
        for b in state
            .ring
            .iter()
            .filter(|b| b.second != u64::MAX && b.second >= oldest && b.second <= now_s)
        {
            count += b.count;
            errors += b.errors;
            synthetic += b.synthetic;
            for (acc, v) in fine.iter_mut().zip(&b.fine) {
                *acc += u64::from(*v);
            }
        }
        // The window covers whole past seconds plus the part of the current one.
        let covered = (self.now_ms as f64 / 1000.0)
            .min(STATS_WINDOW_S as f64 - 1.0 + (self.now_ms % 1000) as f64 / 1000.0);
        let window_s = covered.max(0.001);
        let quantile = |q: f64| -> Option<f64> {
            if count == 0 {
                return None;
            }
            let rank = (q * count as f64).ceil().max(1.0) as u64;
            let mut acc = 0;
            for (i, v) in fine.iter().enumerate() {
                acc += v;
                if acc >= rank {
                    return Some(fine_upper(i));
                }
            }
            None
        };
        EnvStats {
            env,
            version: self.scenario.env(env).version.clone(),
            health: Health::Up,
            requests: count,
            errors,
            window_s,
            error_rate: (count > 0).then(|| errors as f64 / count as f64),
            p50_ms: quantile(0.50),
            p99_ms: quantile(0.99),
            rps: count.saturating_sub(synthetic) as f64 / window_s,
            total_requests: state.total,
        }
    }

    /// Prometheus text exposition of `env`'s request counters and latency histogram.
    pub fn metrics_text(&self, env: Env) -> String {
        use std::fmt::Write;
        let s = self.envs.get(env);
        let e = env.name();
        let mut out = String::new();
        out.push_str("# HELP http_requests_total Requests served, by status code.\n");
        out.push_str("# TYPE http_requests_total counter\n");
        for code in [200u16, 500] {
            let n = s.by_code.get(&code).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "http_requests_total{{env=\"{e}\",code=\"{code}\"}} {n}"
            );
        }
        out.push_str("# HELP http_request_duration_seconds Request latency.\n");
        out.push_str("# TYPE http_request_duration_seconds histogram\n");
        for (le, n) in PROM_BUCKETS.iter().zip(s.prom_buckets) {
            let _ = writeln!(
                out,
                "http_request_duration_seconds_bucket{{env=\"{e}\",le=\"{le}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "http_request_duration_seconds_bucket{{env=\"{e}\",le=\"+Inf\"}} {}",
            s.total
        );
        let _ = writeln!(
            out,
            "http_request_duration_seconds_sum{{env=\"{e}\"}} {}",
            s.latency_sum_s
        );
        let _ = writeln!(
            out,
            "http_request_duration_seconds_count{{env=\"{e}\"}} {}",
            s.total
        );
        let _ = writeln!(
            out,
            "# TYPE cutover_sim_weight gauge\ncutover_sim_weight{{env=\"{e}\"}} {}",
            self.weights.get(env)
        );
        out
    }
}

/// A standard normal draw (Box–Muller).
fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A simulator shared between its clock task, its backend and its signal source.
#[derive(Clone)]
pub struct SimHandle {
    inner: Arc<Mutex<Simulator>>,
    write_delay_ms: Arc<AtomicU64>,
    /// The driver lease and the cutover record held at this simulator.
    slots: Arc<Mutex<std::collections::HashMap<crate::core::Slot, String>>>,
}

impl SimHandle {
    pub fn new(sim: Simulator) -> SimHandle {
        SimHandle {
            inner: Arc::new(Mutex::new(sim)),
            write_delay_ms: Arc::new(AtomicU64::new(0)),
            slots: Default::default(),
        }
    }

    /// The text held in `slot`.
    pub fn load(&self, slot: crate::core::Slot) -> Option<String> {
        let slots = self
            .slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        slots.get(&slot).cloned()
    }

    /// Compare-and-swap of `slot`: replaced only if it holds exactly `expect`.
    pub fn swap(&self, slot: crate::core::Slot, expect: Option<&str>, new: Option<&str>) -> bool {
        let mut slots = self
            .slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if slots.get(&slot).map(String::as_str) != expect {
            return false;
        }
        match new {
            Some(t) => slots.insert(slot, t.to_string()),
            None => slots.remove(&slot),
        };
        true
    }

    pub fn lock(&self) -> MutexGuard<'_, Simulator> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How long a weight write takes to land (drills of a slow backend).
    pub fn write_delay(&self) -> Duration {
        Duration::from_millis(self.write_delay_ms.load(Ordering::Relaxed))
    }

    pub fn set_write_delay(&self, d: Duration) {
        self.write_delay_ms
            .store(d.as_millis() as u64, Ordering::Relaxed);
    }

    /// Writes weights after the configured delay. Dropping the future before the delay
    /// ends leaves the weights untouched.
    pub async fn write_weights(&self, w: Weights) {
        let delay = self.write_delay();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        self.lock().set_weights(w);
    }

    /// Runs the simulator's clock in real time: every 100 ms it advances by the time that
    /// really passed.
    pub fn spawn_clock(&self) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let start = tokio::time::Instant::now();
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let real = start.elapsed().as_millis() as u64;
                let mut sim = me.lock();
                let dt = real.saturating_sub(sim.now_ms());
                if dt > 0 {
                    sim.advance(dt);
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fine_buckets_are_monotonic_and_cover_a_minute() {
        assert_eq!(fine_index(0.5), 0);
        assert!(fine_upper(fine_index(1500.0)) >= 1500.0);
        assert!(fine_upper(fine_index(1500.0)) < 1500.0 * GROWTH * GROWTH);
        assert!(fine_upper(FINE_BUCKETS - 1) > 60_000.0);
    }

    #[test]
    fn same_seed_same_numbers() {
        let run = || {
            let mut s = Simulator::new(Scenario::load("happy").unwrap(), Some(1));
            s.set_weights(Weights::new(50, 50));
            s.advance(5_000);
            (s.stats(Env::Green), s.stats(Env::Blue))
        };
        assert_eq!(run(), run());
    }

    #[test]
    fn smoke_requests_are_judged_but_are_not_routed_traffic() {
        let mut s = Simulator::new(Scenario::load("happy").unwrap(), Some(1));
        s.set_weights(Weights::new(100, 0));
        s.advance(3_000);
        let before = s.stats(Env::Green);
        assert_eq!(before.requests, 0);
        for _ in 0..50 {
            s.serve_smoke(Env::Green);
        }
        let after = s.stats(Env::Green);
        assert_eq!(after.requests, 50, "judged");
        assert!(after.error_rate.is_some() && after.p99_ms.is_some());
        assert_eq!(after.rps, 0.0, "green at 0 % gets no routed traffic");
    }
}
