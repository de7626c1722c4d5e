//! The guardrails' verdicts as history: a breach starting and clearing are events and
//! journal lines, with the value, the limit and since when.

use super::Effect;
use crate::app::journal::Phase;
use crate::app::state::{Level, State};
use crate::app::words::rule_text;
use crate::core::RuleCheck;

/// Tells each breach that began or ended since the last event. A change of candidate (the
/// window completed, a rollback target chosen) forgets the old candidate's breaches
/// silently: they were another env's. Only a candidate that serves traffic breaches: at
/// 0 % (rolled back, not begun) its numbers are no release's verdict, and a breach under
/// way ends there. Every cockpit shows the events; only the driver journals them, so two
/// cockpits make one history.
pub(super) fn breach_history(s: &mut State) -> Vec<Effect> {
    let effects = breach_events(s);
    if s.lease.role == crate::app::state::Role::Driver {
        effects
    } else {
        Vec::new()
    }
}

fn breach_events(s: &mut State) -> Vec<Effect> {
    let cand = s.candidate();
    if s.breaches.iter().any(|(env, ..)| *env != cand) {
        s.breaches.clear();
    }
    let serving = s.cutover.share.is_some_and(|p| p > 0);
    let mut effects = Vec::new();
    let now_breached: Vec<_> = s
        .guard
        .iter()
        .filter(|r| serving && r.check == RuleCheck::Breach)
        .cloned()
        .collect();
    for r in &now_breached {
        if s.breaches.iter().any(|(_, k, _)| *k == r.kind) {
            continue;
        }
        let reason = format!(
            "{cand} BREACH: {} (since {})",
            rule_text(r),
            s.hhmm(s.wall_ms(s.now))
        );
        s.log(Level::Error, reason.clone());
        s.breaches.push((cand, r.kind.clone(), s.now));
        effects.push(Effect::JournalNote {
            phase: Phase::Breach,
            reason,
        });
    }
    // A breach ends when its rule reads OK (or settles after a move): a feed that went
    // stale, silent or invalid says nothing about the breach, which stays on record.
    let ended: Vec<_> =
        s.breaches
            .iter()
            .filter(|(_, k, _)| {
                !serving
                    || s.guard.iter().find(|r| &r.kind == k).is_none_or(|r| {
                        matches!(r.check, RuleCheck::Ok | RuleCheck::Settling { .. })
                    })
            })
            .cloned()
            .collect();
    for (_, kind, since) in ended {
        s.breaches.retain(|(_, k, _)| *k != kind);
        let now = s
            .guard
            .iter()
            .find(|r| r.kind == kind)
            .filter(|_| serving)
            .map_or_else(
                || {
                    if serving {
                        "rule no longer evaluated".to_string()
                    } else {
                        format!("{cand} serves no traffic (0 %)")
                    }
                },
                |r| match (&r.check, r.value) {
                    (RuleCheck::Ok, Some(_)) => {
                        format!("now OK: {}", rule_text(r).replacen(" > ", " ≤ ", 1))
                    }
                    (c, _) => format!("now {}", c.to_string().to_lowercase()),
                },
            );
        let lasted = crate::app::words::clock(s.now.saturating_sub(since));
        let reason = format!(
            "{cand} {} no longer breaching after {lasted}: {now}",
            kind.name()
        );
        s.log(Level::Info, reason.clone());
        effects.push(Effect::JournalNote {
            phase: Phase::BreachCleared,
            reason,
        });
    }
    effects
}

#[cfg(test)]
mod tests {
    use crate::app::update::testkit::*;
    use crate::core::{ConfirmReason, Reading, RuleCheck};

    /// Signals at `now` where green has no error or latency data at all.
    fn green_unjudged(s: &mut State, now: Millis) -> Vec<Effect> {
        let poll = |r: Reading| crate::signals::EnvPoll {
            error_rate: Some(r.clone()),
            p99_ms: Some(r),
            ..Default::default()
        };
        let result = Ok(Box::new(EnvPair::new(
            poll(Reading::Value(0.001)),
            poll(Reading::NoData("no requests in the window".into())),
        )));
        update(
            s,
            Event::Signals {
                source: "t".into(),
                now,
                result,
            },
        )
    }

    fn notes(effects: &[Effect], phase: &Phase) -> Vec<String> {
        effects
            .iter()
            .flat_map(|e| match e {
                Effect::JournalNote { phase: p, reason } if p == phase => vec![reason.clone()],
                // A confirmed move's overrides go out with its write.
                Effect::Write(o) => o
                    .notes
                    .iter()
                    .filter(|(p, _)| p == phase)
                    .map(|(_, r)| r.clone())
                    .collect(),
                _ => Vec::new(),
            })
            .collect()
    }

    #[test]
    fn after_a_rollback_the_numbers_settle_instead_of_breaching() {
        let mut s = state(50);
        s.settings.settle_ms = 30_000;
        let e = green_errors(&mut s, 1_000, 0.05);
        assert_eq!(notes(&e, &Phase::Breach).len(), 1, "{e:?}");
        let e = key(&mut s, KeyCode::Char('r'));
        assert_eq!(shares(&e), vec![(0, true)]);
        done(&mut s, &e, 0);
        // Green's window still holds its errors from before the rollback.
        let e = green_errors(&mut s, 2_000, 0.05);
        assert!(!s.breach(), "{:?}", s.guard_results());
        assert!(
            s.guard_results()
                .iter()
                .filter(|r| r.kind != crate::core::RuleKind::HealthFailures)
                .all(|r| matches!(r.check, RuleCheck::Settling { .. })),
            "{:?}",
            s.guard_results()
        );
        assert!(notes(&e, &Phase::Breach).is_empty(), "{e:?}");
        assert!(
            s.said(
                "green error-rate no longer breaching after 0:01: green serves no traffic (0 %)"
            ),
            "{:?}",
            s.view.events
        );
        assert!(s.settling_until().is_some());
        // Once the window has passed, a candidate at 0 % with no data is just that.
        green_unjudged(&mut s, 40_000);
        assert_eq!(s.settling_until(), None);
        assert!(!s.breach());
        // A straggler's error at 0 %, after the settling: no release's verdict, no history.
        let e = green_errors(&mut s, 41_000, 0.10);
        assert!(notes(&e, &Phase::Breach).is_empty(), "{e:?}");
        assert!(!s.said("BREACH: errors 10"), "{:?}", s.view.events);
    }

    #[test]
    fn only_the_driver_journals_a_breach_every_cockpit_shows_it() {
        let mut s = state(50);
        s.lease.role = crate::app::state::Role::Observer;
        let e = green_errors(&mut s, 1_000, 0.05);
        assert!(notes(&e, &Phase::Breach).is_empty(), "{e:?}");
        assert!(s.said("green BREACH"), "{:?}", s.view.events);
        let mut d = state(50);
        let e = green_errors(&mut d, 1_000, 0.05);
        assert_eq!(notes(&e, &Phase::Breach).len(), 1, "{e:?}");
    }

    #[test]
    fn settling_never_hides_a_breach_of_a_candidate_that_serves() {
        let mut s = state(10);
        s.settings.settle_ms = 30_000;
        let e = key(&mut s, KeyCode::Right);
        done(&mut s, &e, 50);
        assert!(s.settling_until().is_some());
        green_errors(&mut s, 1_000, 0.05);
        assert!(s.breach(), "{:?}", s.guard_results());
        green_errors(&mut s, 2_000, 0.001);
        assert!(
            s.guard_results()
                .iter()
                .any(|r| matches!(r.check, RuleCheck::Settling { .. })),
            "no OK verdict while settling: {:?}",
            s.guard_results()
        );
    }

    #[test]
    fn a_step_nothing_judged_asks_why_and_the_override_is_journaled() {
        let mut s = state(10);
        green_unjudged(&mut s, 500);
        assert!(key(&mut s, KeyCode::Right).is_empty());
        let c = s.view.confirm.clone().expect("asks first");
        assert_eq!(c.reasons, vec![ConfirmReason::Unjudged]);
        assert_eq!(
            s.unjudged().as_deref(),
            Some("no error or latency data for green: nothing has judged it")
        );
        let e = key(&mut s, KeyCode::Char('y'));
        let over = notes(&e, &Phase::Override);
        assert!(
            over.len() == 1 && over[0].contains("step green 10 → 50 %: no error or latency data"),
            "{over:?}"
        );
        assert_eq!(shares(&e), vec![(50, false)]);
    }

    #[test]
    fn min_bake_holds_each_step_with_a_countdown_and_never_rollback() {
        let mut s = state(0);
        s.settings.min_bake_ms = Some(60_000);
        let e = key(&mut s, KeyCode::Right);
        done(&mut s, &e, 10);
        fresh_signals(&mut s, 10_000);
        assert!(key(&mut s, KeyCode::Right).is_empty());
        assert!(
            s.last_event().contains("min-bake not met, 0:51 left"),
            "{}",
            s.last_event()
        );
        assert_eq!(shares(&key(&mut s, KeyCode::Char('9'))), vec![]);
        fresh_signals(&mut s, 61_000);
        assert_eq!(shares(&key(&mut s, KeyCode::Right)), vec![(50, false)]);
        let mut s = state(0);
        s.settings.min_bake_ms = Some(60_000);
        let e = key(&mut s, KeyCode::Right);
        done(&mut s, &e, 10);
        assert_eq!(shares(&key(&mut s, KeyCode::Char('r'))), vec![(0, true)]);
    }

    /// Signals at `now` with green having served `n` requests in the window.
    fn green_served(s: &mut State, now: Millis, n: f64) {
        let poll = |n: f64| crate::signals::EnvPoll {
            error_rate: Some(Reading::Value(0.001)),
            p99_ms: Some(Reading::Value(150.0)),
            requests: Some(Reading::Value(n)),
            errors: Some(Reading::Value(0.0)),
            ..Default::default()
        };
        let result = Ok(Box::new(EnvPair::new(poll(5000.0), poll(n))));
        update(
            s,
            Event::Signals {
                source: "t".into(),
                now,
                result,
            },
        );
    }

    #[test]
    fn min_requests_holds_a_step_until_it_has_served_enough() {
        let mut s = state(10);
        s.settings.guardrails.min_requests = Some(200);
        green_served(&mut s, 1_000, 120.0);
        assert_eq!(shares(&key(&mut s, KeyCode::Right)), vec![]);
        assert!(
            s.last_event()
                .contains("min-requests not met, 120/200 requests"),
            "{}",
            s.last_event()
        );
        assert_eq!(shares(&key(&mut s, KeyCode::Char('r'))), vec![(0, true)]);
        let mut s = state(10);
        s.settings.guardrails.min_requests = Some(200);
        green_served(&mut s, 1_000, 250.0);
        assert_eq!(shares(&key(&mut s, KeyCode::Right)), vec![(50, false)]);
    }

    #[test]
    fn a_feed_that_dies_does_not_clear_a_breach() {
        let mut s = state(50);
        let e = green_errors(&mut s, 1_000, 0.05);
        assert_eq!(notes(&e, &Phase::Breach).len(), 1);
        // No poll for 10 s: green's data goes stale; the breach is not "cleared".
        let e = update(&mut s, Event::Tick { now: 11_000 });
        assert!(notes(&e, &Phase::BreachCleared).is_empty(), "{e:?}");
        // The feed returns, still breaching: no second start either.
        let e = green_errors(&mut s, 12_000, 0.05);
        assert!(notes(&e, &Phase::Breach).is_empty(), "{e:?}");
        let e = green_errors(&mut s, 13_000, 0.001);
        assert_eq!(notes(&e, &Phase::BreachCleared).len(), 1, "{e:?}");
    }
}
