//! Words shared by the reducer, the screen and the command line: times, durations, and why
//! a command asks or does nothing. Here, below both `app::update` and `ui`, so that neither
//! needs the other for them.

use crate::core::{ConfirmReason, Env, Hold, Refusal};

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

/// A guardrail's measured value against its limit, as events and dialogs say it:
/// "errors 4.38 % > 1 %", "p99 2534 ms > 2000 ms".
pub fn rule_text(r: &crate::core::RuleResult) -> String {
    use crate::core::RuleKind;
    let Some(v) = r.value else {
        return r.kind.name();
    };
    let pct = |x: f64| format!("{:.2}", x * 100.0);
    let limit_pct = (r.limit * 100.0).to_string();
    match &r.kind {
        RuleKind::ErrorRate => format!("errors {} % > {limit_pct} %", pct(v)),
        RuleKind::ErrorRateDelta => format!("errors {:+.2} pp vs live > {limit_pct} pp", v * 100.0),
        RuleKind::P99 => format!("p99 {v:.0} ms > {:.0} ms", r.limit),
        RuleKind::P99Ratio => format!("p99 ×{v:.1} live > ×{}", r.limit),
        RuleKind::HealthFailures => format!("health {v:.0} failures ≥ {:.0}", r.limit),
        RuleKind::Metric(name) => {
            format!("{name} {:+.0} % vs live (limit {limit_pct} %)", v * 100.0)
        }
    }
}
