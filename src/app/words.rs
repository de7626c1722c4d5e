//! Words shared by the reducer, the screen and the command line: times, durations, and why
//! a command asks or does nothing. Here, below both `app::update` and `ui`, so that neither
//! needs the other for them.

use crate::core::{ConfirmReason, Env, Hold, Refusal, RuleCheck, RuleResult};

/// `mm:ss` or `h:mm:ss`.
pub fn clock(ms: u64) -> String {
    let s = ms.div_ceil(1000);
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// A time (unix ms) as HH:MM:SS in this machine's local time, for the command line. The
/// cockpit uses [`hhmm_at`] with the offset it started with: the reducer reads no locale.
pub fn hhmm(unix_ms: i64) -> String {
    hhmm_at(unix_ms, *chrono::Local::now().offset())
}

/// A time (unix ms) as HH:MM:SS at `offset`.
pub fn hhmm_at(unix_ms: i64, offset: chrono::FixedOffset) -> String {
    chrono::DateTime::from_timestamp_millis(unix_ms).map_or_else(
        || "?".into(),
        |t| t.with_timezone(&offset).format("%H:%M:%S").to_string(),
    )
}

/// What a cutover record says, in a line: the cutover it names (and its position), or —
/// back at 0 with nothing in flight — who is live and its last write (a rollback, most
/// often), not a cutover under way.
pub fn record_words(r: &crate::core::Record) -> String {
    match &r.last {
        Some(l) if r.pos == 0 && r.flight.is_none() => format!(
            "{} live, {} at 0 % (last: {} by {} at {}; started by {} at {})",
            r.live,
            r.candidate(),
            l.action,
            l.who,
            hhmm(l.at),
            r.by,
            hhmm(r.at)
        ),
        _ => format!(
            "{} → {} started by {} at {}{}",
            r.live,
            r.candidate(),
            r.by,
            hhmm(r.at),
            if r.pos > 0 {
                format!(", at {} %", r.pos)
            } else {
                String::new()
            }
        ),
    }
}

/// The reasons of a confirm, as words.
pub fn reason_text(r: ConfirmReason) -> &'static str {
    match r {
        ConfirmReason::Promote => {
            "sends ALL traffic to the candidate and starts the rollback window"
        }
        ConfirmReason::Jump => "jumps off the plan's order",
        ConfirmReason::Breach => "the candidate is BREACHING a guardrail",
        ConfirmReason::Stale => "the candidate's data is STALE: this step would be taken blind",
        ConfirmReason::Preflight => "PRE-FLIGHT failed: stepping on is a journaled override",
        ConfirmReason::Unjudged => {
            "NOTHING HAS JUDGED the candidate: stepping on is a journaled override"
        }
    }
}

/// Why a command does nothing, said for the operator.
pub fn refusal_text(r: Refusal, cand: Env, backend_kind: &str) -> String {
    match r {
        Refusal::Paused => "paused: resume (p) before stepping forward".to_string(),
        Refusal::AtEnd => format!("{cand} already at 100 %: nothing to step to"),
        Refusal::AtZero => format!("{cand} already at 0 %"),
        Refusal::ShareUnknown => "share unknown: waiting for the backend to answer".to_string(),
        Refusal::AlreadyThere(p) => format!("{cand} already at {p} %"),
        Refusal::Hold(Hold::Bake { left }) => format!(
            "{cand} holds here: min-bake not met, {} left (rollback still works)",
            clock(left)
        ),
        Refusal::Hold(Hold::Requests { seen, min }) => format!(
            "{cand} holds here: min-requests not met, {}/{min} requests at this step (rollback still works)",
            seen.map_or_else(|| "?".to_string(), |n| n.to_string())
        ),
        Refusal::FlipOnly(p) => format!(
            "{p} % refused: {backend_kind} switches all traffic at once, so steps are not available; promote to 100 % or roll back to 0 %"
        ),
    }
}

/// A guardrail's measured value against its limit, as events, dialogs, the journal and
/// the screen say it: "errors 4.38 % > 1 %", "p99 2534 ms > 2000 ms" (the screen writes
/// p99 in seconds and a metric's bad direction itself).
pub fn rule_text(r: &crate::core::RuleResult) -> String {
    use crate::core::RuleKind;
    let Some(v) = r.value else {
        return r.kind.name();
    };
    let limit_pct = short(r.limit * 100.0);
    match &r.kind {
        RuleKind::ErrorRate => format!("errors {:.2} % > {limit_pct} %", v * 100.0),
        RuleKind::ErrorRateDelta => format!("errors {:+.2} pp vs live > {limit_pct} pp", v * 100.0),
        RuleKind::P99 => format!("p99 {v:.0} ms > {:.0} ms", r.limit),
        RuleKind::P99Ratio => format!("p99 ×{v:.1} live > ×{}", short(r.limit)),
        // Below the limit: pending, n of the failed polls that breach (a source that counts
        // none, HAProxy's DOWN, breached at once: 0 of them).
        RuleKind::HealthFailures if v < r.limit && r.check == crate::core::RuleCheck::Breach => {
            "health DOWN".to_string()
        }
        RuleKind::HealthFailures if v < r.limit => {
            format!("health {v:.0}/{:.0} failed polls", r.limit)
        }
        RuleKind::HealthFailures => format!("health {v:.0} failures ≥ {:.0}", r.limit),
        RuleKind::Metric(name) => {
            format!("{name} {:+.0} % vs live (limit {limit_pct} %)", v * 100.0)
        }
    }
}

/// A number without trailing zeros: 1, 0.5, 2.25 (never `7.000000000000001`).
pub fn short(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The guardrails that are neither OK nor breached, in words, worst first: `INVALID
/// error-rate: negative (-500 %)` (`INVALID error-rate, p99` without `reasons`, where each
/// row says its own), `STALE p99, health`, `NO DATA error-rate`, `WAITING 12/200 req`, `NO
/// DATA — no source for error-rate or p99`. Rules with the same verdict are said
/// once together.
pub fn unsettled_rules(results: &[RuleResult], reasons: bool) -> Vec<String> {
    let mut sorted: Vec<&RuleResult> = results
        .iter()
        .filter(|r| {
            !matches!(
                r.check,
                RuleCheck::Ok | RuleCheck::Breach | RuleCheck::Pending { .. }
            )
        })
        .collect();
    sorted.sort_by_key(|r| std::cmp::Reverse(r.check.severity()));
    let mut out: Vec<String> = Vec::new();
    let mut no_source: Vec<&str> = Vec::new();
    for r in sorted {
        match &r.check {
            RuleCheck::Invalid(why) if reasons => {
                out.push(format!("INVALID {}: {why}", r.kind.name()));
            }
            RuleCheck::Invalid(_) => grouped(&mut out, "INVALID", &r.kind.name()),
            RuleCheck::Stale => grouped(&mut out, "STALE", &r.kind.name()),
            RuleCheck::NoData => grouped(&mut out, "NO DATA", &r.kind.name()),
            c @ RuleCheck::Waiting { .. } => {
                let text = c.to_string();
                if !out.contains(&text) {
                    out.push(text);
                }
            }
            RuleCheck::NoSource(signal) if !no_source.contains(signal) => no_source.push(signal),
            _ => {}
        }
    }
    if let Some((last, first)) = no_source.split_last() {
        let names = if first.is_empty() {
            (*last).to_string()
        } else {
            format!("{} or {last}", first.join(", "))
        };
        out.push(format!("NO DATA — no source for {names}"));
    }
    out
}

/// Adds `item` to the line that starts with `word`, or starts that line.
fn grouped(out: &mut Vec<String>, word: &str, item: &str) {
    let head = format!("{word} ");
    match out.iter_mut().find(|s| s.starts_with(&head)) {
        Some(line) => line.push_str(&format!(", {item}")),
        None => out.push(format!("{head}{item}")),
    }
}

/// "promote green 50 → 100 %", "override: step green 10 → 50 %".
pub fn approval_what(
    s: &crate::app::state::State,
    need: crate::core::approval::Need,
    action: &crate::app::journal::WriteAction,
    from: Option<u8>,
    share: u8,
) -> String {
    let from = from.map_or_else(|| "?".to_string(), |f| f.to_string());
    let head = match need {
        crate::core::approval::Need::Override => "override: ",
        crate::core::approval::Need::Promote => "",
    };
    format!("{head}{action} {} {from} → {share} %", s.candidate())
}

/// What someone else's request asks, as this cockpit sees the traffic.
pub fn approval_asked(s: &crate::app::state::State, a: &crate::core::approval::Ask) -> String {
    let action = if a.share == 100 {
        crate::app::journal::WriteAction::Promote
    } else {
        crate::app::journal::WriteAction::Set
    };
    approval_what(s, a.need, &action, s.cutover.share, a.share)
}

/// The rules the cutover record carries for this cutover (those of whoever began it).
pub fn recorded_rules(s: &crate::app::state::State) -> Vec<crate::core::approval::Need> {
    s.traffic
        .record
        .as_ref()
        .filter(|r| r.live == s.live())
        .map(|r| r.rules.clone())
        .unwrap_or_default()
}

/// Whether whoever asked for `a` still drives, as the lease was last read: approving a
/// request whose asker is gone (or was taken over) would send nothing. A lease store that
/// does not answer says nothing either way: `true`.
pub fn asker_drives(s: &crate::app::state::State, a: &crate::core::approval::Ask) -> bool {
    match (&s.lease.holder, &s.lease.lease_error) {
        (Some(l), _) => crate::core::approval::same_person(&l.holder, &a.who),
        (None, Some(_)) => true,
        (None, None) => s.lease.role == crate::app::state::Role::Driver,
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_probe_down_is_said_as_down_not_as_failures_over_the_limit() {
        let r = |value, check| RuleResult {
            kind: crate::core::RuleKind::HealthFailures,
            check,
            value: Some(value),
            limit: 3.0,
        };
        // HAProxy's DOWN counts for itself: down, at once.
        assert_eq!(rule_text(&r(0.0, RuleCheck::Breach)), "health DOWN");
        assert_eq!(
            rule_text(&r(1.0, RuleCheck::Pending { since: 0 })),
            "health 1/3 failed polls"
        );
        assert_eq!(
            rule_text(&r(4.0, RuleCheck::Breach)),
            "health 4 failures ≥ 3"
        );
    }
    use super::*;
    use crate::core::RuleKind;

    #[test]
    fn unsettled_rules_are_said_worst_first_and_grouped() {
        let rule = |kind, check| RuleResult {
            kind,
            check,
            value: None,
            limit: 1.0,
        };
        let all = [
            rule(RuleKind::ErrorRate, RuleCheck::Waiting { n: 12, min: 200 }),
            rule(
                RuleKind::ErrorRateDelta,
                RuleCheck::Waiting { n: 12, min: 200 },
            ),
            rule(RuleKind::P99, RuleCheck::NoSource("p99")),
            rule(RuleKind::P99Ratio, RuleCheck::NoSource("p99")),
            rule(RuleKind::HealthFailures, RuleCheck::Stale),
            rule(RuleKind::Metric("orders".into()), RuleCheck::Stale),
            rule(
                RuleKind::Metric("x".into()),
                RuleCheck::Invalid("NaN".into()),
            ),
            rule(RuleKind::Metric("y".into()), RuleCheck::Ok),
            rule(RuleKind::Metric("z".into()), RuleCheck::Breach),
        ];
        assert_eq!(
            unsettled_rules(&all, true),
            [
                "INVALID x: NaN",
                "STALE health, orders",
                "WAITING 12/200 req",
                "NO DATA — no source for p99",
            ]
        );
        assert_eq!(unsettled_rules(&all, false)[0], "INVALID x");
        let none = [
            rule(RuleKind::ErrorRate, RuleCheck::NoSource("error-rate")),
            rule(RuleKind::P99, RuleCheck::NoSource("p99")),
            rule(RuleKind::HealthFailures, RuleCheck::NoSource("health")),
        ];
        assert_eq!(
            unsettled_rules(&none, true),
            ["NO DATA — no source for error-rate, p99 or health"]
        );
        assert!(unsettled_rules(&[rule(RuleKind::P99, RuleCheck::Ok)], true).is_empty());
    }
}
