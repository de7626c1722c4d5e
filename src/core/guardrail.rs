//! Guardrails: thresholds on the candidate's signals, absolute and relative to live. A
//! breach counts only once it has lasted `for`; "no data" is its own state.

use super::signal::{EnvSignals, Series};
use super::stats::{two_proportion, wilson_lower};
use super::{Health, Millis};

/// What a rule without data (or with stale data) means.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NoDataPolicy {
    /// Shown as NO DATA / STALE, not a breach.
    #[default]
    Warn,
    /// Counts as a breach (after `for`).
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

/// The outcome of one rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleCheck {
    Ok,
    /// Over the threshold since `since`, not yet for long enough to count.
    Pending {
        since: Millis,
    },
    Breach,
    /// No value to judge: not a breach (unless configured so), not OK either.
    NoData,
    /// The value is older than three poll intervals.
    Stale,
    /// The windowed value still includes traffic from before the last move: no verdict
    /// until `until`.
    Settling {
        until: Millis,
    },
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

fn judge(series: &Series, now: Millis, interval: Millis) -> Result<f64, RuleCheck> {
    match series.value() {
        None => Err(RuleCheck::NoData),
        Some(_) if series.is_stale(now, interval) => Err(RuleCheck::Stale),
        Some(v) => Ok(v),
    }
}

fn over(value: f64, limit: f64) -> RuleCheck {
    if value > limit {
        RuleCheck::Breach
    } else {
        RuleCheck::Ok
    }
}

impl Guardrails {
    /// Each enabled rule judged on the signals at `now`, before `for` is applied.
    pub fn evaluate(
        &self,
        cand: &EnvSignals,
        live: &EnvSignals,
        now: Millis,
        interval: Millis,
    ) -> Vec<RuleResult> {
        let at = At { now, interval };
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
        if let Some(limit) = self.max_error_rate {
            push(RuleKind::ErrorRate, limit, error_rate(cand, at, limit));
        }
        if let Some(limit) = self.max_error_rate_delta {
            push(
                RuleKind::ErrorRateDelta,
                limit,
                error_rate_delta(cand, live, at, limit),
            );
        }
        if let Some(limit) = self.max_p99_ms {
            let r = at.fresh(&cand.p99_ms).map(|v| (v, over(v, limit)));
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
        now: Millis,
        interval: Millis,
        clock: &mut BreachClock,
    ) -> Vec<RuleResult> {
        let mut results = self.evaluate(cand, live, now, interval);
        clock.settle(&mut results, now, self.for_ms, self.no_data);
        results
    }
}

impl BreachClock {
    /// Turns a breach that has not lasted `for_ms` into `Pending`, and no data into a
    /// breach when the policy says so.
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
            let raw = match r.check {
                RuleCheck::Breach => true,
                RuleCheck::NoData | RuleCheck::Stale => policy == NoDataPolicy::Breach,
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

/// When a rule is judged: now, and the poll interval that says what is fresh.
#[derive(Clone, Copy)]
struct At {
    now: Millis,
    interval: Millis,
}

impl At {
    fn fresh(self, s: &Series) -> Result<f64, RuleCheck> {
        judge(s, self.now, self.interval)
    }

    fn value(self, s: &Series) -> Option<f64> {
        s.fresh_value(self.now, self.interval)
    }
}

/// With request and error counts, the rate breaches only when even the low end of its 95 %
/// interval is over the limit: 2 errors in 197 requests is not "1 %".
fn error_rate(cand: &EnvSignals, at: At, limit: f64) -> Judged {
    let counts = (at.value(&cand.errors), at.value(&cand.requests));
    at.fresh(&cand.error_rate).map(|v| match counts {
        (Some(e), Some(n)) => match wilson_lower(e, n) {
            Some(low) => (v, over(low, limit)),
            None => (v, over(v, limit)),
        },
        _ => (v, over(v, limit)),
    })
}

/// The candidate's error rate over the live env's; with counts, only a significant
/// difference breaches.
fn error_rate_delta(cand: &EnvSignals, live: &EnvSignals, at: At, limit: f64) -> Judged {
    let c = at.fresh(&cand.error_rate)?;
    let l = at.fresh(&live.error_rate)?;
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

fn p99_ratio(cand: &EnvSignals, live: &EnvSignals, at: At, limit: f64) -> Judged {
    let c = at.fresh(&cand.p99_ms)?;
    let l = at.fresh(&live.p99_ms)?;
    if l <= 0.0 {
        return Err(RuleCheck::NoData);
    }
    Ok((c / l, over(c / l, limit)))
}

fn health_failures(cand: &EnvSignals, at: At, limit: u32) -> Judged {
    match &cand.health {
        None => Err(RuleCheck::NoData),
        Some((_, t)) if at.now.saturating_sub(*t) > at.interval.saturating_mul(3) => {
            Err(RuleCheck::Stale)
        }
        Some((h, _)) => {
            let bad = h.failures >= limit || h.health == Health::Down;
            Ok((f64::from(h.failures), verdict(bad)))
        }
    }
}

/// An extra metric, per request (a candidate at 10 % of the traffic has a tenth of the
/// orders without anything being wrong), as a change against the live env.
fn metric_change(m: &MetricRule, cand: &EnvSignals, live: &EnvSignals, at: At) -> Judged {
    let get = |e: &EnvSignals| {
        let v = e
            .metric(&m.name)
            .ok_or(RuleCheck::NoData)
            .and_then(|s| at.fresh(s))?;
        match at.fresh(&e.rps) {
            Ok(rps) if rps > 0.0 => Ok(v / rps),
            Ok(_) => Err(RuleCheck::NoData),
            Err(RuleCheck::NoData) => Ok(v),
            Err(c) => Err(c),
        }
    };
    let c = get(cand)?;
    let l = get(live)?;
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

fn verdict(bad: bool) -> RuleCheck {
    if bad {
        RuleCheck::Breach
    } else {
        RuleCheck::Ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{HealthSample, Reading};

    fn signals(err: Option<f64>, p99: Option<f64>, failures: u32, at: Millis) -> EnvSignals {
        let mut s = EnvSignals::default();
        s.error_rate
            .push(Reading::from_option(err, "no traffic"), at);
        s.p99_ms.push(Reading::from_option(p99, "no traffic"), at);
        s.health = Some((
            HealthSample {
                health: if failures > 0 {
                    Health::Degraded
                } else {
                    Health::Up
                },
                up: 1,
                total: 1,
                latency_ms: None,
                failures,
                detail: String::new(),
            },
            at,
        ));
        s
    }

    fn checks(r: &[RuleResult]) -> Vec<RuleCheck> {
        r.iter().map(|r| r.check).collect()
    }

    #[test]
    fn absolute_table() {
        use RuleCheck::*;
        let g = Guardrails::default();
        let live = signals(Some(0.001), Some(100.0), 0, 0);
        let cases = [
            // (error rate, p99, failures, sampled at, now) -> (errors, p99, health)
            ((Some(0.001), Some(100.0), 0, 0, 0), (Ok, Ok, Ok)),
            ((Some(0.05), Some(100.0), 0, 0, 0), (Breach, Ok, Ok)),
            ((Some(0.001), Some(2500.0), 0, 0, 0), (Ok, Breach, Ok)),
            ((Some(0.001), Some(100.0), 3, 0, 0), (Ok, Ok, Breach)),
            ((None, None, 0, 0, 0), (NoData, NoData, Ok)),
            (
                (Some(0.05), Some(2500.0), 0, 0, 10_000),
                (Stale, Stale, Stale),
            ),
            ((Some(0.01), Some(2000.0), 2, 0, 3000), (Ok, Ok, Ok)),
        ];
        for ((err, p99, fails, at, now), (we, wp, wh)) in cases {
            let r = g.evaluate(&signals(err, p99, fails, at), &live, now, 1000);
            assert_eq!(
                checks(&r),
                vec![we, wp, wh],
                "{err:?} {p99:?} {fails} {at} {now}"
            );
        }
    }

    #[test]
    fn absolute_error_rate_needs_evidence_when_counts_are_known() {
        let g = Guardrails {
            max_p99_ms: None,
            max_health_failures: None,
            ..Guardrails::default()
        };
        let live = EnvSignals::default();
        let with = |errors: f64, n: f64| {
            let mut s = signals(Some(errors / n), None, 0, 0);
            s.requests.push(Reading::Value(n), 0);
            s.errors.push(Reading::Value(errors), 0);
            s
        };
        for ((e, n), want) in [
            ((2.0, 197.0), RuleCheck::Ok),
            ((50.0, 1000.0), RuleCheck::Breach),
        ] {
            assert_eq!(
                checks(&g.evaluate(&with(e, n), &live, 0, 1000)),
                vec![want],
                "{e}/{n}"
            );
        }
    }

    #[test]
    fn relative_rules_table() {
        use RuleCheck::*;
        let g = Guardrails {
            max_error_rate: None,
            max_error_rate_delta: Some(0.005),
            max_p99_ms: None,
            max_p99_ratio: Some(1.5),
            max_health_failures: None,
            ..Guardrails::default()
        };
        let with_counts = |err: f64, p99: f64, n: f64| {
            let mut s = signals(Some(err), Some(p99), 0, 0);
            s.requests.push(Reading::Value(n), 0);
            s.errors.push(Reading::Value((err * n).round()), 0);
            s
        };
        let live = with_counts(0.001, 100.0, 9000.0);
        let cases = [
            (with_counts(0.002, 120.0, 1000.0), (Ok, Ok)),
            (with_counts(0.05, 100.0, 1000.0), (Breach, Ok)),
            (with_counts(0.025, 200.0, 40.0), (NoData, Breach)), // 1 error in 40: too few to judge
            (with_counts(0.05, 100.0, 10.0), (NoData, Ok)),      // too few to judge
            (signals(Some(0.05), Some(100.0), 0, 0), (Breach, Ok)), // no counts: judged on value
        ];
        for (cand, (we, wp)) in cases {
            let r = g.evaluate(&cand, &live, 0, 1000);
            assert_eq!(checks(&r), vec![we, wp], "{:?}", cand.error_rate.value());
        }
    }

    #[test]
    fn metric_drop_vs_live() {
        let g = orders_guard();
        let with = |v: f64| {
            let mut s = EnvSignals::default();
            s.metric_mut("orders").push(Reading::Value(v), 0);
            s
        };
        let live = with(100.0);
        for (c, want) in [
            (95.0, RuleCheck::Ok),
            (70.0, RuleCheck::Breach),
            (150.0, RuleCheck::Ok),
        ] {
            assert_eq!(
                checks(&g.evaluate(&with(c), &live, 0, 1000)),
                vec![want],
                "{c}"
            );
        }
        assert_eq!(
            checks(&g.evaluate(&EnvSignals::default(), &live, 0, 1000)),
            vec![RuleCheck::NoData]
        );
    }

    #[test]
    fn breach_must_last_for_and_no_data_policy() {
        let g = Guardrails {
            for_ms: 10_000,
            max_p99_ms: None,
            max_health_failures: None,
            ..Guardrails::default()
        };
        let live = signals(Some(0.001), None, 0, 0);
        let mut clock = BreachClock::default();
        let bad = |at| signals(Some(0.05), None, 0, at);
        assert_eq!(
            checks(&g.check(&bad(0), &live, 0, 1000, &mut clock)),
            vec![RuleCheck::Pending { since: 0 }]
        );
        assert_eq!(
            checks(&g.check(&bad(9000), &live, 9000, 1000, &mut clock)),
            vec![RuleCheck::Pending { since: 0 }]
        );
        assert_eq!(
            checks(&g.check(&bad(10_000), &live, 10_000, 1000, &mut clock)),
            vec![RuleCheck::Breach]
        );
        let ok = signals(Some(0.001), None, 0, 11_000);
        assert_eq!(
            checks(&g.check(&ok, &live, 11_000, 1000, &mut clock)),
            vec![RuleCheck::Ok]
        );
        assert_eq!(
            checks(&g.check(&bad(12_000), &live, 12_000, 1000, &mut clock)),
            vec![RuleCheck::Pending { since: 12_000 }],
            "a cleared breach starts over"
        );

        let strict = Guardrails {
            no_data: NoDataPolicy::Breach,
            for_ms: 0,
            ..g.clone()
        };
        let none = signals(None, None, 0, 0);
        assert_eq!(
            checks(&strict.check(&none, &live, 0, 1000, &mut BreachClock::default())),
            vec![RuleCheck::Breach]
        );
        assert_eq!(
            checks(&g.check(&none, &live, 0, 1000, &mut BreachClock::default())),
            vec![RuleCheck::NoData]
        );
    }

    /// Only a guard on "orders": no more than 20 % below live.
    fn orders_guard() -> Guardrails {
        Guardrails {
            max_error_rate: None,
            max_p99_ms: None,
            max_health_failures: None,
            metrics: vec![MetricRule {
                name: "orders".into(),
                bad: Bad::Down,
                max_change: 0.2,
            }],
            ..Guardrails::default()
        }
    }

    #[test]
    fn metrics_are_compared_per_request() {
        let g = orders_guard();
        let env = |orders: f64, rps: f64| {
            let mut s = EnvSignals::default();
            s.metric_mut("orders").push(Reading::Value(orders), 0);
            s.rps.push(Reading::Value(rps), 0);
            s
        };
        let live = env(100.0, 100.0);
        // A candidate at a tenth of the traffic with a tenth of the orders is fine.
        let cases = [
            (env(10.0, 10.0), RuleCheck::Ok),
            (env(5.0, 10.0), RuleCheck::Breach),
            (env(0.0, 0.0), RuleCheck::NoData),
        ];
        for (cand, want) in cases {
            let r = g.evaluate(&cand, &live, 0, 1000);
            assert_eq!(
                r[0].check,
                want,
                "{:?}",
                cand.metric("orders").and_then(Series::value)
            );
        }
    }
}
