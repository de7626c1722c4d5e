//! The rollback window and the auto-rollback: the window completes when it runs out at
//! 100 % unless the candidate is failing (then it holds until `r` or an explicit confirm),
//! its end is warned of once, a cold live env is warned of, and a lasting breach rolls back
//! by itself.

use super::writes::issue;
use super::{Effect, RecordOp};
use crate::app::journal::{Phase, WriteAction};
use crate::app::keymap::Action;
use crate::app::state::{Level, Role, State};
use crate::app::words::clock;
use crate::core::LiveFrom;

/// The rollback window ran out at 100 %: the cutover completes, unless the candidate is
/// failing (breaching, stale, no data). Then the window holds at 0:00, loudly, until `r`
/// rolls back or `y` completes it anyway; once held, only `y` completes it.
pub(super) fn window_due(s: &mut State) -> Vec<Effect> {
    if !s.traffic.live_known || !s.cutover.window_due(s.now) {
        return Vec::new();
    }
    if s.window.held.is_some() {
        return Vec::new();
    }
    if let Some(why) = s.candidate_failing() {
        let text = format!(
            "window held: {why} — {} rolls back, {} completes anyway",
            s.key(Action::Rollback),
            s.key(Action::CompleteWindow)
        );
        s.log(Level::Error, text.clone());
        s.window.held = Some(why);
        if s.lease.role != Role::Driver {
            return Vec::new();
        }
        return vec![
            Effect::JournalNote {
                phase: Phase::WindowHeld,
                reason: text.clone(),
            },
            Effect::Record(RecordOp::WindowEnd {
                live: s.live(),
                end: None,
            }),
            Effect::Notify {
                event: "window-held".into(),
                text,
            },
        ];
    }
    complete(s, None)
}

/// Ends the cutover: the candidate is the new live. The driver journals it, with the new
/// live env's signals, and clears the record; an observer only shows it.
pub(super) fn complete(s: &mut State, override_by: Option<String>) -> Vec<Effect> {
    let old = s.live();
    let new_live = s.cutover.complete();
    s.window.held = None;
    s.window.completed = Some((s.now, old));
    s.traffic.live_from = Some(LiveFrom::AllTraffic);
    s.log(
        Level::Good,
        format!("rollback window over: cutover complete, {new_live} is now live"),
    );
    if s.lease.role != Role::Driver {
        return Vec::new();
    }
    let mut effects = vec![
        Effect::JournalComplete { new_live },
        Effect::Record(RecordOp::Complete { old_live: old }),
    ];
    if let Some(reason) = override_by {
        effects.insert(
            0,
            Effect::JournalNote {
                phase: Phase::CompleteOverride,
                reason,
            },
        );
    }
    effects
}

/// Warns once when the rollback window is about to end.
pub(super) fn warn_window_end(s: &mut State) {
    match s.cutover.window_remaining(s.now) {
        Some(left) if left <= s.settings.window_warn_ms && left > 0 && !s.window.warned => {
            s.window.warned = true;
            s.log(
                Level::Warn,
                format!(
                    "rollback window ends in {}: then {} is live and rollback is no longer instant (e extends)",
                    clock(left),
                    s.candidate()
                ),
            );
        }
        None => s.window.warned = false,
        _ => {}
    }
}

/// Warns once when the live env has no ready capacity (scaled to zero, or no ready
/// replicas) while the rollback window is open: a rollback would send traffic nowhere.
pub(super) fn warn_live_cold(s: &mut State) {
    let open = s.cutover.window_remaining(s.now).is_some_and(|l| l > 0);
    let live = s.live();
    let cold = s.signals.get(live).health.as_ref().is_some_and(|(h, _)| {
        h.up == 0 && h.failures == 0 && h.health == crate::core::Health::Down
    });
    if open && cold && !s.window.live_cold_warned {
        s.window.live_cold_warned = true;
        let detail = s
            .signals
            .get(live)
            .health
            .as_ref()
            .map(|(h, _)| h.detail.clone())
            .unwrap_or_default();
        s.log(
            Level::Warn,
            format!(
                "{live} is not warm while the rollback window is open ({detail}): a rollback now would send traffic to no ready pods"
            ),
        );
    } else if !cold {
        s.window.live_cold_warned = false;
    }
}

/// Rolls back by itself once the candidate has breached a guardrail for
/// `auto_rollback_ms`, unless the operator cancelled this breach's countdown. A cleared
/// breach resets everything, so a recurrence counts down again.
pub(super) fn auto_rollback(s: &mut State) -> Vec<Effect> {
    let Some(limit) = s.settings.auto_rollback_ms else {
        return Vec::new();
    };
    let breaching = s.lease.role == Role::Driver
        && s.traffic.live_known
        && s.breach()
        && s.cutover.share.is_some_and(|x| x > 0);
    if !breaching {
        s.window.auto = Default::default();
        return Vec::new();
    }
    if s.window.auto.cancelled || s.window.auto.fired {
        return Vec::new();
    }
    let since = *s.window.auto.since.get_or_insert(s.now);
    // A rollback in flight, or a cold rollback's ramp under way, is already taking it back.
    if s.now.saturating_sub(since) < limit
        || s.writes.in_flight.iter().any(|w| w.rollback)
        || s.writes.ramp.is_some()
    {
        return Vec::new();
    }
    if let Some(effects) = super::schema::hold_auto_rollback(s) {
        return effects;
    }
    s.window.auto.fired = true;
    let tripped: Vec<String> = s
        .guard_results()
        .iter()
        .filter(|r| r.check == crate::core::RuleCheck::Breach)
        .map(|r| {
            let v = r
                .value
                .map_or_else(|| "no data".to_string(), |v| format!("{v:.4}"));
            format!("{} = {v} (limit {})", r.kind.name(), r.limit)
        })
        .collect();
    let reason = format!(
        "guardrail breach for {} s: {}",
        limit / 1000,
        tripped.join(", ")
    );
    s.log(Level::Error, format!("AUTO-ROLLBACK: {reason}"));
    // A cold target ramps (`cold-rollback = "ramp"`), as a key's rollback does.
    let mut effects = super::ramp::rollback(s, &WriteAction::AutoRollback)
        .unwrap_or_else(|| issue(s, 0, true, WriteAction::AutoRollback));
    effects.push(Effect::Notify {
        event: "auto-rollback".into(),
        text: format!("AUTO-ROLLBACK of {}: {reason}", s.candidate()),
    });
    for e in &mut effects {
        if let Effect::Write(o) = e {
            o.reason = Some(reason.clone());
        }
    }
    effects
}

#[cfg(test)]
mod tests {
    use crate::app::update::testkit::*;

    #[test]
    fn auto_rollback_fires_after_a_sustained_breach_with_its_reason() {
        let mut s = state(50);
        s.settings.auto_rollback_ms = Some(10_000);
        let e = green_errors(&mut s, 1_000, 0.05);
        assert!(
            matches!(e.as_slice(), [Effect::JournalNote { phase: Phase::Breach, reason }] if reason.contains("errors 5.00 % > 1 %")),
            "the breach's start is history: {e:?}"
        );
        assert_eq!(s.auto_rollback_in(), Some(10_000));
        assert!(green_errors(&mut s, 9_000, 0.05).is_empty());
        assert_eq!(s.auto_rollback_in(), Some(2_000));
        let e = green_errors(&mut s, 11_000, 0.05);
        let [Effect::Write(o), Effect::Notify { event, text }] = e.as_slice() else {
            panic!("{e:?}")
        };
        assert_eq!(event, "auto-rollback");
        assert!(text.contains("AUTO-ROLLBACK of green"), "{text}");
        assert!(o.rollback && o.share == 0 && o.action == WriteAction::AutoRollback);
        let reason = o.reason.clone().unwrap();
        assert!(
            reason.contains("error-rate = 0.0500") && reason.contains("10 s"),
            "{reason}"
        );
        assert!(green_errors(&mut s, 12_000, 0.05).is_empty(), "fires once");
    }

    #[test]
    fn a_cancelled_auto_rollback_waits_for_the_breach_to_clear_and_recur() {
        let mut s = state(50);
        s.settings.auto_rollback_ms = Some(10_000);
        green_errors(&mut s, 1_000, 0.05);
        s.now = 2_000;
        let e = key(&mut s, KeyCode::Char('c'));
        assert!(
            matches!(e.as_slice(), [Effect::JournalNote { phase, .. }] if *phase == Phase::AutoRollbackCancelled)
        );
        assert!(
            green_errors(&mut s, 20_000, 0.05).is_empty(),
            "held off while the breach lasts"
        );
        assert_eq!(s.auto_rollback_in(), None);
        green_errors(&mut s, 21_000, 0.001);
        green_errors(&mut s, 22_000, 0.05);
        assert_eq!(
            s.auto_rollback_in(),
            Some(10_000),
            "a recurrence counts down again"
        );
        let e = green_errors(&mut s, 32_000, 0.05);
        assert!(matches!(e.as_slice(), [Effect::Write(o), Effect::Notify { .. }] if o.rollback));
    }

    #[test]
    fn the_window_end_is_warned_once_and_e_extends_it_with_a_journal_note() {
        let mut s = state(100);
        s.cutover.window = 10 * 60_000;
        s.settings.window_warn_ms = 2 * 60_000;
        s.settings.window_extend_ms = 15 * 60_000;
        update(&mut s, Event::Tick { now: 7 * 60_000 });
        update(
            &mut s,
            Event::Tick {
                now: 8 * 60_000 + 1,
            },
        );
        update(&mut s, Event::Tick { now: 9 * 60_000 });
        let warned = |s: &State| {
            s.view
                .events
                .iter()
                .filter(|e| e.text.contains("rollback window ends in"))
                .count()
        };
        assert_eq!(warned(&s), 1);
        let e = key(&mut s, KeyCode::Char('e'));
        assert!(
            matches!(e.as_slice(), [Effect::JournalNote { phase, reason }, Effect::Record(RecordOp::WindowEnd { live: Env::Blue, end: Some(_) })] if *phase == Phase::WindowExtended && reason.contains("16:00 left")),
            "{e:?}"
        );
        assert_eq!(s.cutover.window_remaining(s.now), Some(16 * 60_000 - 10));
        update(&mut s, Event::Tick { now: 24 * 60_000 });
        assert_eq!(warned(&s), 2, "warned again before the extended end");
    }

    #[test]
    fn a_failing_candidate_holds_the_window_until_r_or_an_explicit_y() {
        let mut s = promoted(0.05);
        // The window (60 s) runs out while green breaches: held, loudly, not completed.
        let mut effects = Vec::new();
        for now in [30_000u64, 59_000, 60_500, 61_000, 62_000] {
            effects.extend(green_errors(&mut s, now, 0.05));
        }
        assert_eq!(s.live(), Env::Blue, "not completed");
        assert!(
            s.window
                .held
                .as_deref()
                .unwrap()
                .contains("green breaches errors 5.00 %")
        );
        assert!(effects.iter().any(
            |e| matches!(e, Effect::JournalNote { phase, .. } if *phase == Phase::WindowHeld)
        ));
        assert!(effects.contains(&Effect::Record(RecordOp::WindowEnd {
            live: Env::Blue,
            end: None
        })));
        assert!(
            !effects
                .iter()
                .any(|e| matches!(e, Effect::JournalComplete { .. }))
        );
        let held = s
            .view
            .events
            .iter()
            .filter(|l| l.text.starts_with("window held"))
            .count();
        assert_eq!(held, 1, "said once");
        // Even when green recovers, only y completes a held window.
        green_errors(&mut s, 63_000, 0.0);
        assert_eq!(s.live(), Env::Blue);
        // r rolls back, to blue.
        let e = key(&mut s, KeyCode::Char('r'));
        assert_eq!(shares(&e), vec![(0, true)]);
        done(&mut s, &e, 0);
        assert!(s.window.held.is_none(), "off 100 %, nothing held");

        // The same, completed by y: journaled as an override, with the new live's signals.
        let mut s = promoted(0.05);
        for now in [61_000u64, 62_000] {
            green_errors(&mut s, now, 0.05);
        }
        assert!(s.window.held.is_some());
        let e = key(&mut s, KeyCode::Char('y'));
        assert!(
            matches!(&e[0], Effect::JournalNote { phase, reason } if *phase == Phase::CompleteOverride && reason.contains("anyway")),
            "{e:?}"
        );
        assert!(e.contains(&Effect::JournalComplete {
            new_live: Env::Green
        }));
        assert!(e.contains(&Effect::Record(RecordOp::Complete {
            old_live: Env::Blue
        })));
        assert_eq!(s.live(), Env::Green);
        // After it closed, r does not pretend: it offers the way back as a new cutover.
        let e = key(&mut s, KeyCode::Char('r'));
        assert!(e.is_empty(), "{e:?}");
        let t = &s.last_event();
        assert!(
            t.starts_with("nothing to roll back: the rollback window closed at"),
            "{t}"
        );
        let c = s.view.confirm.clone().unwrap();
        assert_eq!((c.share, &c.action), (100, &WriteAction::Revert));
        let e = key(&mut s, KeyCode::Char('y'));
        let [Effect::Write(o)] = e.as_slice() else {
            panic!("{e:?}")
        };
        assert_eq!(
            (o.live, o.share, o.rollback),
            (Env::Green, 100, false),
            "all to blue"
        );

        // A healthy candidate completes by itself.
        let mut s = promoted(0.001);
        let mut effects = Vec::new();
        for now in [30_000u64, 61_000] {
            effects.extend(green_errors(&mut s, now, 0.001));
        }
        assert_eq!(s.live(), Env::Green);
        assert!(effects.contains(&Effect::JournalComplete {
            new_live: Env::Green
        }));
    }
}
