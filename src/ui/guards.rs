//! The guardrails' words on the candidate's panel: each row's verdict and freshness mark,
//! and the summary line (what breaches, what is pending, else every rule that is not OK:
//! INVALID, STALE, NO DATA, WAITING, no source configured).

use super::age;
use super::fmt::{ms_text, short};
use super::theme::Theme;
use crate::app::state::State;
use crate::app::words::unsettled_rules;
use crate::core::{Bad, RuleCheck, RuleKind, RuleResult};
use ratatui::style::Style;
use ratatui::text::{Line, Span};

/// A row's guardrail word and freshness mark: `STALE 24h` when the value is old (by its
/// own time), else the rule's verdict (when the row has a rule) and the age.
pub fn tail(
    theme: &Theme,
    state: &State,
    guard: Option<&RuleResult>,
    stale: bool,
    age_ms: u64,
) -> Vec<Span<'static>> {
    let mut v = Vec::new();
    if stale {
        v.push(Span::styled(format!("STALE {}", age(age_ms)), theme.stale));
        return v;
    }
    if let Some(g) = guard {
        let word = match g.check {
            RuleCheck::Pending { since } => format!("⧗ {}", age(state.now.saturating_sub(since))),
            RuleCheck::Settling { until } => {
                // No verdict: how long until there is one, instead of the sample's age.
                let left = until.saturating_sub(state.now).div_ceil(1000);
                v.push(Span::styled(format!("settling {left}s"), theme.dim));
                return v;
            }
            ref c => c.word().to_string(),
        };
        v.push(Span::styled(format!("{word:<8}"), theme.check(&g.check)));
    }
    v.push(Span::styled(age(age_ms), theme.dim));
    v
}

/// A breached or pending rule, with its value and limit, as the events say it
/// ([`crate::app::words::rule_text`]), except p99 in seconds and a metric's bad direction.
pub fn rule_text(r: &RuleResult, state: &State) -> String {
    let v = r.value.unwrap_or(f64::NAN);
    match &r.kind {
        RuleKind::P99 => format!("p99 {} > {}", ms_text(v), ms_text(r.limit)),
        RuleKind::Metric(name) => {
            let bad = state
                .settings
                .metric_info
                .iter()
                .find(|m| &m.name == name)
                .map_or(Bad::Down, |m| m.bad);
            let word = if bad == Bad::Down { "drop" } else { "rise" };
            format!(
                "{name} {:+.0} % vs live ({word} > {} %)",
                v * 100.0,
                short(r.limit * 100.0)
            )
        }
        _ => crate::app::words::rule_text(r),
    }
}

/// The guardrails in one line: BREACH and what, a breach pending `for`, OK, or each rule
/// that is not OK in its words, worst first (an invalid value's reason is on its row).
pub fn summary(results: &[RuleResult], state: &State, theme: &Theme) -> Line<'static> {
    let label = Span::styled(" guardrails ", theme.dim);
    let of = |pred: &dyn Fn(&RuleCheck) -> bool| -> Vec<String> {
        results
            .iter()
            .filter(|r| pred(&r.check))
            .map(|r| rule_text(r, state))
            .collect()
    };
    let breaches = of(&|c| *c == RuleCheck::Breach);
    if !breaches.is_empty() {
        return Line::from(vec![
            label,
            Span::styled(format!("✕ BREACH: {}", breaches.join(", ")), theme.breach),
        ]);
    }
    let pending = of(&|c| matches!(c, RuleCheck::Pending { .. }));
    if !pending.is_empty() {
        // Pending on `for` (over the limit, not yet for long enough), or on health polls
        // that have failed fewer times than breach.
        let on_for = results.iter().any(|r| {
            matches!(r.check, RuleCheck::Pending { .. })
                && r.kind != crate::core::RuleKind::HealthFailures
        });
        let head = if on_for {
            format!("⧗ over for < {}s", state.settings.guardrails.for_ms / 1000)
        } else {
            "⧗ PENDING".to_string()
        };
        return Line::from(vec![
            label,
            Span::styled(format!("{head}: {}", pending.join(", ")), theme.warn),
        ]);
    }
    if let Some(until) = results.iter().find_map(|r| match r.check {
        RuleCheck::Settling { until } => Some(until),
        _ => None,
    }) {
        return Line::from(vec![
            label,
            Span::styled(
                format!(
                    "settling {}s: no verdict until {}",
                    until.saturating_sub(state.now).div_ceil(1000),
                    state.wall(until).format("%H:%M:%S")
                ),
                theme.dim,
            ),
        ]);
    }
    let worst = results
        .iter()
        .map(|r| &r.check)
        .max_by_key(|c| c.severity());
    let (words, style): (String, Style) = match worst {
        None => ("none set".into(), theme.dim),
        Some(RuleCheck::Ok) => ("✓ OK".into(), theme.ok),
        Some(c) => (unsettled_rules(results, false).join(" · "), theme.check(c)),
    };
    Line::from(vec![label, Span::styled(words, style)])
}
