//! Guardrails: absolute thresholds on the candidate's signals.

use super::signal::EnvSignals;
use super::{Health, Millis};

/// The configured thresholds. `None` disables a rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Guardrails {
    /// Error rate as a fraction (0.01 = 1 %).
    pub max_error_rate: Option<f64>,
    pub max_p99_ms: Option<f64>,
    /// Consecutive failed health polls.
    pub max_health_failures: Option<u32>,
}

impl Default for Guardrails {
    fn default() -> Self {
        Guardrails {
            max_error_rate: Some(0.01),
            max_p99_ms: Some(2000.0),
            max_health_failures: Some(3),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleKind {
    ErrorRate,
    P99,
    HealthFailures,
}

/// The outcome of one rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleCheck {
    Ok,
    Breach,
    /// No value to judge: not a breach, not OK either.
    NoData,
    /// The value is older than three poll intervals.
    Stale,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RuleResult {
    pub kind: RuleKind,
    pub check: RuleCheck,
    pub value: Option<f64>,
    pub limit: f64,
}

impl Guardrails {
    /// Evaluates every enabled rule on the candidate's signals at `now`.
    pub fn evaluate(&self, cand: &EnvSignals, now: Millis, interval: Millis) -> Vec<RuleResult> {
        let mut out = Vec::new();
        let mut series_rule = |kind, limit: Option<f64>, series: &super::Series| {
            if let Some(limit) = limit {
                let value = series.value();
                let check = if series.latest.is_none() || value.is_none() {
                    RuleCheck::NoData
                } else if series.is_stale(now, interval) {
                    RuleCheck::Stale
                } else if value.is_some_and(|v| v > limit) {
                    RuleCheck::Breach
                } else {
                    RuleCheck::Ok
                };
                out.push(RuleResult {
                    kind,
                    check,
                    value,
                    limit,
                });
            }
        };
        series_rule(RuleKind::ErrorRate, self.max_error_rate, &cand.error_rate);
        series_rule(RuleKind::P99, self.max_p99_ms, &cand.p99_ms);
        if let Some(limit) = self.max_health_failures {
            let (check, value) = match &cand.health {
                None => (RuleCheck::NoData, None),
                Some((h, at)) => {
                    let v = Some(f64::from(h.failures));
                    if now.saturating_sub(*at) > interval.saturating_mul(3) {
                        (RuleCheck::Stale, v)
                    } else if h.failures >= limit || h.health == Health::Down {
                        (RuleCheck::Breach, v)
                    } else {
                        (RuleCheck::Ok, v)
                    }
                }
            };
            out.push(RuleResult {
                kind: RuleKind::HealthFailures,
                check,
                value,
                limit: f64::from(limit),
            });
        }
        out
    }
}

/// True when any rule is breached.
pub fn any_breach(results: &[RuleResult]) -> bool {
    results.iter().any(|r| r.check == RuleCheck::Breach)
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

    #[test]
    fn evaluation_table() {
        use RuleCheck::*;
        let g = Guardrails::default();
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
            let r = g.evaluate(&signals(err, p99, fails, at), now, 1000);
            let got: Vec<RuleCheck> = r.iter().map(|r| r.check).collect();
            assert_eq!(got, vec![we, wp, wh], "{err:?} {p99:?} {fails} {at} {now}");
        }
    }

    #[test]
    fn disabled_rules_are_skipped_and_never_sampled_is_no_data() {
        let g = Guardrails {
            max_error_rate: Some(0.01),
            max_p99_ms: None,
            max_health_failures: None,
        };
        let r = g.evaluate(&EnvSignals::default(), 0, 1000);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].check, RuleCheck::NoData);
        assert!(!any_breach(&r));
    }
}
