//! The guardrails' tables: absolute and relative rules, `for`, the no-data policy, and the
//! verdict vocabulary (NO DATA with and without a source, STALE, WAITING, INVALID).

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
    r.iter().map(|r| r.check.clone()).collect()
}

/// Judged at `now` with 1 s polls and every signal provided.
fn at(now: Millis) -> Judging {
    Judging::at(now, 1000)
}

#[test]
fn health_breaches_at_the_limit_of_failed_polls_or_on_a_source_that_counts_for_itself() {
    let g = Guardrails::default();
    let live = signals(Some(0.001), Some(100.0), 0, 0);
    let down = |failures: u32| {
        let mut s = signals(Some(0.001), Some(100.0), 0, 0);
        if let Some((h, _)) = s.health.as_mut() {
            h.health = Health::Down;
            h.failures = failures;
        }
        s
    };
    let health = |s: &EnvSignals| {
        g.evaluate(s, &live, at(0))
            .into_iter()
            .find(|r| r.kind == RuleKind::HealthFailures)
            .map(|r| r.check)
            .unwrap()
    };
    assert_eq!(health(&down(1)), RuleCheck::Pending { since: 0 }, "1 of 3");
    assert_eq!(health(&down(3)), RuleCheck::Breach);
    assert_eq!(health(&down(0)), RuleCheck::Breach, "HAProxy's DOWN");
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
        // 2 failed polls of 3: pending, neither OK nor yet a breach.
        (
            (Some(0.01), Some(2000.0), 2, 0, 3000),
            (Ok, Ok, Pending { since: 3000 }),
        ),
    ];
    for ((err, p99, fails, sampled, now), (we, wp, wh)) in cases {
        let r = g.evaluate(&signals(err, p99, fails, sampled), &live, at(now));
        assert_eq!(
            checks(&r),
            vec![we, wp, wh],
            "{err:?} {p99:?} {fails} {sampled} {now}"
        );
    }
}

/// Each way a value can fail to be judged says so, never OK: one table over the error-rate
/// rule (with `min-requests`), what is provided, and what the candidate's series hold.
#[test]
fn vocabulary_table() {
    use RuleCheck::*;
    let g = Guardrails {
        max_p99_ms: None,
        max_health_failures: None,
        min_requests: Some(200),
        ..Guardrails::default()
    };
    let with = |rate: Reading, requests: Option<Reading>, lag: Millis| {
        let mut s = EnvSignals::default();
        s.error_rate.push_aged(rate, 0, lag);
        if let Some(n) = requests {
            s.requests.push(n, 0);
        }
        s
    };
    let v = Reading::Value;
    let no_counts = Provided {
        counts: false,
        ..Provided::ALL
    };
    let cases: Vec<(&str, Provided, EnvSignals, RuleCheck)> = vec![
        ("ok", Provided::ALL, with(v(0.001), Some(v(500.0)), 0), Ok),
        (
            "breach",
            Provided::ALL,
            with(v(0.5), Some(v(500.0)), 0),
            Breach,
        ),
        (
            "no source",
            Provided::HEALTH,
            EnvSignals::default(),
            NoSource("error-rate"),
        ),
        ("nothing yet", Provided::ALL, EnvSignals::default(), NoData),
        (
            "no data reading",
            Provided::ALL,
            with(Reading::NoData("NaN".into()), None, 0),
            NoData,
        ),
        (
            "a day old by its own time",
            Provided::ALL,
            with(v(0.001), Some(v(500.0)), 86_400_000),
            Stale,
        ),
        (
            "invalid",
            Provided::ALL,
            with(Reading::Invalid("negative (-500 %)".into()), None, 0),
            Invalid("negative (-500 %)".into()),
        ),
        (
            "too few requests",
            Provided::ALL,
            with(v(0.5), Some(v(12.0)), 0),
            Waiting { n: 12, min: 200 },
        ),
        (
            "no request counts yet",
            Provided::ALL,
            with(v(0.001), None, 0),
            NoData,
        ),
        (
            "no request-count source",
            no_counts,
            with(v(0.001), None, 0),
            NoSource("request-count"),
        ),
        (
            "invalid request count",
            Provided::ALL,
            with(v(0.001), Some(Reading::Invalid("negative (-3)".into())), 0),
            Invalid("request count negative (-3)".into()),
        ),
    ];
    let live = EnvSignals::default();
    for (what, provided, cand, want) in cases {
        let judging = Judging {
            provided,
            ..at(1000)
        };
        let r = g.evaluate(&cand, &live, judging);
        assert_eq!(checks(&r), vec![want], "{what}");
    }
}

#[test]
fn a_rule_says_which_source_is_missing() {
    let g = Guardrails {
        max_error_rate_delta: Some(0.005),
        max_p99_ratio: Some(1.5),
        ..Guardrails::default()
    };
    let s = EnvSignals::default();
    let r = g.evaluate(
        &s,
        &s,
        Judging {
            provided: Provided::HEALTH,
            ..at(0)
        },
    );
    let shown: Vec<String> = r
        .iter()
        .map(|r| format!("{} {}", r.kind.name(), r.check))
        .collect();
    assert_eq!(
        shown,
        [
            "error-rate NO DATA — no source for error-rate",
            "error-rate-vs-live NO DATA — no source for error-rate",
            "p99 NO DATA — no source for p99",
            "p99-vs-live NO DATA — no source for p99",
            "health NO DATA",
        ]
    );
    let none = Judging {
        provided: Provided::NONE,
        ..at(0)
    };
    assert_eq!(
        g.evaluate(&s, &s, none)[4].check,
        RuleCheck::NoSource("health")
    );
}

#[test]
fn invalid_live_values_say_they_are_lives() {
    let g = Guardrails {
        max_error_rate: None,
        max_p99_ms: None,
        max_health_failures: None,
        max_p99_ratio: Some(1.5),
        ..Guardrails::default()
    };
    let cand = signals(Some(0.001), Some(100.0), 0, 0);
    let mut live = EnvSignals::default();
    live.p99_ms.push(Reading::Invalid("+Inf".into()), 0);
    assert_eq!(
        checks(&g.evaluate(&cand, &live, at(0))),
        [RuleCheck::Invalid("live: +Inf".into())]
    );
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
    // 2 errors in 197 is over 1 % on its face but says nothing yet: WAITING, with how
    // many requests at that rate would tell (never OK: the value is over the limit).
    // Counts that do not describe the rate (another window) prove nothing: judged on it.
    for ((e, n), want) in [
        ((1.0, 197.0), RuleCheck::Ok),
        ((50.0, 1000.0), RuleCheck::Breach),
    ] {
        assert_eq!(
            checks(&g.evaluate(&with(e, n), &live, at(0))),
            vec![want],
            "{e}/{n}"
        );
    }
    // 6 in 300 is 2 %, over 1 %, on too few requests: WAITING, naming how many at 2 %
    // would tell — at that many the interval's low end clears 1 %, well short it did not.
    let r = g.evaluate(&with(6.0, 300.0), &live, at(0));
    let RuleCheck::Waiting { n, min } = r[0].check else {
        panic!("{r:?}")
    };
    assert_eq!(n, 300);
    let low = |n: u64| crate::core::stats::wilson_lower(0.02 * n as f64, n as f64).unwrap();
    assert!(low(min) > 0.01 && low(min * 3 / 4) <= 0.01, "{min}");
    let mut odd = with(0.0, 300.0);
    odd.error_rate.push(Reading::Value(0.5), 0);
    assert_eq!(
        checks(&g.evaluate(&odd, &live, at(0))),
        vec![RuleCheck::Breach],
        "50 % on screen with counts of 0/300 is still over the limit"
    );
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
        let r = g.evaluate(&cand, &live, at(0));
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
            checks(&g.evaluate(&with(c), &live, at(0))),
            vec![want],
            "{c}"
        );
    }
    assert_eq!(
        checks(&g.evaluate(&EnvSignals::default(), &live, at(0))),
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
    let bad = |t| signals(Some(0.05), None, 0, t);
    assert_eq!(
        checks(&g.check(&bad(0), &live, at(0), &mut clock)),
        vec![RuleCheck::Pending { since: 0 }]
    );
    assert_eq!(
        checks(&g.check(&bad(9000), &live, at(9000), &mut clock)),
        vec![RuleCheck::Pending { since: 0 }]
    );
    assert_eq!(
        checks(&g.check(&bad(10_000), &live, at(10_000), &mut clock)),
        vec![RuleCheck::Breach]
    );
    let ok = signals(Some(0.001), None, 0, 11_000);
    assert_eq!(
        checks(&g.check(&ok, &live, at(11_000), &mut clock)),
        vec![RuleCheck::Ok]
    );
    assert_eq!(
        checks(&g.check(&bad(12_000), &live, at(12_000), &mut clock)),
        vec![RuleCheck::Pending { since: 12_000 }],
        "a cleared breach starts over"
    );
}

/// `no-data = "breach"`: no data, stale and invalid count as a breach; a rule no source
/// can feed and too few requests do not.
#[test]
fn no_data_policy_table() {
    let strict = Guardrails {
        no_data: NoDataPolicy::Breach,
        max_p99_ms: None,
        max_health_failures: None,
        min_requests: Some(100),
        ..Guardrails::default()
    };
    let warn = Guardrails {
        no_data: NoDataPolicy::Warn,
        ..strict.clone()
    };
    let with = |r: Reading, n: f64, lag: Millis| {
        let mut s = EnvSignals::default();
        s.error_rate.push_aged(r, 0, lag);
        s.requests.push(Reading::Value(n), 0);
        s
    };
    let live = EnvSignals::default();
    let invalid = Reading::Invalid("NaN".into());
    let cases: [(&str, EnvSignals, Provided, RuleCheck); 5] = [
        (
            "none",
            EnvSignals::default(),
            Provided::ALL,
            RuleCheck::NoData,
        ),
        (
            "stale",
            with(Reading::Value(0.0), 500.0, 60_000),
            Provided::ALL,
            RuleCheck::Stale,
        ),
        (
            "invalid",
            with(invalid.clone(), 500.0, 0),
            Provided::ALL,
            RuleCheck::Invalid("NaN".into()),
        ),
        (
            "no source",
            EnvSignals::default(),
            Provided::HEALTH,
            RuleCheck::NoSource("error-rate"),
        ),
        (
            "waiting",
            with(Reading::Value(0.5), 10.0, 0),
            Provided::ALL,
            RuleCheck::Waiting { n: 10, min: 100 },
        ),
    ];
    for (what, cand, provided, shown) in cases {
        let j = Judging {
            provided,
            ..at(1000)
        };
        let lenient = warn.check(&cand, &live, j, &mut BreachClock::default());
        assert_eq!(checks(&lenient), std::slice::from_ref(&shown), "{what}");
        let r = strict.check(&cand, &live, j, &mut BreachClock::default());
        let want = if shown.is_missing() {
            RuleCheck::Breach
        } else {
            shown
        };
        assert_eq!(checks(&r), [want], "{what}");
    }
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
        let r = g.evaluate(&cand, &live, at(0));
        assert_eq!(
            r[0].check,
            want,
            "{:?}",
            cand.metric("orders").and_then(Series::value)
        );
    }
}
