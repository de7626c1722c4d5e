//! The guardrails' verdicts as history: a breach starting and clearing are events and
//! journal lines, with the value, the limit and since when.

use super::Effect;
use crate::app::journal::Phase;
use crate::app::state::{Level, State};
use crate::app::words::rule_text;
use crate::core::verdict::check_word;
use crate::core::RuleCheck;

/// Tells each breach that began or ended since the last event. A change of candidate (the
/// window completed, a rollback target chosen) forgets the old candidate's breaches
/// silently: they were another env's.
pub(super) fn breach_history(s: &mut State) -> Vec<Effect> {
    let cand = s.candidate();
    if s.breaches.iter().any(|(env, ..)| *env != cand) {
        s.breaches.clear();
    }
    let mut effects = Vec::new();
    let now_breached: Vec<_> = s
        .guard
        .iter()
        .filter(|r| r.check == RuleCheck::Breach)
        .cloned()
        .collect();
    for r in &now_breached {
        if s.breaches.iter().any(|(_, k, _)| *k == r.kind) {
            continue;
        }
        let reason = format!("{cand} BREACH: {} (since {})", rule_text(r), s.hhmm(s.wall_ms(s.now)));
        s.log(Level::Error, reason.clone());
        s.breaches.push((cand, r.kind.clone(), s.now));
        effects.push(Effect::JournalNote {
            phase: Phase::Breach,
            reason,
        });
    }
    let ended: Vec<_> = s
        .breaches
        .iter()
        .filter(|(_, k, _)| !now_breached.iter().any(|r| &r.kind == k))
        .cloned()
        .collect();
    for (_, kind, since) in ended {
        s.breaches.retain(|(_, k, _)| *k != kind);
        let now = s.guard.iter().find(|r| r.kind == kind).map_or_else(
            || "rule no longer evaluated".to_string(),
            |r| match (r.check, r.value) {
                (RuleCheck::Ok, Some(_)) => format!("now OK: {}", rule_text(r).replacen(" > ", " ≤ ", 1)),
                (c, _) => format!("now {}", check_word(c)),
            },
        );
        let lasted = crate::app::words::clock(s.now.saturating_sub(since));
        let reason = format!("{cand} {} no longer breaching after {lasted}: {now}", kind.name());
        s.log(Level::Info, reason.clone());
        effects.push(Effect::JournalNote {
            phase: Phase::BreachCleared,
            reason,
        });
    }
    effects
}
