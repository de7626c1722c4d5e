//! A key's action. Dialogs come first (take-over, where all traffic goes, a pending
//! confirm); rollback is never swallowed by any of them.

use super::approval;
use super::lease::not_driving;
use super::reads::observe;
use super::window::complete;
use super::writes::{command, issue, rollback};
use super::{Effect, RecordOp};
use crate::app::journal::{Phase, WriteAction};
use crate::app::keymap::{Action, Press};
use crate::app::state::{Level, Overlay, PendingConfirm, Role, SmokeState, State};
use crate::app::words::{clock, hhmm};
use crate::core::{Command, ConfirmReason, Env, LiveFrom};

/// A key press, in this order: the answer to a question (take over? where does all
/// traffic go?), the gates (who may write; rollback pre-empts everything after this), the
/// answer to a confirm (a step, a held window), an open overlay, then the action.
pub(super) fn on_key(s: &mut State, press: Press) -> Vec<Effect> {
    let action = press.main;
    if let Some(effects) = answer_question(s, press) {
        return effects;
    }
    if let Some(effects) = approval::answer_key(s, press) {
        return effects;
    }
    if let Some(effects) = gate(s, action) {
        return effects;
    }
    if let Some(effects) = answer_confirm(s, press) {
        return effects;
    }
    // Our request for approval waiting: n or Esc takes it back.
    if s.view.confirm.is_none()
        && s.view.overlay == Overlay::None
        && s.approval.waiting.is_some()
        && press.dialog == Some(Action::Cancel)
    {
        return approval::withdraw(s);
    }
    if s.view.overlay != Overlay::None {
        close_overlay(s, action);
        return Vec::new();
    }
    act(s, action)
}

/// The answer to a question (take over? where does all traffic go?), or `None` when
/// nothing was asked.
fn answer_question(s: &mut State, press: Press) -> Option<Vec<Effect>> {
    // Rollback is never swallowed by a dialog.
    if s.view.takeover_confirm && press.main != Some(Action::Rollback) {
        s.view.takeover_confirm = false;
        return Some(match press.dialog {
            Some(Action::Confirm) => {
                s.log(Level::Info, "taking over the driver lease …");
                vec![Effect::TakeOver]
            }
            _ => {
                s.log(Level::Info, "cancelled: take-over");
                Vec::new()
            }
        });
    }
    // Where all traffic goes, when nothing records who was live: b or g, nothing else.
    if s.view.ask_target {
        s.view.ask_target = false;
        let env = match press.dialog {
            Some(Action::PickBlue) => Env::Blue,
            Some(Action::PickGreen) => Env::Green,
            _ => {
                s.log(Level::Info, "cancelled: nothing was written");
                return Some(Vec::new());
            }
        };
        s.cutover.live = env;
        s.traffic.live_known = true;
        s.traffic.live_from = Some(LiveFrom::Chosen);
        if let Some(w) = s.traffic.weights {
            observe(s, w);
        }
        s.log(
            Level::Warn,
            format!(
                "{} chose {env} as the rollback target: all traffic to {env}",
                s.settings.driver
            ),
        );
        return Some(rollback(s, WriteAction::Rollback));
    }
    None
}

/// What a confirmed move overrode (a breach, stale data, a candidate nothing judged), in
/// words for the events and the journal; `None` when it overrode none of those.
fn override_reason(s: &State, c: &PendingConfirm) -> Option<String> {
    let mut over = Vec::new();
    for r in &c.reasons {
        match r {
            ConfirmReason::Breach => {
                over.push(s.candidate_failing().unwrap_or_else(|| "a breach".into()));
            }
            ConfirmReason::Stale => over.push(format!("{}'s data is STALE", s.candidate())),
            ConfirmReason::Unjudged => {
                over.push(s.unjudged().unwrap_or_else(|| "nothing judged it".into()));
            }
            _ => {}
        }
    }
    if over.is_empty() {
        return None;
    }
    let from = s
        .cutover
        .base()
        .map_or_else(|| "?".to_string(), |b| b.to_string());
    Some(format!(
        "{} overrode the guardrails to {} {} {from} → {} %: {}",
        s.settings.driver,
        c.action,
        s.candidate(),
        c.share,
        over.join("; ")
    ))
}

/// A confirm whose traffic moved while it was open (someone rolled back) is withdrawn at
/// once, said with who moved it: the question was asked from a screen no longer true.
pub(super) fn withdraw_if_moved(s: &mut State) {
    if let Some(c) = &s.view.confirm
        && let Some(why) = moved_while_asking(s, c)
    {
        s.view.confirm = None;
        s.log(Level::Warn, why);
    }
}

/// Traffic moved since the question was asked (someone rolled back, a change made
/// elsewhere, the live env changed): the `y` answers a screen that is no longer true and
/// would undo their move, so nothing is written. `None`: traffic is where it was.
pub(super) fn moved_while_asking(s: &State, c: &PendingConfirm) -> Option<String> {
    let now = s.cutover.base();
    if s.live() == c.live && now == c.from {
        return None;
    }
    let pct = |p: Option<u8>| p.map_or_else(|| "?".to_string(), |p| p.to_string());
    let wall = s.wall_ms(s.now);
    let by = s
        .traffic
        .record
        .as_ref()
        .and_then(|r| r.last.as_ref())
        .filter(|l| {
            WriteAction::from(l.action.as_str()).is_rollback()
                && l.pid != Some(s.settings.pid)
                && wall.saturating_sub(l.at) <= 120_000
        })
        .map_or_else(String::new, |l| {
            format!(" ({} rolled back at {})", l.who, hhmm(l.at))
        });
    let moved = if s.live() == c.live {
        format!("{} {} → {} %", s.candidate(), pct(c.from), pct(now))
    } else {
        format!("{} is live now, not {}", s.live(), c.live)
    };
    Some(format!(
        "question withdrawn, nothing sent: traffic moved while it was open: {moved}{by}; {} to {} % would have undone that: look again before moving it",
        c.action, c.share
    ))
}

/// The answer to a confirm (a step waiting for `y`, a held window), or `None` when nothing
/// waits for one.
fn answer_confirm(s: &mut State, press: Press) -> Option<Vec<Effect>> {
    // A held window completes only on an explicit, journaled `y`.
    if s.view.confirm.is_none()
        && s.lease.role == Role::Driver
        && press.main == Some(Action::CompleteWindow)
        && let Some(held) = s.window.held.clone()
    {
        let why = s.candidate_failing().unwrap_or(held);
        let reason = format!(
            "{} completed the rollback window anyway while {why}",
            s.settings.driver
        );
        s.log(Level::Warn, reason.clone());
        return Some(complete(s, Some(reason)));
    }
    if let Some(c) = s.view.confirm.take() {
        return Some(match press.dialog {
            Some(Action::Confirm) => {
                if let Some(why) = moved_while_asking(s, &c) {
                    s.log(Level::Warn, why);
                    return Some(Vec::new());
                }
                // Journaled with the write, only if it goes out.
                let mut notes = Vec::new();
                if c.reasons.contains(&ConfirmReason::Preflight) {
                    let reason = format!(
                        "{} overrode a failed pre-flight to step {} to {} %: not met: {}",
                        s.settings.driver,
                        s.candidate(),
                        c.share,
                        s.preflight_failures_text()
                    );
                    notes.push((Phase::PreflightOverride, reason));
                }
                if let Some(reason) = override_reason(s, &c) {
                    notes.push((Phase::Override, reason));
                }
                // A second person first (`[approval]`): nothing moves until they approve,
                // and the override is said when it goes out.
                if let Some(need) = approval::need(s, &c, !notes.is_empty()) {
                    return Some(approval::ask(s, c, notes, need));
                }
                for (_, reason) in &notes {
                    s.log(Level::Warn, reason.clone());
                }
                let mut effects = issue(s, c.share, false, c.action);
                for e in &mut effects {
                    if let Effect::Write(o) = e {
                        o.notes = std::mem::take(&mut notes);
                    }
                }
                effects
            }
            _ => {
                s.log(
                    Level::Info,
                    format!("cancelled: {} to {} %", c.action, c.share),
                );
                Vec::new()
            }
        });
    }
    None
}

/// Who may write, and rollback before anything else: `Some` when the key is dealt with.
fn gate(s: &mut State, action: Option<Action>) -> Option<Vec<Effect>> {
    // An observer's write keys say why they do nothing; rollback works for every cutover
    // that may write at all.
    if action.is_some_and(Action::writes)
        && !(action == Some(Action::Rollback) && s.lease.role == Role::Observer)
        && let Some(why) = not_driving(s)
    {
        s.log(Level::Warn, why);
        return Some(Vec::new());
    }
    if action == Some(Action::TakeOver) {
        match s.lease.role {
            Role::Driver => s.log(Level::Info, "this cutover already drives"),
            Role::ReadOnly => {
                let why = not_driving(s).unwrap_or_default();
                s.log(Level::Warn, why);
            }
            Role::Observer => s.view.takeover_confirm = true,
        }
        return Some(Vec::new());
    }
    // Rollback always works: no dialog or overlay swallows it.
    if action == Some(Action::Rollback) {
        s.view.confirm = None;
        s.view.takeover_confirm = false;
        s.view.overlay = Overlay::None;
        s.approval.answering = None;
        return Some(rollback(s, WriteAction::Rollback));
    }
    None
}

/// Any key closes the help or the log; `L` and `?` switch between them, quit quits.
fn close_overlay(s: &mut State, action: Option<Action>) {
    match action {
        Some(Action::Quit) => s.view.quit = true,
        Some(Action::Log) if s.view.overlay == Overlay::Help => s.view.overlay = Overlay::Log,
        Some(Action::Help) if s.view.overlay == Overlay::Log => s.view.overlay = Overlay::Help,
        _ => s.view.overlay = Overlay::None,
    }
}

/// Quit: our request for approval goes with us (no one approves a move no one sends), and
/// a cold rollback left half done is said.
fn quit(s: &mut State) -> Vec<Effect> {
    s.view.quit = true;
    let mut effects = approval::withdraw(s);
    effects.extend(super::ramp::abandon(s));
    effects
}

/// An action on the cockpit, no dialog open.
fn act(s: &mut State, action: Option<Action>) -> Vec<Effect> {
    match action {
        None => {
            s.view.dirty = false;
            Vec::new()
        }
        // Handled above, before any dialog.
        Some(Action::TakeOver) => Vec::new(),
        Some(Action::Approve) => {
            approval::open(s);
            Vec::new()
        }
        Some(Action::Quit) => quit(s),
        Some(Action::Help) => {
            s.view.overlay = Overlay::Help;
            Vec::new()
        }
        Some(Action::Log) => {
            s.view.overlay = Overlay::Log;
            Vec::new()
        }
        Some(Action::Smoke) => {
            if matches!(s.smoke, Some(SmokeState::Running { .. })) {
                s.log(Level::Info, "smoke checks already running");
                return Vec::new();
            }
            let env = s.candidate();
            s.smoke = Some(SmokeState::Running { env, since: s.now });
            s.log(Level::Info, format!("smoke checks against {env} started"));
            vec![Effect::Smoke(env)]
        }
        Some(Action::CancelAuto) => match s.auto_rollback_in() {
            Some(left) => {
                s.window.auto.cancelled = true;
                let reason = format!(
                    "auto-rollback cancelled by {} with {} s left; held off until the breach clears",
                    s.settings.driver,
                    left.div_ceil(1000)
                );
                s.log(Level::Warn, reason.clone());
                vec![Effect::JournalNote {
                    phase: Phase::AutoRollbackCancelled,
                    reason,
                }]
            }
            None => {
                s.log(Level::Info, "no auto-rollback is counting down");
                Vec::new()
            }
        },
        Some(Action::ExtendWindow) => {
            match s.cutover.extend_window(s.settings.window_extend_ms, s.now) {
                Some(left) => {
                    s.window.warned = left <= s.settings.window_warn_ms;
                    s.window.held = None;
                    let end = s.wall_ms(s.now).saturating_add(left as i64);
                    let reason = format!(
                        "rollback window extended by {} min by {}; {} left",
                        s.settings.window_extend_ms / 60_000,
                        s.settings.driver,
                        clock(left)
                    );
                    s.log(Level::Info, reason.clone());
                    vec![
                        Effect::JournalNote {
                            phase: Phase::WindowExtended,
                            reason,
                        },
                        Effect::Record(RecordOp::WindowEnd {
                            live: s.live(),
                            end: Some(end),
                        }),
                    ]
                }
                None => {
                    s.log(
                        Level::Info,
                        "no rollback window is running (it starts at 100 %)",
                    );
                    Vec::new()
                }
            }
        }
        // A pause is no write: its name is never journaled.
        Some(Action::Pause) => command(s, Command::TogglePause, WriteAction::Other("pause".into())),
        Some(Action::StepForward) => command(s, Command::StepForward, WriteAction::Step),
        Some(Action::StepBack) => command(s, Command::StepBack, WriteAction::Back),
        Some(Action::Jump(p)) => command(s, Command::Jump(p), WriteAction::Set),
        Some(Action::Rollback) => unreachable!("handled above"),
        // Nothing is held or asked: these keys mean nothing here.
        Some(
            Action::CompleteWindow
            | Action::Confirm
            | Action::Cancel
            | Action::PickBlue
            | Action::PickGreen,
        ) => {
            s.view.dirty = false;
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::update::testkit::*;

    /// Bob rolls back (recorded, read back) while Alice's confirm is open.
    fn bob_rolls_back(s: &mut State, at: Millis) {
        let wall = s.wall_ms(at);
        let rec = crate::core::Record::new(Env::Blue, "alice@h", wall - 60_000)
            .with_flight("9-1", 0, "bob@h", "rollback", wall - 200)
            .landed();
        update(
            s,
            Event::RecordRead {
                now: at,
                result: Ok(Some(rec)),
            },
        );
        update(
            s,
            Event::BackendRead {
                started: at,
                now: at,
                result: Ok(Weights::for_share(Env::Green, 0, 100)),
            },
        );
    }

    #[test]
    fn a_confirm_answered_after_someone_rolled_back_writes_nothing_and_names_them() {
        let mut s = state(10);
        s.settings.driver = "alice@h".into();
        green_errors(&mut s, 500, 0.05);
        assert!(key(&mut s, KeyCode::Right).is_empty());
        let c = s.view.confirm.clone().expect("a breach asks first");
        assert_eq!((c.from, c.share), (Some(10), 50));
        bob_rolls_back(&mut s, 1_000);
        assert!(s.view.confirm.is_none(), "withdrawn as traffic moved");
        let said = s
            .view
            .events
            .iter()
            .map(|e| e.text.clone())
            .find(|t| t.starts_with("question withdrawn"))
            .expect("said");
        assert!(
            said.starts_with("question withdrawn, nothing sent: traffic moved while it was open: green 10 → 0 % (bob@h rolled back at")
                && said.contains("step to 50 % would have undone that"),
            "{said}"
        );
        let e = key(&mut s, KeyCode::Char('y'));
        assert!(e.is_empty(), "nothing written, nothing journaled: {e:?}");
        // Asked again from where traffic is now, it may go (from 0: the first step).
        assert!(key(&mut s, KeyCode::Right).is_empty());
        let c = s.view.confirm.clone().expect("asks again");
        assert_eq!((c.from, c.share), (Some(0), 10));
        let e = key(&mut s, KeyCode::Char('y'));
        assert!(
            matches!(e.as_slice(), [Effect::Write(o)] if o.share == 10 && o.expect == Some(0) && o.notes.len() == 1),
            "{e:?}"
        );
    }

    #[test]
    fn a_confirm_whose_traffic_did_not_move_writes_with_what_it_was_asked_from() {
        let mut s = state(10);
        green_errors(&mut s, 500, 0.05);
        key(&mut s, KeyCode::Right);
        // A poll that reads the same weights changes nothing.
        update(
            &mut s,
            Event::BackendRead {
                started: 600,
                now: 600,
                result: Ok(Weights::for_share(Env::Green, 10, 100)),
            },
        );
        let e = key(&mut s, KeyCode::Char('y'));
        assert!(
            matches!(e.as_slice(), [Effect::Write(o)] if o.share == 50 && o.expect == Some(10)),
            "{e:?}"
        );
    }

    #[test]
    fn stale_candidate_data_asks_before_a_step() {
        let mut s = state(10);
        s.now = 10_000;
        assert!(key(&mut s, KeyCode::Right).is_empty());
        let c = s.view.confirm.clone().expect("asks to confirm");
        assert_eq!(c.reasons, vec![ConfirmReason::Stale]);
        assert_eq!(
            shares(&key(&mut s, KeyCode::Char('r'))),
            vec![(0, true)],
            "rollback never asks"
        );
    }

    #[test]
    fn step_step_confirm_promote_then_window() {
        let mut s = state(0);
        let e = key(&mut s, KeyCode::Right);
        assert_eq!(shares(&e), vec![(10, false)]);
        done(&mut s, &e, 10);
        let e = key(&mut s, KeyCode::Right);
        done(&mut s, &e, 50);
        let e = key(&mut s, KeyCode::Right);
        assert!(e.is_empty(), "promotion waits for a confirm");
        assert_eq!(s.view.confirm.as_ref().map(|c| c.share), Some(100));
        let e = key(&mut s, KeyCode::Char('y'));
        assert_eq!(shares(&e), vec![(100, false)]);
        done(&mut s, &e, 100);
        assert!(s.cutover.window_remaining(s.now).is_some());
    }

    #[test]
    fn rollback_works_during_confirm_help_and_pause() {
        for setup in [KeyCode::Char('5'), KeyCode::Char('?'), KeyCode::Char('p')] {
            let mut s = state(10);
            key(&mut s, setup);
            let e = key(&mut s, KeyCode::Char('r'));
            assert_eq!(shares(&e), vec![(0, true)], "after {setup:?}");
            assert!(s.view.confirm.is_none());
        }
    }

    #[test]
    fn confirm_cancelled_by_other_keys_and_pause_refuses_forward() {
        let mut s = state(10);
        key(&mut s, KeyCode::Char('7'));
        assert!(s.view.confirm.is_some());
        assert!(key(&mut s, KeyCode::Char('n')).is_empty());
        assert!(s.view.confirm.is_none());
        key(&mut s, KeyCode::Char(' '));
        assert!(s.cutover.paused);
        assert!(key(&mut s, KeyCode::Right).is_empty());
        assert!(s.last_event().contains("paused"));
        assert_eq!(
            shares(&key(&mut s, KeyCode::Left)),
            vec![(0, false)],
            "stepping back works paused"
        );
    }

    #[test]
    fn a_forward_move_waits_for_the_write_before_it_to_read_back() {
        let mut s = state(0);
        let first = key(&mut s, KeyCode::Right);
        assert_eq!(shares(&first), vec![(10, false)]);
        for k in [KeyCode::Right, KeyCode::Char('5')] {
            assert_eq!(shares(&key(&mut s, k)), vec![], "never 0 → 50 on an intent");
            assert!(
                s.last_event().contains("step → 10 % is still in flight"),
                "{}",
                s.last_event()
            );
        }
        assert_eq!(
            shares(&key(&mut s, KeyCode::Char('r'))),
            vec![(0, true)],
            "rollback never waits"
        );
    }

    #[test]
    fn the_first_step_runs_smoke_first_then_steps_or_asks_for_an_override() {
        let smoke_done = |s: &mut State, passed: bool| {
            let now = s.now + 5;
            update(
                s,
                Event::SmokeDone {
                    now,
                    report: SmokeReport {
                        env: Env::Green,
                        passed,
                        summary: if passed {
                            "2/2 checks passed"
                        } else {
                            "1 of 2 checks failed: x"
                        }
                        .into(),
                    },
                },
            )
        };
        // Passed: the step goes out by itself.
        let mut s = state(0);
        s.settings.smoke_available = true;
        assert_eq!(key(&mut s, KeyCode::Right), vec![Effect::Smoke(Env::Green)]);
        assert!(matches!(smoke_done(&mut s, true).as_slice(), [Effect::Write(o)] if o.share == 10));
        // Failed: a confirm naming the pre-flight; y overrides, journaled.
        let mut s = state(0);
        s.settings.smoke_available = true;
        key(&mut s, KeyCode::Right);
        assert!(smoke_done(&mut s, false).is_empty());
        let c = s.view.confirm.clone().expect("asks");
        assert_eq!(c.reasons, vec![ConfirmReason::Preflight]);
        assert_eq!(
            s.preflight_failures(),
            vec![crate::app::state::PreflightCheck::SmokePassed]
        );
        let e = key(&mut s, KeyCode::Char('y'));
        assert!(
            matches!(
                e.as_slice(),
                [Effect::Write(o)]
                    if o.notes.len() == 1 && o.notes[0].0 == Phase::PreflightOverride && o.notes[0].1.contains("not met: smoke passed")
            ),
            "{e:?}"
        );
        // A rollback while the smoke runs drops the pending step.
        let mut s = state(0);
        s.settings.smoke_available = true;
        key(&mut s, KeyCode::Right);
        key(&mut s, KeyCode::Char('r'));
        assert!(s.preflight_pending.is_none());
        assert!(
            smoke_done(&mut s, true).is_empty(),
            "no step after the rollback"
        );
        // Keys pressed while the pre-flight runs are refused and said so, never remapped.
        let mut s = state(0);
        s.settings.smoke_available = true;
        key(&mut s, KeyCode::Right);
        assert!(key(&mut s, KeyCode::Char('9')).is_empty());
        assert!(
            s.last_event()
                .contains("pre-flight smoke running: step waits"),
            "{}",
            s.last_event()
        );
        assert!(key(&mut s, KeyCode::Char('y')).is_empty());
        assert!(
            matches!(smoke_done(&mut s, true).as_slice(), [Effect::Write(o)] if o.share == 10),
            "the step asked for, not the 9"
        );
    }

    #[test]
    fn a_preflight_override_journals_which_data_is_missing_and_why() {
        let mut s = state(0);
        s.settings.provided = crate::core::Provided {
            p99: false,
            ..crate::core::Provided::ALL
        };
        key(&mut s, KeyCode::Right);
        assert!(s.view.confirm.is_some(), "asks");
        let e = key(&mut s, KeyCode::Char('y'));
        let reason = e
            .iter()
            .find_map(|e| match e {
                Effect::Write(o) => o
                    .notes
                    .iter()
                    .find(|(p, _)| *p == Phase::PreflightOverride)
                    .map(|(_, r)| r.clone()),
                _ => None,
            })
            .expect("journaled");
        assert!(
            reason.contains("error & p99 data (no source for p99: nothing will judge green"),
            "{reason}"
        );
    }

    #[test]
    fn stepping_back_onto_a_release_just_rolled_back_smokes_again_and_asks() {
        let mut s = state(0);
        s.settings.smoke_available = true;
        s.settings.settle_ms = 30_000;
        key(&mut s, KeyCode::Right);
        let now = s.now + 5;
        let passed = SmokeReport {
            env: Env::Green,
            passed: true,
            summary: "2/2 checks passed".into(),
        };
        let e = update(
            &mut s,
            Event::SmokeDone {
                now,
                report: passed.clone(),
            },
        );
        done(&mut s, &e, 10);
        let e = key(&mut s, KeyCode::Char('r'));
        done(&mut s, &e, 0);
        assert!(s.traffic.moved_by_rollback);
        // The smoke that passed before the rollback stands for nothing now.
        assert_eq!(key(&mut s, KeyCode::Right), vec![Effect::Smoke(Env::Green)]);
        let now = s.now + 5;
        let e = update(
            &mut s,
            Event::SmokeDone {
                now,
                report: passed,
            },
        );
        assert!(e.is_empty(), "no step straight back: {e:?}");
        let c = s.view.confirm.clone().expect("asks");
        assert_eq!(c.reasons, vec![ConfirmReason::Preflight]);
        assert_eq!(
            s.preflight_failures(),
            vec![crate::app::state::PreflightCheck::Settled]
        );
    }

    #[test]
    fn a_split_with_no_record_asks_where_traffic_goes() {
        let mut s = unread();
        update(
            &mut s,
            Event::BackendRead {
                started: 0,
                now: 1,
                result: Ok(Weights::new(20, 80)),
            },
        );
        assert!(!s.traffic.live_known, "80 % green is not 'green is live'");
        assert!(
            key(&mut s, KeyCode::Right).is_empty(),
            "no forward step either"
        );
        assert!(key(&mut s, KeyCode::Char('r')).is_empty());
        assert!(s.view.ask_target);
        assert!(
            s.last_event()
                .contains("traffic is split (blue 20 / green 80)")
        );
        // Any other key cancels, nothing written.
        assert!(key(&mut s, KeyCode::Char('x')).is_empty());
        assert!(!s.view.ask_target);
        key(&mut s, KeyCode::Char('r'));
        let e = key(&mut s, KeyCode::Char('g'));
        let [Effect::Write(o)] = e.as_slice() else {
            panic!("{e:?}")
        };
        assert_eq!((o.live, o.share, o.rollback), (Env::Green, 0, true));
        assert_eq!(s.traffic.live_from, Some(LiveFrom::Chosen));
        // Unreachable: said as such, never "splits evenly".
        let mut s = unread();
        key(&mut s, KeyCode::Char('r'));
        assert!(s.last_event().contains("traffic state is unknown"));
    }
}
