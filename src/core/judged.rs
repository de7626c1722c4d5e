//! What the guardrails' results say about the candidate as a whole: judged and fine,
//! breaching, or not judged — and why not, in words a confirm dialog and the CLI share.

use super::guardrail::{RuleCheck, RuleKind, RuleResult};
use super::signal::{EnvSignals, Reading, Series};
use super::{Env, Millis, Provided};

/// Why the env's error-rate and p99 feeds could not judge it once it serves (`None`: they
/// can): a signal no configured source provides, or one that does not answer freshly with
/// a value or "no requests" (a source error, never sampled, stale, invalid).
pub fn not_judgeable(
    s: &EnvSignals,
    provided: Provided,
    (now, interval): (Millis, Millis),
    env: Env,
) -> Option<String> {
    let missing: Vec<&str> = [("error-rate", provided.error_rate), ("p99", provided.p99)]
        .into_iter()
        .filter(|(_, p)| !p)
        .map(|(n, _)| n)
        .collect();
    if !missing.is_empty() {
        return Some(format!(
            "no source for {}: nothing will judge {env} on it once it serves",
            missing.join(" or ")
        ));
    }
    let answers = |series: &Series| {
        !series.is_stale(now, interval)
            && matches!(
                series.latest.as_ref().map(|l| &l.reading),
                Some(Reading::Value(_) | Reading::NoData(_))
            )
    };
    if answers(&s.error_rate) && answers(&s.p99_ms) {
        return None;
    }
    if s.error_rate.latest.is_some() || s.p99_ms.latest.is_some() {
        Some(format!(
            "{env}'s error or latency data is STALE or unreadable: nothing would judge it once it serves"
        ))
    } else {
        Some(format!(
            "no error or latency data for {env}: nothing will judge it once it serves"
        ))
    }
}

/// While windowed values still include traffic from before the last move (until
/// `until`), windowed rules get no OK verdict: `Settling`. A breach of a candidate that
/// serves traffic still counts (settling never hides a failing release); one at 0 % does
/// not. Health is not windowed.
pub fn settle(results: &mut [RuleResult], until: Millis, serving: bool) {
    for r in results {
        let windowed = r.kind != RuleKind::HealthFailures;
        let breach = matches!(r.check, RuleCheck::Breach | RuleCheck::Pending { .. });
        // Only a verdict on a number settles: invalid, stale, no data and no source say
        // more than "settling", and waiting does not end by settling.
        let verdict =
            breach || r.check == RuleCheck::Ok || matches!(r.check, RuleCheck::Waiting { .. });
        if windowed && verdict && !(breach && serving) {
            r.check = RuleCheck::Settling { until };
        }
    }
}

/// In a short look (two samples of counters a poll apart, as the CLI takes from HAProxy),
/// an error rate under the limit is OK only when its counts show it: 0 errors in 20
/// requests does not show "under 1 %". Without that evidence the rule is WAITING for the
/// requests that would (`n`/`min`), never OK.
pub fn require_evidence(results: &mut [RuleResult], cand: &EnvSignals, at: super::Judging) {
    let counts = (
        cand.errors.fresh_value(at.now, at.interval),
        cand.requests.fresh_value(at.now, at.interval),
    );
    for r in results {
        if r.kind != RuleKind::ErrorRate || r.check != RuleCheck::Ok {
            continue;
        }
        let (Some(e), Some(n)) = counts else {
            continue;
        };
        let rate = r.value.unwrap_or(if n > 0.0 { e / n } else { 0.0 });
        if super::stats::wilson_upper(e, n).is_none_or(|high| high > r.limit) {
            r.check = RuleCheck::Waiting {
                n: n.max(0.0) as u64,
                min: super::stats::requests_to_clear(rate, r.limit),
            };
        }
    }
}

/// How long ago (ms) the last write recorded at the backend was made, from the cutover
/// record's wall-clock time; `None` without one, or with a time in the future.
pub fn since_last_write(last_at_unix_ms: Option<i64>, wall_now_ms: i64) -> Option<Millis> {
    let since = wall_now_ms.checked_sub(last_at_unix_ms?)?;
    u64::try_from(since).ok()
}

/// Why nothing has judged the candidate, when a rule has no verdict (no data, stale,
/// settling, too few requests, invalid) and none breaches. `None`: every rule is OK or one
/// breaches (a breach says more). No rule configured at all is unjudged too.
pub fn unjudged(results: &[RuleResult], cand: Env) -> Option<String> {
    if results.is_empty() {
        return Some(format!("no guardrail is configured: nothing judges {cand}"));
    }
    if results.iter().any(|r| r.check == RuleCheck::Breach) {
        return None;
    }
    let signal = |k: &RuleKind| {
        matches!(
            k,
            RuleKind::ErrorRate | RuleKind::ErrorRateDelta | RuleKind::P99 | RuleKind::P99Ratio
        )
    };
    let judged_signal = results
        .iter()
        .any(|r| signal(&r.kind) && r.check == RuleCheck::Ok);
    let has_signal_rule = results.iter().any(|r| signal(&r.kind));
    if has_signal_rule && !judged_signal {
        let all_without_data = results.iter().filter(|r| signal(&r.kind)).all(|r| {
            matches!(
                r.check,
                RuleCheck::NoData | RuleCheck::NoSource(_) | RuleCheck::Stale
            )
        });
        if all_without_data {
            return Some(format!(
                "no error or latency data for {cand}: nothing has judged it"
            ));
        }
    }
    // A rule no configured source can feed never will have data: once something else
    // judges the candidate, it is no evidence still to come.
    let open: Vec<&RuleResult> = results
        .iter()
        .filter(|r| !matches!(r.check, RuleCheck::Ok | RuleCheck::NoSource(_)))
        .collect();
    if open.is_empty() {
        return None;
    }
    let words: Vec<String> = open
        .iter()
        .map(|r| format!("{} {}", r.kind.name(), r.check))
        .collect();
    Some(format!("{cand} not judged: {}", words.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(kind: RuleKind, check: RuleCheck) -> RuleResult {
        RuleResult {
            kind,
            check,
            value: None,
            limit: 1.0,
        }
    }

    #[test]
    fn unjudged_table() {
        use RuleCheck as C;
        use RuleKind as K;
        let cases: Vec<(Vec<RuleResult>, Option<&str>)> = vec![
            (vec![r(K::ErrorRate, C::Ok), r(K::P99, C::Ok)], None),
            (vec![r(K::ErrorRate, C::Breach), r(K::P99, C::NoData)], None),
            (
                vec![
                    r(K::ErrorRate, C::NoData),
                    r(K::P99, C::Stale),
                    r(K::HealthFailures, C::Ok),
                ],
                Some("no error or latency data for green: nothing has judged it"),
            ),
            (
                vec![r(K::ErrorRate, C::Ok), r(K::P99, C::NoData)],
                Some("green not judged: p99 NO DATA"),
            ),
            (
                vec![r(K::ErrorRate, C::Settling { until: 5 }), r(K::P99, C::Ok)],
                Some("green not judged: error-rate SETTLING"),
            ),
            (
                vec![],
                Some("no guardrail is configured: nothing judges green"),
            ),
            (
                vec![r(K::ErrorRate, C::Ok), r(K::P99, C::NoSource("p99"))],
                None,
            ),
            (
                vec![
                    r(K::ErrorRate, C::NoSource("error-rate")),
                    r(K::P99, C::NoSource("p99")),
                    r(K::HealthFailures, C::Ok),
                ],
                Some("no error or latency data for green: nothing has judged it"),
            ),
        ];
        for (results, want) in cases {
            assert_eq!(
                unjudged(&results, Env::Green).as_deref(),
                want,
                "{results:?}"
            );
        }
    }

    #[test]
    fn settling_takes_the_place_of_a_verdict_on_a_number_only() {
        use RuleCheck as C;
        use RuleKind as K;
        let until = 9;
        let cases = [
            (C::Ok, false, C::Settling { until }),
            (C::Breach, false, C::Settling { until }),
            (C::Breach, true, C::Breach),
            (C::Waiting { n: 3, min: 10 }, true, C::Settling { until }),
            // What says more than "settling" stays: data that is no number, or none.
            (C::Invalid("+Inf".into()), true, C::Invalid("+Inf".into())),
            (C::Stale, true, C::Stale),
            (C::NoData, false, C::NoData),
            (C::NoSource("p99"), true, C::NoSource("p99")),
        ];
        for (check, serving, want) in cases {
            let mut results = [r(K::ErrorRate, check.clone())];
            settle(&mut results, until, serving);
            assert_eq!(results[0].check, want, "{check:?} serving={serving}");
        }
        let mut health = [r(K::HealthFailures, C::Ok)];
        settle(&mut health, until, false);
        assert_eq!(health[0].check, C::Ok, "health is not windowed");
    }
}
