//! What the guardrails' results say about the candidate as a whole: judged and fine,
//! breaching, or not judged — and why not, in words a confirm dialog and the CLI share.

use super::guardrail::{RuleCheck, RuleKind, RuleResult};
use super::signal::{EnvSignals, Reading, Series};
use super::{Env, Millis};

/// The env's error-rate and p99 feeds answer, freshly: a value, or no data because there
/// were no requests to measure — not a source error, not never sampled, not stale.
pub fn feeds_fresh(s: &EnvSignals, now: Millis, interval: Millis) -> bool {
    let answers = |series: &Series| {
        !series.is_stale(now, interval)
            && matches!(
                series.latest.as_ref().map(|l| &l.reading),
                Some(Reading::Value(_) | Reading::NoData(_))
            )
    };
    answers(&s.error_rate) && answers(&s.p99_ms)
}

/// While windowed values still include traffic from before the last move (until
/// `until`), windowed rules get no OK verdict: `Settling`. A breach of a candidate that
/// serves traffic still counts (settling never hides a failing release); one at 0 % does
/// not. Health is not windowed.
pub fn settle(results: &mut [RuleResult], until: Millis, serving: bool) {
    for r in results {
        let windowed = r.kind != RuleKind::HealthFailures;
        let breach = matches!(r.check, RuleCheck::Breach | RuleCheck::Pending { .. });
        if windowed && !(breach && serving) {
            r.check = RuleCheck::Settling { until };
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
}
