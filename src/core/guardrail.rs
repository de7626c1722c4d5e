//! Guardrails: thresholds on the candidate's signals, absolute and relative to live. A
//! breach counts only once it has lasted `for`. Every rule says one of OK, BREACH, STALE,
//! NO DATA, WAITING or INVALID ([`RuleCheck`], in `verdict.rs`): no data, too few
//! requests and an impossible value are each their own verdict, never OK.

use super::signal::{EnvSignals, Reading, Series};
use super::stats::{two_proportion, wilson_lower};
use super::value::Provided;
pub use super::verdict::RuleCheck;
use super::{Health, Millis};

/// What a rule without data (or with stale or invalid data) means.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NoDataPolicy {
    /// Shown as NO DATA / STALE / INVALID, not a breach.
    #[default]
    Warn,
    /// Counts as a breach (after `for`). A rule that no configured source can feed does
    /// not: it would breach forever.
    Breach,
}

/// Which direction of a metric is bad.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bad {
    Up,
    Down,
}

/// A guardrail on an extra named metric: the candidate may not move more than `max_change`
/// (a fraction) from live's value in the bad direction. Compared per request (each value
/// divided by its env's rps) where rps is known.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricRule {
    pub name: String,
    pub bad: Bad,
    pub max_change: f64,
}

/// The configured thresholds. `None` disables a rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Guardrails {
    /// Error rate as a fraction (0.01 = 1 %).
    pub max_error_rate: Option<f64>,
    /// Candidate minus live error rate, as a fraction; breaches only when significant.
    pub max_error_rate_delta: Option<f64>,
    pub max_p99_ms: Option<f64>,
    /// Candidate p99 over live p99.
    pub max_p99_ratio: Option<f64>,
    /// Consecutive failed health polls.
    pub max_health_failures: Option<u32>,
    pub metrics: Vec<MetricRule>,
    /// Error-rate rules wait (WAITING) until the candidate served this many requests in the
    /// window: fewer say nothing either way.
    pub min_requests: Option<u64>,
    /// How long a breach must last before it counts.
    pub for_ms: Millis,
    pub no_data: NoDataPolicy,
}

impl Default for Guardrails {
    fn default() -> Self {
        Guardrails {
            max_error_rate: Some(0.01),
            max_error_rate_delta: None,
            max_p99_ms: Some(2000.0),
            max_p99_ratio: None,
            max_health_failures: Some(3),
            metrics: Vec::new(),
            min_requests: None,
            for_ms: 0,
            no_data: NoDataPolicy::Warn,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RuleKind {
    ErrorRate,
    ErrorRateDelta,
    P99,
    P99Ratio,
    HealthFailures,
    Metric(String),
}

impl RuleKind {
    /// A short name, as on screen and in `status --json`.
    pub fn name(&self) -> String {
        match self {
            RuleKind::ErrorRate => "error-rate".into(),
            RuleKind::ErrorRateDelta => "error-rate-vs-live".into(),
            RuleKind::P99 => "p99".into(),
            RuleKind::P99Ratio => "p99-vs-live".into(),
            RuleKind::HealthFailures => "health".into(),
            RuleKind::Metric(n) => n.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct RuleResult {
    pub kind: RuleKind,
    pub check: RuleCheck,
    /// The judged value: the candidate's, or for relative rules the difference or ratio.
    pub value: Option<f64>,
    pub limit: f64,
}

/// Remembers since when each rule has been over its threshold.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BreachClock {
    since: Vec<(RuleKind, Millis)>,
}

/// When and on what rules are judged: now, the poll interval that says what is fresh, and
/// which signals some configured source provides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Judging {
    pub now: Millis,
    pub interval: Millis,
    pub provided: Provided,
}

impl Judging {
    /// With every signal provided (tests, and a simulator that provides them all).
    pub fn at(now: Millis, interval: Millis) -> Judging {
        Judging {
            now,
            interval,
            provided: Provided::ALL,
        }
    }

    /// The latest value of `series` when it can be judged; else the verdict saying why not.
    /// `signal` names it when no source provides it (`provided` false).
    fn fresh(self, s: &Series, provided: bool, signal: &'static str) -> Result<f64, RuleCheck> {
        if !provided {
            return Err(RuleCheck::NoSource(signal));
        }
        let Some(sample) = &s.latest else {
            return Err(RuleCheck::NoData);
        };
        if s.is_stale(self.now, self.interval) {
            return Err(RuleCheck::Stale);
        }
        match &sample.reading {
            Reading::Value(v) => Ok(*v),
            Reading::Invalid(why) => Err(RuleCheck::Invalid(why.clone())),
            Reading::NoData(_) | Reading::Error(_) => Err(RuleCheck::NoData),
        }
    }

    fn value(self, s: &Series) -> Option<f64> {
        s.fresh_value(self.now, self.interval)
    }
}

fn over(value: f64, limit: f64) -> RuleCheck {
    verdict(value > limit)
}

fn verdict(bad: bool) -> RuleCheck {
    if bad {
        RuleCheck::Breach
    } else {
        RuleCheck::Ok
    }
}

impl Guardrails {
    /// Each enabled rule judged on the signals at `at`, before `for` is applied.
    pub fn evaluate(&self, cand: &EnvSignals, live: &EnvSignals, at: Judging) -> Vec<RuleResult> {
        let mut out = Vec::new();
        let mut push = |kind, limit: f64, r: Judged| {
            let (value, check) = match r {
                Ok((v, c)) => (Some(v), c),
                Err(c) => (None, c),
            };
            out.push(RuleResult {
                kind,
                check,
                value,
                limit,
            });
        };
        let p = at.provided;
        if let Some(limit) = self.max_error_rate {
            let r = self
                .enough_requests(cand, at)
                .and_then(|()| error_rate(cand, at, limit));
            push(RuleKind::ErrorRate, limit, r);
        }
        if let Some(limit) = self.max_error_rate_delta {
            let r = self
                .enough_requests(cand, at)
                .and_then(|()| error_rate_delta(cand, live, at, limit));
            push(RuleKind::ErrorRateDelta, limit, r);
        }
        if let Some(limit) = self.max_p99_ms {
            let r = at
                .fresh(&cand.p99_ms, p.p99, "p99")
                .map(|v| (v, over(v, limit)));
            push(RuleKind::P99, limit, r);
        }
        if let Some(limit) = self.max_p99_ratio {
            push(RuleKind::P99Ratio, limit, p99_ratio(cand, live, at, limit));
        }
        if let Some(limit) = self.max_health_failures {
            push(
                RuleKind::HealthFailures,
                f64::from(limit),
                health_failures(cand, at, limit),
            );
        }
        for m in &self.metrics {
            push(
                RuleKind::Metric(m.name.clone()),
                m.max_change,
                metric_change(m, cand, live, at),
            );
        }
        out
    }

    /// Evaluates and applies `for` and the no-data policy with `clock`.
    pub fn check(
        &self,
        cand: &EnvSignals,
        live: &EnvSignals,
        at: Judging,
        clock: &mut BreachClock,
    ) -> Vec<RuleResult> {
        let mut results = self.evaluate(cand, live, at);
        clock.settle(&mut results, at.now, self.for_ms, self.no_data);
        results
    }

    /// With `min-requests` set, an error-rate rule is judged only once the candidate served
    /// that many requests in the window: WAITING n/min until then. The error rate's own
    /// trouble (no source, no data, stale, invalid) is said first.
    fn enough_requests(&self, cand: &EnvSignals, at: Judging) -> Result<(), RuleCheck> {
        let Some(min) = self.min_requests else {
            return Ok(());
        };
        at.fresh(&cand.error_rate, at.provided.error_rate, "error-rate")?;
        let n = at
            .fresh(&cand.requests, at.provided.counts, "request-count")
            .map_err(|c| match c {
                RuleCheck::Invalid(why) => RuleCheck::Invalid(format!("request count {why}")),
                c => c,
            })?;
        if n < min as f64 {
            return Err(RuleCheck::Waiting { n: n as u64, min });
        }
        Ok(())
    }
}

impl BreachClock {
    /// Turns a breach that has not lasted `for_ms` into `Pending`, and missing data (none,
    /// stale or invalid) into a breach when the policy says so.
    pub fn settle(
        &mut self,
        results: &mut [RuleResult],
        now: Millis,
        for_ms: Millis,
        policy: NoDataPolicy,
    ) {
        self.since
            .retain(|(k, _)| results.iter().any(|r| &r.kind == k));
        for r in results.iter_mut() {
            let raw = match &r.check {
                RuleCheck::Breach => true,
                c if c.is_missing() => policy == NoDataPolicy::Breach,
                _ => false,
            };
            if !raw {
                self.since.retain(|(k, _)| k != &r.kind);
                continue;
            }
            let since = match self.since.iter().find(|(k, _)| k == &r.kind) {
                Some((_, s)) => *s,
                None => {
                    self.since.push((r.kind.clone(), now));
                    now
                }
            };
            r.check = if now.saturating_sub(since) >= for_ms {
                RuleCheck::Breach
            } else {
                RuleCheck::Pending { since }
            };
        }
    }
}

/// True when any rule is breached.
pub fn any_breach(results: &[RuleResult]) -> bool {
    results.iter().any(|r| r.check == RuleCheck::Breach)
}

/// A rule's measured value and verdict, or why there is no value.
type Judged = Result<(f64, RuleCheck), RuleCheck>;

/// Live's side of a relative rule: an invalid value says it is live's.
fn live_side(c: RuleCheck) -> RuleCheck {
    match c {
        RuleCheck::Invalid(why) => RuleCheck::Invalid(format!("live: {why}")),
        c => c,
    }
}

/// With request and error counts, the rate breaches only when even the low end of its 95 %
/// interval is over the limit: 2 errors in 197 requests is not "1 %".
fn error_rate(cand: &EnvSignals, at: Judging, limit: f64) -> Judged {
    let counts = (at.value(&cand.errors), at.value(&cand.requests));
    let v = at.fresh(&cand.error_rate, at.provided.error_rate, "error-rate")?;
    if v <= limit {
        return Ok((v, RuleCheck::Ok));
    }
    // Over the limit: a breach when the counts say it is no fluke. Counts that do not
    // describe the rate on screen (another query, another window) prove nothing.
    let (Some(e), Some(n)) = counts else {
        return Ok((v, RuleCheck::Breach));
    };
    if n <= 0.0 || (e / n - v).abs() > (0.5 * v).max(0.005) {
        return Ok((v, RuleCheck::Breach));
    }
    match wilson_lower(e, n) {
        Some(low) if low > limit => Ok((v, RuleCheck::Breach)),
        // Over the limit on too few requests to be sure: not OK, not yet a breach.
        Some(_) => Ok((
            v,
            RuleCheck::Waiting {
                n: n as u64,
                min: requests_to_tell(v, limit),
            },
        )),
        None => Ok((v, RuleCheck::Breach)),
    }
}

/// How many requests at `rate` make its 95 % interval's low end clear `limit`.
fn requests_to_tell(rate: f64, limit: f64) -> u64 {
    let mut n = 1.0f64;
    while n < 1e9 {
        if wilson_lower(rate * n, n).is_some_and(|low| low > limit) {
            return n as u64;
        }
        n = (n * 1.25).ceil();
    }
    n as u64
}

/// The candidate's error rate over the live env's; with counts, only a significant
/// difference breaches.
fn error_rate_delta(cand: &EnvSignals, live: &EnvSignals, at: Judging, limit: f64) -> Judged {
    let p = at.provided.error_rate;
    let c = at.fresh(&cand.error_rate, p, "error-rate")?;
    let l = at
        .fresh(&live.error_rate, p, "error-rate")
        .map_err(live_side)?;
    let delta = c - l;
    let counts = [&cand.errors, &cand.requests, &live.errors, &live.requests].map(|s| at.value(s));
    let significant = match counts {
        [Some(ec), Some(nc), Some(el), Some(nl)] => {
            two_proportion(ec, nc, el, nl).map(|d| d.significant)
        }
        _ => Some(true),
    };
    Ok(match significant {
        _ if delta <= limit => (delta, RuleCheck::Ok),
        Some(true) => (delta, RuleCheck::Breach),
        Some(false) => (delta, RuleCheck::Ok),
        None => (delta, RuleCheck::NoData),
    })
}

fn p99_ratio(cand: &EnvSignals, live: &EnvSignals, at: Judging, limit: f64) -> Judged {
    let p = at.provided.p99;
    let c = at.fresh(&cand.p99_ms, p, "p99")?;
    let l = at.fresh(&live.p99_ms, p, "p99").map_err(live_side)?;
    if l <= 0.0 {
        return Err(RuleCheck::NoData);
    }
    Ok((c / l, over(c / l, limit)))
}

fn health_failures(cand: &EnvSignals, at: Judging, limit: u32) -> Judged {
    if !at.provided.health {
        return Err(RuleCheck::NoSource("health"));
    }
    match &cand.health {
        None => Err(RuleCheck::NoData),
        Some((_, t)) if at.now.saturating_sub(*t) > at.interval.saturating_mul(3) => {
            Err(RuleCheck::Stale)
        }
        // `limit` consecutive failed polls breach. A source that counts none (HAProxy's
        // own checks, a Deployment scaled to 0) has counted for itself: its DOWN breaches.
        // Fewer failed polls than the limit are pending, never OK and never yet a breach.
        Some((h, _)) => {
            let failing = h.health != Health::Up && h.health != Health::Unknown;
            let check = if h.failures >= limit || (h.health == Health::Down && h.failures == 0) {
                RuleCheck::Breach
            } else if failing && h.failures > 0 {
                RuleCheck::Pending { since: at.now }
            } else {
                RuleCheck::Ok
            };
            Ok((f64::from(h.failures), check))
        }
    }
}

/// An extra metric, per request (a candidate at 10 % of the traffic has a tenth of the
/// orders without anything being wrong), as a change against the live env.
fn metric_change(m: &MetricRule, cand: &EnvSignals, live: &EnvSignals, at: Judging) -> Judged {
    let get = |e: &EnvSignals| {
        let v = e
            .metric(&m.name)
            .ok_or(RuleCheck::NoData)
            .and_then(|s| at.fresh(s, true, "metric"))?;
        match at.fresh(&e.rps, at.provided.rps, "rps") {
            Ok(rps) if rps > 0.0 => Ok(v / rps),
            Ok(_) => Err(RuleCheck::NoData),
            Err(RuleCheck::NoData | RuleCheck::NoSource(_)) => Ok(v),
            Err(c) => Err(c),
        }
    };
    let c = get(cand)?;
    let l = get(live).map_err(live_side)?;
    if l == 0.0 {
        return Err(RuleCheck::NoData);
    }
    let change = (c - l) / l.abs();
    let bad = match m.bad {
        Bad::Down => -change > m.max_change,
        Bad::Up => change > m.max_change,
    };
    Ok((change, verdict(bad)))
}

#[cfg(test)]
#[path = "guardrail_tests.rs"]
mod tests;
