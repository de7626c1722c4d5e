//! The pure reducer: `update(&mut State, Event) -> Vec<Effect>`. No I/O, no clock reads.

use super::engine::{WriteOrder, WriteResult};
use super::keymap::Action;
use super::state::{Banner, InFlight, Level, Overlay, PendingConfirm, Role, SmokeState, State};
use super::words::{clock, hhmm, refusal_text};
use crate::core::{
    Command, ConfirmReason, Decision, Env, EnvPair, LiveFrom, Millis, Record, Weights,
};
use crate::signals::{EnvPoll, SmokeReport};
use crossterm::event::{KeyCode, KeyEvent};

/// How long after a pre-empted write its late landing is rolled back again.
pub const ROLLBACK_GUARD_MS: Millis = 30_000;

/// Everything that can happen to the cockpit.
#[derive(Clone, Debug)]
pub enum Event {
    /// The driver lease as the lease task last saw it.
    Lease {
        now: Millis,
        role: Role,
        holder: Option<crate::core::Lease>,
        /// A live lease this cutover just took over, at the operator's request.
        took_over: Option<crate::core::Lease>,
        error: Option<String>,
    },
    Key {
        key: KeyEvent,
        now: Millis,
    },
    Tick {
        now: Millis,
    },
    Resize,
    /// A poll of the backend's weights, started at `started`.
    BackendRead {
        started: Millis,
        now: Millis,
        result: Result<Weights, String>,
    },
    /// The cutover record as read beside the backend (`Ok(None)`: no cutover recorded).
    RecordRead {
        now: Millis,
        result: Result<Option<Record>, String>,
    },
    Signals {
        source: String,
        now: Millis,
        result: Result<Box<EnvPair<EnvPoll>>, String>,
    },
    WriteDone {
        id: u64,
        now: Millis,
        result: WriteResult,
        /// The journal could not be written for it.
        journal_error: Option<String>,
        /// The cutover record could not be updated after it.
        record_error: Option<String>,
    },
    /// A queued write replaced by a newer intent before it was sent.
    WriteSuperseded {
        id: u64,
        by: u64,
    },
    SmokeDone {
        now: Millis,
        report: SmokeReport,
    },
    /// A webhook could not be told.
    NotifyFailed {
        hook: String,
        error: String,
        now: Millis,
    },
    /// SIGTERM, SIGHUP: leave traffic as it is and restore the terminal.
    Shutdown {
        now: Millis,
        reason: String,
    },
}

/// What the runner must do.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    Write(WriteOrder),
    Smoke(crate::core::Env),
    /// Journal the end of the rollback window: `new_live` is live from now on.
    JournalComplete {
        new_live: crate::core::Env,
    },
    /// Tell the webhooks.
    Notify {
        event: String,
        text: String,
    },
    /// Journal a decision that is not a write (e.g. an auto-rollback cancelled).
    JournalNote {
        phase: String,
        reason: String,
    },
    /// Take the driver lease from whoever holds it (confirmed by the operator).
    TakeOver,
    /// Journal a change of the backend's weights that this cutover did not make.
    JournalExternal {
        before: Option<Weights>,
        after: Weights,
    },
    /// Journal a write whose outcome was unknown, seen landing.
    JournalLate {
        write: u64,
        after: Weights,
        reason: String,
    },
    /// Change the cutover record at the backend.
    Record(RecordOp),
}

/// A change to the cutover record that is not part of a write.
#[derive(Clone, Debug, PartialEq)]
pub enum RecordOp {
    /// The window ended (completed): `old_live` is no longer the rollback target.
    Complete { old_live: Env },
    /// The window is held or extended: its end moves (`None`: held, no end).
    WindowEnd { live: Env, end: Option<i64> },
    /// The record vanished mid-cutover (an HAProxy reload starts a fresh store): the driver
    /// puts back its last copy, only if the store is still empty.
    Restore(Record),
}

pub fn update(s: &mut State, ev: Event) -> Vec<Effect> {
    let mut effects = reduce(s, ev);
    s.refresh_guards();
    report_mismatch(s);
    effects.extend(auto_rollback(s));
    effects.extend(window_due(s));
    warn_window_end(s);
    warn_live_cold(s);
    effects
}

/// The rollback window ran out at 100 %: the cutover completes, unless the candidate is
/// failing (breaching, stale, no data). Then the window holds at 0:00, loudly, until `r`
/// rolls back or `y` completes it anyway; once held, only `y` completes it.
fn window_due(s: &mut State) -> Vec<Effect> {
    if !s.live_known || !s.cutover.window_due(s.now) {
        return Vec::new();
    }
    if s.window_held.is_some() {
        return Vec::new();
    }
    if let Some(why) = s.candidate_failing() {
        let text = format!("window held: {why} — r rolls back, y completes anyway");
        s.log(Level::Error, text.clone());
        s.window_held = Some(why);
        if s.role != Role::Driver {
            return Vec::new();
        }
        return vec![
            Effect::JournalNote {
                phase: "window-held".into(),
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
fn complete(s: &mut State, override_by: Option<String>) -> Vec<Effect> {
    let old = s.live();
    let new_live = s.cutover.complete();
    s.window_held = None;
    s.completed = Some((s.now, old));
    s.live_from = Some(LiveFrom::AllTraffic);
    s.log(
        Level::Good,
        format!("rollback window over: cutover complete, {new_live} is now live"),
    );
    if s.role != Role::Driver {
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
                phase: "complete-override".into(),
                reason,
            },
        );
    }
    effects
}

/// Warns once when the rollback window is about to end.
fn warn_window_end(s: &mut State) {
    match s.cutover.window_remaining(s.now) {
        Some(left) if left <= s.window_warn_ms && left > 0 && !s.window_warned => {
            s.window_warned = true;
            s.log(
                Level::Warn,
                format!(
                    "rollback window ends in {}: then {} is live and rollback is no longer instant (e extends)",
                    clock(left),
                    s.candidate()
                ),
            );
        }
        None => s.window_warned = false,
        _ => {}
    }
}

/// Warns once when the live env has no ready capacity (scaled to zero, or no ready
/// replicas) while the rollback window is open: a rollback would send traffic nowhere.
fn warn_live_cold(s: &mut State) {
    let open = s.cutover.window_remaining(s.now).is_some_and(|l| l > 0);
    let live = s.live();
    let cold = s.signals.get(live).health.as_ref().is_some_and(|(h, _)| {
        h.up == 0 && h.failures == 0 && h.health == crate::core::Health::Down
    });
    if open && cold && !s.live_cold_warned {
        s.live_cold_warned = true;
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
        s.live_cold_warned = false;
    }
}

/// Rolls back by itself once the candidate has breached a guardrail for
/// `auto_rollback_ms`, unless the operator cancelled this breach's countdown. A cleared
/// breach resets everything, so a recurrence counts down again.
fn auto_rollback(s: &mut State) -> Vec<Effect> {
    let Some(limit) = s.auto_rollback_ms else {
        return Vec::new();
    };
    let breaching = s.role == Role::Driver
        && s.live_known
        && s.breach()
        && s.cutover.share.is_some_and(|x| x > 0);
    if !breaching {
        s.auto = Default::default();
        return Vec::new();
    }
    if s.auto.cancelled || s.auto.fired {
        return Vec::new();
    }
    let since = *s.auto.since.get_or_insert(s.now);
    if s.now.saturating_sub(since) < limit || s.writes.iter().any(|w| w.rollback) {
        return Vec::new();
    }
    s.auto.fired = true;
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
    let mut effects = issue(s, 0, true, "auto-rollback");
    effects.push(Effect::Notify {
        event: "auto-rollback".into(),
        text: format!("AUTO-ROLLBACK of {}: {reason}", s.candidate()),
    });
    for e in effects.iter_mut() {
        if let Effect::Write(o) = e {
            o.reason = Some(reason.clone());
        }
    }
    effects
}

/// Says once when the observed share stops matching the set share, and once when it
/// matches again.
fn report_mismatch(s: &mut State) {
    let off = s.observed_mismatch();
    if off == s.mismatch_reported {
        return;
    }
    s.mismatch_reported = off;
    let cand = s.candidate();
    match (off, s.observed_share(), s.cutover.share) {
        (true, Some(o), Some(set)) => s.log(
            Level::Warn,
            format!(
                "{cand} receives {o:.1} % of requests but is set to {set} %: sticky sessions, DNS caching or a wrong selector?"
            ),
        ),
        _ => s.log(Level::Good, "observed traffic matches the set share again".to_string()),
    }
}

fn reduce(s: &mut State, ev: Event) -> Vec<Effect> {
    s.dirty = true;
    match ev {
        Event::Tick { now } => {
            advance(s, now);
            Vec::new()
        }
        Event::Resize => Vec::new(),
        Event::Key { key, now } => {
            advance(s, now);
            on_key(s, key)
        }
        Event::BackendRead {
            started,
            now,
            result,
        } => {
            advance(s, now);
            on_read(s, started, result)
        }
        Event::Signals {
            source,
            now,
            result,
        } => {
            advance(s, now);
            on_signals(s, source, now, result);
            Vec::new()
        }
        Event::WriteDone {
            id,
            now,
            result,
            journal_error,
            record_error,
        } => {
            advance(s, now);
            on_write_done(s, id, result, journal_error, record_error)
        }
        Event::RecordRead { now, result } => {
            advance(s, now);
            on_record(s, result)
        }
        Event::WriteSuperseded { id, by } => {
            if let Some(pos) = s.writes.iter().position(|w| w.id == id) {
                let w = s.writes.remove(pos);
                s.log(
                    Level::Info,
                    format!(
                        "{} → {} % superseded by a newer request (#{by})",
                        w.action, w.share
                    ),
                );
            }
            Vec::new()
        }
        Event::SmokeDone { now, report } => {
            advance(s, now);
            let level = if report.passed {
                Level::Good
            } else {
                Level::Error
            };
            let verdict = if report.passed { "PASSED" } else { "FAILED" };
            s.log(
                level,
                format!("smoke {} {verdict}: {}", report.env, report.summary),
            );
            s.smoke = Some(SmokeState::Done {
                env: report.env,
                passed: report.passed,
                summary: report.summary,
                at: now,
            });
            match s.preflight_pending.take() {
                Some((cmd, name)) if report.env == s.candidate() => command(s, cmd, &name),
                _ => Vec::new(),
            }
        }
        Event::NotifyFailed { hook, error, now } => {
            advance(s, now);
            s.log(Level::Warn, format!("webhook {hook} not told: {error}"));
            Vec::new()
        }
        Event::Lease {
            now,
            role,
            holder,
            took_over,
            error,
        } => {
            advance(s, now);
            on_lease(s, role, holder, took_over, error)
        }
        Event::Shutdown { now, reason } => {
            advance(s, now);
            s.log(
                Level::Warn,
                format!("{reason}: quitting, traffic left as the backend has it"),
            );
            s.quit = true;
            Vec::new()
        }
    }
}

fn on_lease(
    s: &mut State,
    role: Role,
    holder: Option<crate::core::Lease>,
    took_over: Option<crate::core::Lease>,
    error: Option<String>,
) -> Vec<Effect> {
    let mut effects = Vec::new();
    if let Some(e) = error {
        // Fail closed: no lease seen held, no forward write. Rollback still works.
        if s.lease_error.as_deref() != Some(e.as_str()) {
            s.log(
                Level::Error,
                format!(
                    "driver lease: {e}: forward steps refused until the lease store answers; r still rolls back"
                ),
            );
        }
        s.lease_error = Some(e);
        // Nobody can be said to drive while the store answers nothing or nonsense.
        s.holder = None;
        if s.role == Role::Driver {
            s.role = Role::Observer;
            s.confirm = None;
        }
        return effects;
    }
    if s.lease_error.take().is_some() {
        s.log(Level::Good, "driver lease store answers again");
    }
    let was = s.role;
    s.role = role;
    match (was, role) {
        (Role::Observer, Role::Driver) => {
            let reason = match &took_over {
                Some(l) => format!(
                    "{} took over the driver lease from {} (driving since {})",
                    s.driver,
                    l.holder,
                    hhmm(l.since)
                ),
                None => format!("{} drives now: the driver lease was free", s.driver),
            };
            s.log(Level::Warn, reason.clone());
            effects.push(Effect::JournalNote {
                phase: "take-over".into(),
                reason,
            });
        }
        (Role::Driver, Role::Observer) => {
            let who = holder
                .as_ref()
                .map_or_else(|| "someone".to_string(), |l| l.holder.clone());
            s.log(
                Level::Warn,
                format!("{who} took over the driver lease: this cutover now observes"),
            );
            // Nothing of ours is still to be written.
            s.confirm = None;
        }
        _ => {}
    }
    s.holder = holder;
    effects
}

/// Why this cutover does not write, or `None` when it drives.
pub fn not_driving(s: &State) -> Option<String> {
    match s.role {
        Role::Driver => None,
        Role::ReadOnly => {
            Some("read-only: this cutover never writes (started with --read-only)".to_string())
        }
        Role::Observer => Some(match &s.holder {
            Some(l) => format!(
                "observing: {} drives since {} (lease at {}); T takes over",
                l.holder,
                hhmm(l.since),
                s.lease_place
            ),
            None if s.lease_error.is_some() => format!(
                "no driver lease ({}): forward steps refused; r still rolls back",
                s.lease_error.as_deref().unwrap_or("")
            ),
            None => "nobody drives: T to drive (r still rolls back)".to_string(),
        }),
    }
}

fn advance(s: &mut State, now: Millis) {
    s.now = s.now.max(now);
    if s.rollback_guard_until.is_some_and(|t| s.now >= t) {
        s.rollback_guard_until = None;
    }
}

fn on_key(s: &mut State, key: KeyEvent) -> Vec<Effect> {
    let action = s.keymap.action(&key);
    if s.takeover_confirm {
        s.takeover_confirm = false;
        return match key.code {
            KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter => {
                s.log(Level::Info, "taking over the driver lease …");
                vec![Effect::TakeOver]
            }
            _ => {
                s.log(Level::Info, "cancelled: take-over");
                Vec::new()
            }
        };
    }
    // Where all traffic goes, when nothing records who was live: b or g, nothing else.
    if s.ask_target {
        s.ask_target = false;
        let env = match key.code {
            KeyCode::Char('b') | KeyCode::Char('B') => Env::Blue,
            KeyCode::Char('g') | KeyCode::Char('G') => Env::Green,
            _ => {
                s.log(Level::Info, "cancelled: nothing was written");
                return Vec::new();
            }
        };
        s.cutover.live = env;
        s.live_known = true;
        s.live_from = Some(LiveFrom::Chosen);
        if let Some(w) = s.weights {
            observe(s, w);
        }
        s.log(
            Level::Warn,
            format!(
                "{} chose {env} as the rollback target: all traffic to {env}",
                s.driver
            ),
        );
        return rollback(s, "rollback");
    }
    // An observer's write keys say why they do nothing; rollback works for every cutover
    // that may write at all.
    if action.is_some_and(Action::writes)
        && !(action == Some(Action::Rollback) && s.role == Role::Observer)
        && let Some(why) = not_driving(s)
    {
        s.log(Level::Warn, why);
        return Vec::new();
    }
    if action == Some(Action::TakeOver) {
        match s.role {
            Role::Driver => s.log(Level::Info, "this cutover already drives"),
            Role::ReadOnly => {
                let why = not_driving(s).unwrap_or_default();
                s.log(Level::Warn, why);
            }
            Role::Observer => s.takeover_confirm = true,
        }
        return Vec::new();
    }
    // Rollback always works: no dialog or overlay swallows it.
    if action == Some(Action::Rollback) {
        s.confirm = None;
        s.overlay = Overlay::None;
        return rollback(s, "rollback");
    }
    // A held window completes only on an explicit, journaled `y`.
    if s.confirm.is_none()
        && s.role == Role::Driver
        && matches!(key.code, KeyCode::Char('y') | KeyCode::Char('Y'))
        && let Some(held) = s.window_held.clone()
    {
        let why = s.candidate_failing().unwrap_or(held);
        let reason = format!(
            "{} completed the rollback window anyway while {why}",
            s.driver
        );
        s.log(Level::Warn, reason.clone());
        return complete(s, Some(reason));
    }
    if let Some(c) = s.confirm.take() {
        return match key.code {
            KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter => {
                let mut effects = Vec::new();
                if c.reasons.contains(&ConfirmReason::Preflight) {
                    let reason = format!(
                        "{} overrode a failed pre-flight to step {} to {} %: {} failed",
                        s.driver,
                        s.candidate(),
                        c.share,
                        s.preflight_failures().join(", ")
                    );
                    s.log(Level::Warn, reason.clone());
                    effects.push(Effect::JournalNote {
                        phase: "preflight-override".into(),
                        reason,
                    });
                }
                effects.extend(issue(s, c.share, false, &c.action));
                effects
            }
            _ => {
                s.log(
                    Level::Info,
                    format!("cancelled: {} to {} %", c.action, c.share),
                );
                Vec::new()
            }
        };
    }
    if s.overlay != Overlay::None {
        match action {
            Some(Action::Quit) => s.quit = true,
            Some(Action::Log) if s.overlay == Overlay::Help => s.overlay = Overlay::Log,
            Some(Action::Help) if s.overlay == Overlay::Log => s.overlay = Overlay::Help,
            _ => s.overlay = Overlay::None,
        }
        return Vec::new();
    }
    match action {
        None => {
            s.dirty = false;
            Vec::new()
        }
        // Handled above, before any dialog.
        Some(Action::TakeOver) => Vec::new(),
        Some(Action::Quit) => {
            s.quit = true;
            Vec::new()
        }
        Some(Action::Help) => {
            s.overlay = Overlay::Help;
            Vec::new()
        }
        Some(Action::Log) => {
            s.overlay = Overlay::Log;
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
                s.auto.cancelled = true;
                let reason = format!(
                    "auto-rollback cancelled by {} with {} s left; held off until the breach clears",
                    s.driver,
                    left.div_ceil(1000)
                );
                s.log(Level::Warn, reason.clone());
                vec![Effect::JournalNote {
                    phase: "auto-rollback-cancelled".into(),
                    reason,
                }]
            }
            None => {
                s.log(Level::Info, "no auto-rollback is counting down");
                Vec::new()
            }
        },
        Some(Action::ExtendWindow) => match s.cutover.extend_window(s.window_extend_ms, s.now) {
            Some(left) => {
                s.window_warned = left <= s.window_warn_ms;
                s.window_held = None;
                let end = s.wall_ms(s.now).saturating_add(left as i64);
                let reason = format!(
                    "rollback window extended by {} min by {}; {} left",
                    s.window_extend_ms / 60_000,
                    s.driver,
                    clock(left)
                );
                s.log(Level::Info, reason.clone());
                vec![
                    Effect::JournalNote {
                        phase: "window-extended".into(),
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
        },
        Some(Action::Pause) => command(s, Command::TogglePause, "pause"),
        Some(Action::StepForward) => command(s, Command::StepForward, "step"),
        Some(Action::StepBack) => command(s, Command::StepBack, "back"),
        Some(Action::Jump(p)) => command(s, Command::Jump(p), "set"),
        Some(Action::Rollback) => unreachable!("handled above"),
    }
}

fn command(s: &mut State, cmd: Command, name: &str) -> Vec<Effect> {
    if !s.live_known && cmd != Command::TogglePause {
        let why = if s.weights.is_some() {
            "traffic is split and no cutover record names the live env"
        } else {
            "the backend's traffic state is unknown"
        };
        s.log(
            Level::Warn,
            format!(
                "live env unknown: {why}; nothing steps forward (r asks where all traffic goes; or set `live` in the config)"
            ),
        );
        return Vec::new();
    }
    let (breach, stale) = (s.breach(), s.candidate_stale());
    let mut decision = s.cutover.decide(cmd, breach, stale);
    // The first step away from 0 passes the pre-flight: smoke first, then the checklist.
    let first = s.cutover.base() == Some(0);
    let target = match &decision {
        Decision::Apply {
            share,
            rollback: false,
        }
        | Decision::Confirm { share, .. } => Some(*share),
        _ => None,
    };
    if first && target.is_some_and(|t| t > 0) {
        let cand = s.candidate();
        let smoked = matches!(
            &s.smoke,
            Some(SmokeState::Done { env, at, .. })
                if *env == cand && s.now.saturating_sub(*at) <= super::state::PREFLIGHT_SMOKE_FRESH
        );
        if s.smoke_available && !smoked {
            s.preflight_pending = Some((cmd, name.to_string()));
            if matches!(s.smoke, Some(SmokeState::Running { .. })) {
                return Vec::new();
            }
            s.smoke = Some(SmokeState::Running {
                env: cand,
                since: s.now,
            });
            s.log(
                Level::Info,
                format!("pre-flight: smoke checks against {cand} before the first step …"),
            );
            return vec![Effect::Smoke(cand)];
        }
        if !s.preflight_failures().is_empty() {
            decision = match decision {
                Decision::Apply { share, .. } => Decision::Confirm {
                    share,
                    reasons: vec![ConfirmReason::Preflight],
                },
                Decision::Confirm { share, mut reasons } => {
                    reasons.insert(0, ConfirmReason::Preflight);
                    Decision::Confirm { share, reasons }
                }
                other => other,
            };
        }
    }
    match decision {
        Decision::Apply { share, rollback } => issue(s, share, rollback, name),
        Decision::Confirm { share, reasons } => {
            let action = if share == 100 { "promote" } else { name };
            s.confirm = Some(PendingConfirm {
                share,
                reasons,
                action: action.into(),
            });
            Vec::new()
        }
        Decision::Pause(p) => {
            s.cutover.paused = p;
            s.preflight_pending = None;
            let text = if p {
                "paused: forward steps refused until resume; rollback still works"
            } else {
                "resumed"
            };
            s.log(Level::Info, text);
            Vec::new()
        }
        Decision::Refused(r) => {
            let text = refusal_text(r, s.candidate(), &s.backend_kind);
            s.log(Level::Warn, text);
            Vec::new()
        }
    }
}

fn rollback(s: &mut State, action: &str) -> Vec<Effect> {
    s.preflight_pending = None;
    if !s.live_known {
        // Nothing guesses: ask where all traffic goes.
        let state = match s.weights {
            Some(w) => format!("traffic is split ({w})"),
            None => "the backend's traffic state is unknown".to_string(),
        };
        let version = |e: Env| {
            s.signals
                .get(e)
                .version
                .clone()
                .map_or_else(String::new, |v| format!(" {v}"))
        };
        s.log(
            Level::Error,
            format!(
                "ROLLBACK: {state} and no cutover record names the live env: b sends all traffic to blue{}, g to green{}; any other key cancels",
                version(Env::Blue),
                version(Env::Green)
            ),
        );
        s.ask_target = true;
        return Vec::new();
    }
    // The window closed: going back is a new cutover the other way, never a fake success.
    if let Some((at, old)) = s.completed
        && s.cutover.base() == Some(0)
        && s.writes.is_empty()
    {
        let when = s.wall(at).format("%H:%M:%S");
        s.log(
            Level::Warn,
            format!(
                "nothing to roll back: the rollback window closed at {when} and {} is live; going back to {old} is a new cutover the other way: y sends all traffic to {old} now",
                s.live()
            ),
        );
        s.confirm = Some(PendingConfirm {
            share: 100,
            reasons: vec![ConfirmReason::Promote],
            action: "revert".into(),
        });
        return Vec::new();
    }
    issue(s, 0, true, action)
}

fn issue(s: &mut State, share: u8, rollback: bool, action: &str) -> Vec<Effect> {
    // The one place a write is ordered. Forward writes need the driver lease; a rollback
    // needs only a cutover that may write at all (not --read-only).
    let allowed = match s.role {
        Role::Driver => true,
        Role::Observer => rollback,
        Role::ReadOnly => false,
    };
    if !allowed && let Some(why) = not_driving(s) {
        s.log(Level::Warn, why);
        return Vec::new();
    }
    if rollback && s.role == Role::Observer {
        let driver = s
            .holder
            .as_ref()
            .map_or_else(|| "nobody".to_string(), |l| l.holder.clone());
        s.log(
            Level::Warn,
            format!("{} rolls back while {driver} drives", s.driver),
        );
    }
    // A rollback says where traffic is by the read-back, not by a step still in flight.
    let from = if rollback {
        s.cutover.share
    } else {
        s.cutover.base()
    }
    .map_or_else(|| "?".to_string(), |b| b.to_string());
    let order = s.order(share, rollback, action, "tui");
    s.cutover.requested(share);
    if rollback {
        // A step whose outcome is unknown may still land: after this rollback it must not.
        for u in s.unknown.iter_mut().filter(|u| !u.rollback) {
            u.superseded = true;
        }
    }
    s.writes.push(InFlight {
        id: order.id,
        share,
        since: s.now,
        rollback,
        action: action.into(),
        superseded: false,
    });
    let cand = s.candidate();
    let text = if rollback {
        format!("ROLLBACK {cand} {from} → 0 % …")
    } else {
        format!("{action} {cand} {from} → {share} % …")
    };
    s.log(if rollback { Level::Warn } else { Level::Info }, text);
    vec![Effect::Write(order)]
}

fn on_write_done(
    s: &mut State,
    id: u64,
    result: WriteResult,
    journal_error: Option<String>,
    record_error: Option<String>,
) -> Vec<Effect> {
    let Some(pos) = s.writes.iter().position(|w| w.id == id) else {
        return Vec::new();
    };
    let w = s.writes.remove(pos);
    s.last_write_done = s.now;
    let cand = s.candidate();
    let what = if w.rollback {
        "ROLLBACK".to_string()
    } else {
        w.action.clone()
    };
    let hhmmss = s.wall(s.now).format("%H:%M:%S").to_string();
    let traffic = |after: &Option<Weights>| match after {
        Some(a) => format!(
            "traffic still {} {} / {} {} (read back)",
            Env::Blue.name(),
            a.share_of(Env::Blue).map_or("?".into(), |p| p.to_string()),
            Env::Green.name(),
            a.share_of(Env::Green).map_or("?".into(), |p| p.to_string())
        ),
        None => "traffic UNKNOWN (the backend could not be re-read)".to_string(),
    };
    // A failed write's banner: what, the verdict, when, then what to know or press.
    let (now, retry) = (
        s.now,
        if w.rollback {
            "r retries"
        } else {
            "→ retries"
        },
    );
    let banner = |verdict: &str, detail: String| Banner {
        rollback: w.rollback,
        at: now,
        text: format!("{} {verdict} {hhmmss} — {detail}", what.to_uppercase()),
    };
    let mut failed = false;
    match &result {
        WriteResult::Verified { after, elapsed_ms } => {
            s.failed = None;
            s.log(
                Level::Good,
                format!(
                    "{what} → {} % applied in {elapsed_ms} ms, verified ({after})",
                    w.share
                ),
            );
        }
        WriteResult::Unverified { after, .. } => {
            failed = true;
            let got = after
                .share_of(cand)
                .map_or_else(|| "no traffic".into(), |p| format!("{p} %"));
            let text = format!(
                "{} → {} % NOT verified: the backend reads {cand} {got} ({after})",
                w.action, w.share
            );
            s.log(Level::Error, text);
            s.failed = Some(banner(
                "NOT VERIFIED",
                format!("{retry} — {}", traffic(&Some(*after))),
            ));
        }
        WriteResult::Failed { error, after } => {
            failed = true;
            let reread = match after {
                Some(a) => format!("; backend re-read: {a}"),
                None => "; backend could not be re-read".into(),
            };
            s.log(
                Level::Error,
                format!("{} → {} % FAILED: {error}{reread}", w.action, w.share),
            );
            s.failed = Some(banner("FAILED", format!("{retry} — {}", traffic(after))));
        }
        WriteResult::Unknown { error, after } => {
            failed = true;
            s.log(
                Level::Error,
                format!(
                    "{} → {} %: outcome UNKNOWN, it may still land: {error}",
                    w.action, w.share
                ),
            );
            s.failed = Some(banner(
                "OUTCOME UNKNOWN",
                format!(
                    "may still land — {} — {}",
                    traffic(after),
                    if w.rollback { "r retries" } else { "watching" }
                ),
            ));
            s.unknown.push(w.clone());
        }
        WriteResult::Refused { reason } => {
            failed = true;
            s.log(
                Level::Error,
                format!("{} → {} % REFUSED: {reason}", w.action, w.share),
            );
            s.failed = Some(banner(
                "REFUSED",
                format!(
                    "traffic untouched — {}",
                    reason.trim_start_matches("not written: ")
                ),
            ));
        }
        WriteResult::Aborted => {
            s.log(
                Level::Warn,
                format!(
                    "{} → {} % cancelled: pre-empted by rollback",
                    w.action, w.share
                ),
            );
            s.rollback_guard_until = Some(s.now + ROLLBACK_GUARD_MS);
        }
    }
    if let Some(e) = journal_error {
        s.log(
            Level::Error,
            format!("{what} → {} % NOT JOURNALED: {e}", w.share),
        );
        s.not_journaled = Some(format!(
            "{} NOT JOURNALED {hhmmss} — {e}",
            what.to_uppercase()
        ));
    }
    if let Some(e) = record_error {
        s.log(
            Level::Error,
            format!(
                "{what} → {} %: the cutover record was not updated: {e}",
                w.share
            ),
        );
    }
    if s.writes.is_empty() && failed {
        s.cutover.clear_intent();
    }
    if let Some(after) = result.after() {
        observe(s, after);
    }
    if result == WriteResult::Aborted {
        return Vec::new();
    }
    let text = s.events.back().map(|l| l.text.clone()).unwrap_or_default();
    vec![Effect::Notify {
        event: if w.action == "auto-rollback" {
            "auto-rollback".into()
        } else {
            "write".into()
        },
        text: format!("{cand}: {text}"),
    }]
}

/// The cutover record as read: who is live comes from it (unless the config says), and a
/// write someone left in flight is said first thing.
fn on_record(s: &mut State, result: Result<Option<Record>, String>) -> Vec<Effect> {
    let rec = match result {
        Ok(r) => r,
        Err(e) => {
            if s.record_error.as_deref() != Some(e.as_str()) {
                s.log(Level::Error, format!("cutover record: {e}"));
            }
            s.record_error = Some(e);
            return Vec::new();
        }
    };
    if s.record_error.take().is_some() {
        s.log(Level::Good, "cutover record readable again");
    }
    if let Some(r) = &rec
        && let Some(f) = &r.flight
        && s.record.as_ref().and_then(|o| o.flight.as_ref()) != Some(f)
        && !s
            .writes
            .iter()
            .any(|w| format!("{}-{}", std::process::id(), w.id) == f.id)
    {
        let by = r.last.as_ref().map_or("someone", |l| l.who.as_str());
        let since = hhmm(f.since);
        s.log(
            Level::Warn,
            format!(
                "a write is in flight per the cutover record: {} → {} % by {by} since {since}; its outcome is unknown until the backend reads so",
                r.candidate(),
                f.share
            ),
        );
    }
    // The driver completed the window and cleared the record: an observer that still holds
    // or counts down its own view of the window follows.
    if rec.is_none()
        && s.record.is_some()
        && s.role != Role::Driver
        && s.cutover.share == Some(100)
        && s.cutover.window_started.is_some()
    {
        s.record = None;
        let _ = complete(s, None);
        return Vec::new();
    }
    // The record vanished while traffic is split (a reload of the store's owner): the driver
    // restores what it last read, so nobody is left to guess.
    if rec.is_none()
        && s.role == Role::Driver
        && let Some(old) = s.record.clone()
        && old.live == s.live()
        && s.cutover.share.is_some_and(|p| p > 0 && p < 100)
    {
        s.log(
            Level::Warn,
            format!(
                "the cutover record vanished (was the store's owner reloaded?): restoring it ({} is live, started by {})",
                old.live, old.by
            ),
        );
        return vec![Effect::Record(RecordOp::Restore(old))];
    }
    let wall = s.wall_ms(s.now);
    if let Some(r) = &rec {
        match s.live_from {
            Some(LiveFrom::Config)
                if r.live != s.live()
                    && !r.window_over(wall)
                    && s.record.as_ref().map(|o| o.live) != Some(r.live) =>
            {
                s.log(
                    Level::Error,
                    format!(
                        "the cutover record says {} is live (started by {}), but `live` in the config says {}: the config wins here; forward writes will be refused",
                        r.live,
                        r.by,
                        s.live()
                    ),
                );
            }
            Some(LiveFrom::Config) => {}
            _ if !r.window_over(wall) && (r.live != s.live() || !s.live_known) => {
                s.cutover.live = r.live;
                s.live_known = true;
                s.live_from = Some(LiveFrom::Record);
                s.ask_target = false;
                s.log(
                    Level::Info,
                    format!(
                        "live is {}: the cutover record at the backend says so (started by {} at {})",
                        r.live,
                        r.by,
                        hhmm(r.at)
                    ),
                );
                if let Some(w) = s.weights {
                    observe(s, w);
                }
            }
            _ => {}
        }
    }
    s.record = rec;
    Vec::new()
}

fn on_read(s: &mut State, started: Millis, result: Result<Weights, String>) -> Vec<Effect> {
    let w = match result {
        Ok(w) => w,
        Err(e) => {
            if s.backend_error.as_ref().map(|(m, _)| m) != Some(&e) {
                s.log(Level::Error, format!("backend: {e}"));
            }
            if e.starts_with(super::runner::UNKNOWN_PREFIX) {
                // The backend says it cannot know: show no weights, not the last ones.
                s.weights = None;
                s.weights_at = None;
                s.cutover.share = None;
            }
            s.backend_error = Some((e, s.now));
            return Vec::new();
        }
    };
    if s.backend_error.take().is_some() {
        s.log(Level::Good, "backend reachable again");
    }
    // A read that started before the last write finished may predate it.
    if started < s.last_write_done {
        return Vec::new();
    }
    if !s.live_known {
        // Only an env holding all the traffic is live by the weights; a split waits for the
        // record, the config, or the operator.
        match w.all_on() {
            Some(live) => {
                s.cutover.live = live;
                s.live_known = true;
                s.live_from = Some(LiveFrom::AllTraffic);
                if std::mem::take(&mut s.ask_target) {
                    s.log(
                        Level::Info,
                        "no need to ask any more: one env holds all the traffic",
                    );
                }
                s.log(
                    Level::Info,
                    format!("live is {live}: it holds all the traffic ({w})"),
                );
            }
            None => {
                s.weights = Some(w);
                s.weights_at = Some(s.now);
                return Vec::new();
            }
        }
    }
    let cand = s.candidate();
    let new_share = w.share_of(cand);
    if s.writes.is_empty() && s.weights.is_some_and(|old| old != w) {
        // A write whose outcome was unknown, landing late: its own, never "someone else".
        if let Some(pos) = s.unknown.iter().position(|u| Some(u.share) == new_share) {
            let u = s.unknown.remove(pos);
            let late = s.now.saturating_sub(s.last_write_done) as f64 / 1000.0;
            let what = if u.rollback {
                "the rollback"
            } else {
                "the write"
            };
            let reason = format!(
                "late: {what} ({} → {} %) landed {late:.1} s after its outcome was unknown ({w})",
                u.action, u.share
            );
            if u.superseded && new_share != Some(0) {
                // It landed after a rollback: undo it at once.
                let reason = format!("{reason}, after a rollback: rolling back again");
                s.log(Level::Error, reason.clone());
                observe(s, w);
                let mut effects = vec![Effect::JournalLate {
                    write: u.id,
                    after: w,
                    reason,
                }];
                effects.extend(rollback(s, "rollback"));
                return effects;
            }
            s.log(Level::Warn, reason.clone());
            if s.failed.as_ref().is_some_and(|b| b.rollback == u.rollback) {
                s.failed = None;
            }
            observe(s, w);
            return vec![Effect::JournalLate {
                write: u.id,
                after: w,
                reason,
            }];
        }
        if s.rollback_guard_until.is_some() && new_share != Some(0) {
            s.log(
                Level::Warn,
                format!("a pre-empted write landed after the rollback ({w}): rolling back again"),
            );
            observe(s, w);
            return rollback(s, "rollback");
        }
        let old = s
            .cutover
            .share
            .map_or_else(|| "?".into(), |p| p.to_string());
        let new = new_share.map_or_else(|| "?".into(), |p| p.to_string());
        // Made through cutover by someone else: the record names them.
        let wall = s.wall_ms(s.now);
        // Only when the weights are what that write asked for: anything else is external.
        let by_record = s
            .record
            .as_ref()
            .filter(|r| r.live == s.live() && new_share == Some(r.pos))
            .and_then(|r| r.last.clone())
            .filter(|l| wall.saturating_sub(l.at) <= 60_000 && l.pid != Some(s.pid));
        if let Some(l) = by_record {
            let verb = if l.action.contains("rollback") {
                "rolled back".to_string()
            } else {
                format!("made a {}", l.action)
            };
            s.log(
                if l.action.contains("rollback") {
                    Level::Warn
                } else {
                    Level::Info
                },
                format!(
                    "{} {verb}: {cand} {old} → {new} % ({w}), read back from the backend",
                    l.who
                ),
            );
            observe(s, w);
            return Vec::new();
        }
        if s.role != Role::Driver {
            // Not a write made through cutover (the record would name it): said, and left
            // to the driver's cockpit to journal.
            s.log(
                Level::Warn,
                format!(
                    "change not made through cutover: {cand} {old} → {new} % ({w}), read back from the backend"
                ),
            );
            observe(s, w);
            return Vec::new();
        }
        let before = s.weights;
        s.log(
            Level::Warn,
            format!("external change: {cand} {old} → {new} % ({w}), not made by this cutover"),
        );
        observe(s, w);
        let text = s.events.back().map(|l| l.text.clone()).unwrap_or_default();
        return vec![
            Effect::JournalExternal { before, after: w },
            Effect::Notify {
                event: "external-change".into(),
                text,
            },
        ];
    }
    observe(s, w);
    Vec::new()
}

fn observe(s: &mut State, w: Weights) {
    s.weights = Some(w);
    s.weights_at = Some(s.now);
    let share = w.share_of(s.candidate());
    if share != s.cutover.share {
        s.share_changed_at = s.now;
    }
    let was_window = s.cutover.window_started.is_some();
    s.cutover.observe(share, s.now);
    if share != Some(100) && s.window_held.take().is_some() {
        s.log(
            Level::Info,
            "window no longer held: the candidate is off 100 %",
        );
    }
    if !was_window && s.cutover.window_started.is_some() {
        s.log(
            Level::Info,
            format!(
                "{} at 100 %: rollback window of {} started; {} kept warm",
                s.candidate(),
                if s.cutover.window.is_multiple_of(60_000) {
                    format!("{} min", s.cutover.window / 60_000)
                } else {
                    clock(s.cutover.window)
                },
                s.live()
            ),
        );
    }
}

fn on_signals(
    s: &mut State,
    source: String,
    now: Millis,
    result: Result<Box<EnvPair<EnvPoll>>, String>,
) {
    match result {
        Ok(pair) => {
            let EnvPair { blue, green } = *pair;
            blue.apply_to(&mut s.signals.blue, now);
            green.apply_to(&mut s.signals.green, now);
            if let Some(pos) = s
                .source_errors
                .iter()
                .position(|(src, _, _)| *src == source)
            {
                s.source_errors.remove(pos);
                s.log(Level::Good, format!("{source} answers again"));
            }
        }
        Err(e) => {
            match s
                .source_errors
                .iter_mut()
                .find(|(src, _, _)| *src == source)
            {
                Some(entry) => entry.1 = e,
                None => {
                    s.log(Level::Error, format!("{source}: {e}"));
                    s.source_errors.push((source, e, now));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Cutover, Env, Plan};
    use crossterm::event::KeyModifiers;

    fn state(share: u8) -> State {
        let mut s = State::new(
            "t".into(),
            Cutover::new(Env::Blue, Plan::default(), 60_000),
            chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap(),
        );
        s.live_known = true;
        let w = Weights::for_share(Env::Green, share, 100);
        update(
            &mut s,
            Event::BackendRead {
                started: 0,
                now: 0,
                result: Ok(w),
            },
        );
        fresh_signals(&mut s, 0);
        s
    }

    /// Healthy signals for both envs at `now`.
    fn fresh_signals(s: &mut State, now: Millis) {
        let poll = || crate::signals::EnvPoll {
            error_rate: Some(crate::core::Reading::Value(0.001)),
            p99_ms: Some(crate::core::Reading::Value(150.0)),
            rps: Some(crate::core::Reading::Value(100.0)),
            health: Some(crate::core::HealthSample {
                health: crate::core::Health::Up,
                up: 1,
                total: 1,
                latency_ms: None,
                failures: 0,
                detail: String::new(),
            }),
            ..Default::default()
        };
        let result = Ok(Box::new(EnvPair::new(poll(), poll())));
        update(
            s,
            Event::Signals {
                source: "test".into(),
                now,
                result,
            },
        );
    }

    #[test]
    fn a_lasting_observed_share_mismatch_is_said_once() {
        let mut s = state(10);
        let poll = |rps: f64| crate::signals::EnvPoll {
            rps: Some(crate::core::Reading::Value(rps)),
            ..Default::default()
        };
        for now in [5_000u64, 31_000, 32_000, 33_000] {
            let result = Ok(Box::new(EnvPair::new(poll(198.0), poll(2.0))));
            update(
                &mut s,
                Event::Signals {
                    source: "t".into(),
                    now,
                    result,
                },
            );
        }
        let said = |s: &State| {
            s.events
                .iter()
                .filter(|e| e.text.contains("sticky sessions"))
                .count()
        };
        assert_eq!(said(&s), 1);
        let result = Ok(Box::new(EnvPair::new(poll(180.0), poll(20.0))));
        update(
            &mut s,
            Event::Signals {
                source: "t".into(),
                now: 34_000,
                result,
            },
        );
        assert!(!s.observed_mismatch());
        assert!(
            s.events
                .back()
                .unwrap()
                .text
                .contains("matches the set share again")
        );
    }

    /// Signals at `now` with green's error rate at `err`.
    fn green_errors(s: &mut State, now: Millis, err: f64) -> Vec<Effect> {
        let poll = |e: f64| crate::signals::EnvPoll {
            error_rate: Some(crate::core::Reading::Value(e)),
            p99_ms: Some(crate::core::Reading::Value(150.0)),
            ..Default::default()
        };
        let result = Ok(Box::new(EnvPair::new(poll(0.001), poll(err))));
        update(
            s,
            Event::Signals {
                source: "t".into(),
                now,
                result,
            },
        )
    }

    #[test]
    fn auto_rollback_fires_after_a_sustained_breach_with_its_reason() {
        let mut s = state(50);
        s.auto_rollback_ms = Some(10_000);
        assert!(green_errors(&mut s, 1_000, 0.05).is_empty());
        assert_eq!(s.auto_rollback_in(), Some(10_000));
        assert!(green_errors(&mut s, 9_000, 0.05).is_empty());
        assert_eq!(s.auto_rollback_in(), Some(2_000));
        let e = green_errors(&mut s, 11_000, 0.05);
        let [Effect::Write(o), Effect::Notify { event, text }] = e.as_slice() else {
            panic!("{e:?}")
        };
        assert_eq!(event, "auto-rollback");
        assert!(text.contains("AUTO-ROLLBACK of green"), "{text}");
        assert!(o.rollback && o.share == 0 && o.action == "auto-rollback");
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
        s.auto_rollback_ms = Some(10_000);
        green_errors(&mut s, 1_000, 0.05);
        s.now = 2_000;
        let e = key(&mut s, KeyCode::Char('c'));
        assert!(
            matches!(e.as_slice(), [Effect::JournalNote { phase, .. }] if phase == "auto-rollback-cancelled")
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
        s.window_warn_ms = 2 * 60_000;
        s.window_extend_ms = 15 * 60_000;
        update(&mut s, Event::Tick { now: 7 * 60_000 });
        update(
            &mut s,
            Event::Tick {
                now: 8 * 60_000 + 1,
            },
        );
        update(&mut s, Event::Tick { now: 9 * 60_000 });
        let warned = |s: &State| {
            s.events
                .iter()
                .filter(|e| e.text.contains("rollback window ends in"))
                .count()
        };
        assert_eq!(warned(&s), 1);
        let e = key(&mut s, KeyCode::Char('e'));
        assert!(
            matches!(e.as_slice(), [Effect::JournalNote { phase, reason }, Effect::Record(RecordOp::WindowEnd { live: Env::Blue, end: Some(_) })] if phase == "window-extended" && reason.contains("16:00 left")),
            "{e:?}"
        );
        assert_eq!(s.cutover.window_remaining(s.now), Some(16 * 60_000 - 10));
        update(&mut s, Event::Tick { now: 24 * 60_000 });
        assert_eq!(warned(&s), 2, "warned again before the extended end");
    }

    #[test]
    fn stale_candidate_data_asks_before_a_step() {
        let mut s = state(10);
        s.now = 10_000;
        assert!(key(&mut s, KeyCode::Right).is_empty());
        let c = s.confirm.clone().expect("asks to confirm");
        assert_eq!(c.reasons, vec![ConfirmReason::Stale]);
        assert_eq!(
            shares(&key(&mut s, KeyCode::Char('r'))),
            vec![(0, true)],
            "rollback never asks"
        );
    }

    fn key(s: &mut State, c: KeyCode) -> Vec<Effect> {
        update(
            s,
            Event::Key {
                key: KeyEvent::new(c, KeyModifiers::NONE),
                now: s.now + 10,
            },
        )
    }

    fn shares(effects: &[Effect]) -> Vec<(u8, bool)> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Write(o) => Some((o.share, o.rollback)),
                _ => None,
            })
            .collect()
    }

    fn done(s: &mut State, effects: &[Effect], share: u8) {
        for e in effects {
            if let Effect::Write(o) = e {
                let after = Weights::for_share(Env::Green, share, 100);
                update(
                    s,
                    Event::WriteDone {
                        id: o.id,
                        now: s.now + 5,
                        result: WriteResult::Verified {
                            after,
                            elapsed_ms: 5,
                        },
                        journal_error: None,
                        record_error: None,
                    },
                );
            }
        }
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
        assert_eq!(s.confirm.as_ref().map(|c| c.share), Some(100));
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
            assert!(s.confirm.is_none());
        }
    }

    #[test]
    fn confirm_cancelled_by_other_keys_and_pause_refuses_forward() {
        let mut s = state(10);
        key(&mut s, KeyCode::Char('7'));
        assert!(s.confirm.is_some());
        assert!(key(&mut s, KeyCode::Char('n')).is_empty());
        assert!(s.confirm.is_none());
        key(&mut s, KeyCode::Char(' '));
        assert!(s.cutover.paused);
        assert!(key(&mut s, KeyCode::Right).is_empty());
        assert!(s.events.back().unwrap().text.contains("paused"));
        assert_eq!(
            shares(&key(&mut s, KeyCode::Left)),
            vec![(0, false)],
            "stepping back works paused"
        );
    }

    #[test]
    fn latest_intent_is_the_base_of_the_next_step() {
        let mut s = state(0);
        assert_eq!(shares(&key(&mut s, KeyCode::Right)), vec![(10, false)]);
        assert_eq!(
            shares(&key(&mut s, KeyCode::Right)),
            vec![(50, false)],
            "no wait for the read-back"
        );
    }

    #[test]
    fn external_change_is_reported_and_journaled() {
        let mut s = state(10);
        let e = update(
            &mut s,
            Event::BackendRead {
                started: 100,
                now: 100,
                result: Ok(Weights::new(20, 80)),
            },
        );
        assert!(matches!(
            e.as_slice(),
            [Effect::JournalExternal { .. }, Effect::Notify { event, .. }] if event == "external-change"
        ));
        assert_eq!(s.cutover.share, Some(80));
        assert!(s.events.back().unwrap().text.contains("external change"));
    }

    #[test]
    fn an_observer_explains_writes_away_sees_the_drivers_and_can_take_over() {
        let bob = crate::core::Lease::new("bob@h", "tok", 0, 15_000);
        let lease = |s: &mut State, role, holder, took_over| {
            let now = s.now + 1;
            update(
                s,
                Event::Lease {
                    now,
                    role,
                    holder,
                    took_over,
                    error: None,
                },
            )
        };
        let mut s = state(10);
        s.driver = "alice@h".into();
        let e = lease(&mut s, Role::Observer, Some(bob.clone()), None);
        assert!(e.is_empty());
        assert!(s.events.back().unwrap().text.contains("bob@h took over"));
        for c in [KeyCode::Right, KeyCode::Left, KeyCode::Char('5')] {
            assert!(key(&mut s, c).is_empty(), "{c:?} writes nothing");
            let t = &s.events.back().unwrap().text;
            assert!(t.contains("observing: bob@h drives since"), "{t}");
        }
        // …but an observer rolls back at once, named with the driver.
        let e = key(&mut s, KeyCode::Char('r'));
        let [Effect::Write(o)] = e.as_slice() else {
            panic!("{e:?}")
        };
        assert!(o.rollback && o.share == 0 && o.live == Env::Blue);
        assert_eq!(o.driver.as_deref(), Some("bob@h"));
        assert!(
            s.events
                .iter()
                .any(|l| l.text.contains("alice@h rolls back while bob@h drives"))
        );
        let (id, t0) = (o.id, s.now);
        update(
            &mut s,
            Event::WriteDone {
                id,
                now: t0 + 1,
                result: WriteResult::Verified {
                    after: Weights::new(100, 0),
                    elapsed_ms: 1,
                },
                journal_error: None,
                record_error: None,
            },
        );
        update(
            &mut s,
            Event::BackendRead {
                started: t0 + 2,
                now: t0 + 2,
                result: Ok(Weights::new(90, 10)),
            },
        );
        // The driver's step lands: seen, named from the record, not journaled as external.
        let t = s.now + 1;
        let rec = crate::core::Record::new(Env::Blue, "bob@h", s.wall_ms(0)).with_flight(
            "1-7",
            50,
            "bob@h",
            "step",
            s.wall_ms(t),
        );
        update(
            &mut s,
            Event::RecordRead {
                now: t,
                result: Ok(Some(rec)),
            },
        );
        let e = update(
            &mut s,
            Event::BackendRead {
                started: t,
                now: t,
                result: Ok(Weights::new(50, 50)),
            },
        );
        assert!(e.is_empty(), "{e:?}");
        assert!(
            s.events
                .back()
                .unwrap()
                .text
                .starts_with("bob@h made a step: green 10 → 50 %")
        );
        // Take over: a confirm, then the effect; the result is journaled.
        assert!(key(&mut s, KeyCode::Char('T')).is_empty());
        assert!(s.takeover_confirm);
        assert_eq!(key(&mut s, KeyCode::Char('y')), vec![Effect::TakeOver]);
        let e = lease(&mut s, Role::Driver, None, Some(bob));
        assert!(matches!(
            e.as_slice(),
            [Effect::JournalNote { phase, reason }] if phase == "take-over" && reason.contains("from bob@h")
        ));
        assert!(matches!(
            key(&mut s, KeyCode::Char('r')).as_slice(),
            [Effect::Write(_)]
        ));
        // Read-only never writes, whatever the keys.
        s.role = Role::ReadOnly;
        assert!(key(&mut s, KeyCode::Char('r')).is_empty());
        assert!(key(&mut s, KeyCode::Char('T')).is_empty());
        assert!(!s.takeover_confirm);
        assert!(s.events.back().unwrap().text.contains("read-only"));
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
        s.smoke_available = true;
        assert_eq!(key(&mut s, KeyCode::Right), vec![Effect::Smoke(Env::Green)]);
        assert!(matches!(smoke_done(&mut s, true).as_slice(), [Effect::Write(o)] if o.share == 10));
        // Failed: a confirm naming the pre-flight; y overrides, journaled.
        let mut s = state(0);
        s.smoke_available = true;
        key(&mut s, KeyCode::Right);
        assert!(smoke_done(&mut s, false).is_empty());
        let c = s.confirm.clone().expect("asks");
        assert_eq!(c.reasons, vec![ConfirmReason::Preflight]);
        assert_eq!(s.preflight_failures(), vec!["smoke passed".to_string()]);
        let e = key(&mut s, KeyCode::Char('y'));
        assert!(matches!(
            e.as_slice(),
            [Effect::JournalNote { phase, reason }, Effect::Write(_)]
                if phase == "preflight-override" && reason.contains("smoke passed failed")
        ));
        // A rollback while the smoke runs drops the pending step.
        let mut s = state(0);
        s.smoke_available = true;
        key(&mut s, KeyCode::Right);
        key(&mut s, KeyCode::Char('r'));
        assert!(s.preflight_pending.is_none());
        assert!(
            smoke_done(&mut s, true).is_empty(),
            "no step after the rollback"
        );
    }

    #[test]
    fn a_read_older_than_the_last_write_is_ignored() {
        let mut s = state(0);
        s.now = 1000;
        let e = key(&mut s, KeyCode::Right);
        done(&mut s, &e, 10);
        let e = update(
            &mut s,
            Event::BackendRead {
                started: 900,
                now: 1100,
                result: Ok(Weights::new(100, 0)),
            },
        );
        assert!(e.is_empty());
        assert_eq!(s.cutover.share, Some(10));
    }

    #[test]
    fn a_preempted_write_landing_late_is_rolled_back_again() {
        let mut s = state(10);
        let step = key(&mut s, KeyCode::Right);
        let rb = key(&mut s, KeyCode::Char('r'));
        let Effect::Write(step) = &step[0] else {
            panic!()
        };
        let now = s.now;
        update(
            &mut s,
            Event::WriteDone {
                id: step.id,
                now: now + 1,
                result: WriteResult::Aborted,
                journal_error: None,
                record_error: None,
            },
        );
        done(&mut s, &rb, 0);
        assert_eq!(s.cutover.share, Some(0));
        // The step lands at the backend after all.
        let now = s.now;
        let e = update(
            &mut s,
            Event::BackendRead {
                started: now + 10,
                now: now + 20,
                result: Ok(Weights::new(50, 50)),
            },
        );
        assert_eq!(shares(&e), vec![(0, true)]);
    }

    #[test]
    fn failed_write_says_so_and_keeps_the_backend_truth() {
        let mut s = state(10);
        let e = key(&mut s, KeyCode::Right);
        let Effect::Write(o) = &e[0] else { panic!() };
        let now = s.now;
        update(
            &mut s,
            Event::WriteDone {
                id: o.id,
                now: now + 1,
                result: WriteResult::Failed {
                    error: "HTTP 500".into(),
                    after: Some(Weights::new(90, 10)),
                },
                journal_error: None,
                record_error: None,
            },
        );
        assert_eq!(s.cutover.share, Some(10));
        assert_eq!(s.cutover.intent, None);
        assert!(s.events.back().unwrap().text.contains("FAILED: HTTP 500"));
    }

    #[test]
    fn rollback_works_with_every_feed_down() {
        let mut s = state(50);
        for t in 1..10u64 {
            update(
                &mut s,
                Event::Signals {
                    source: "prometheus".into(),
                    now: t * 1000,
                    result: Err("timed out".into()),
                },
            );
            update(
                &mut s,
                Event::BackendRead {
                    started: t * 1000,
                    now: t * 1000,
                    result: Err("cannot reach".into()),
                },
            );
        }
        assert!(s.signals.green.error_rate.is_stale(s.now, s.poll_interval));
        assert_eq!(s.source_errors.len(), 1);
        assert_eq!(
            s.events
                .iter()
                .filter(|e| e.text.contains("prometheus: timed out"))
                .count(),
            1,
            "a failing source is said once, not every poll"
        );
        assert_eq!(shares(&key(&mut s, KeyCode::Char('r'))), vec![(0, true)]);
    }

    #[test]
    fn live_is_read_from_the_backend_when_not_configured() {
        let mut s = State::new(
            "t".into(),
            Cutover::new(Env::Blue, Plan::default(), 60_000),
            chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap(),
        );
        assert!(
            key(&mut s, KeyCode::Char('r')).is_empty(),
            "no rollback target before live is known"
        );
        assert!(s.ask_target, "it asks where all traffic goes");
        update(
            &mut s,
            Event::BackendRead {
                started: 0,
                now: 1,
                result: Ok(Weights::new(0, 100)),
            },
        );
        assert!(s.live_known);
        assert_eq!(s.live(), Env::Green);
        assert_eq!(s.cutover.share, Some(0));
        fresh_signals(&mut s, 1);
        assert_eq!(shares(&key(&mut s, KeyCode::Right)), vec![(10, false)]);
    }

    /// The window at 100 % with green's errors at `err`, run to its end.
    fn promoted(err: f64) -> State {
        let mut s = state(100);
        s.live_from = Some(LiveFrom::AllTraffic);
        green_errors(&mut s, 1_000, err);
        s
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
            s.window_held
                .as_deref()
                .unwrap()
                .contains("green breaches errors 5.00 %")
        );
        assert!(
            effects
                .iter()
                .any(|e| matches!(e, Effect::JournalNote { phase, .. } if phase == "window-held"))
        );
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
        assert!(s.window_held.is_none(), "off 100 %, nothing held");

        // The same, completed by y: journaled as an override, with the new live's signals.
        let mut s = promoted(0.05);
        for now in [61_000u64, 62_000] {
            green_errors(&mut s, now, 0.05);
        }
        assert!(s.window_held.is_some());
        let e = key(&mut s, KeyCode::Char('y'));
        assert!(
            matches!(&e[0], Effect::JournalNote { phase, reason } if phase == "complete-override" && reason.contains("anyway")),
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
        let t = &s.events.back().unwrap().text;
        assert!(
            t.starts_with("nothing to roll back: the rollback window closed at"),
            "{t}"
        );
        let c = s.confirm.clone().unwrap();
        assert_eq!((c.share, c.action.as_str()), (100, "revert"));
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

    #[test]
    fn a_split_with_no_record_asks_where_traffic_goes() {
        let mut s = State::new(
            "t".into(),
            Cutover::new(Env::Blue, Plan::default(), 60_000),
            chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap(),
        );
        update(
            &mut s,
            Event::BackendRead {
                started: 0,
                now: 1,
                result: Ok(Weights::new(20, 80)),
            },
        );
        assert!(!s.live_known, "80 % green is not 'green is live'");
        assert!(
            key(&mut s, KeyCode::Right).is_empty(),
            "no forward step either"
        );
        assert!(key(&mut s, KeyCode::Char('r')).is_empty());
        assert!(s.ask_target);
        assert!(
            s.events
                .back()
                .unwrap()
                .text
                .contains("traffic is split (blue 20 / green 80)")
        );
        // Any other key cancels, nothing written.
        assert!(key(&mut s, KeyCode::Char('x')).is_empty());
        assert!(!s.ask_target);
        key(&mut s, KeyCode::Char('r'));
        let e = key(&mut s, KeyCode::Char('g'));
        let [Effect::Write(o)] = e.as_slice() else {
            panic!("{e:?}")
        };
        assert_eq!((o.live, o.share, o.rollback), (Env::Green, 0, true));
        assert_eq!(s.live_from, Some(LiveFrom::Chosen));
        // Unreachable: said as such, never "splits evenly".
        let mut s = State::new(
            "t".into(),
            Cutover::new(Env::Blue, Plan::default(), 60_000),
            chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap(),
        );
        key(&mut s, KeyCode::Char('r'));
        assert!(
            s.events
                .back()
                .unwrap()
                .text
                .contains("traffic state is unknown")
        );
    }

    #[test]
    fn the_record_names_live_and_who_wrote_and_a_late_write_is_its_own() {
        let mut s = State::new(
            "t".into(),
            Cutover::new(Env::Blue, Plan::default(), 60_000),
            chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap(),
        );
        s.driver = "alice@h".into();
        let wall = s.wall_ms(0);
        let rec = crate::core::Record::new(Env::Green, "bob@h", wall);
        update(
            &mut s,
            Event::RecordRead {
                now: 0,
                result: Ok(Some(rec.clone())),
            },
        );
        update(
            &mut s,
            Event::BackendRead {
                started: 0,
                now: 1,
                result: Ok(Weights::new(80, 20)),
            },
        );
        assert_eq!(
            (s.live(), s.live_from),
            (Env::Green, Some(LiveFrom::Record))
        );
        assert_eq!(s.cutover.share, Some(80), "blue is the candidate at 80 %");
        // Carol rolls back from the CLI: the record names her.
        let rec = rec
            .with_flight("9-1", 0, "carol@h", "rollback", wall + 500)
            .landed();
        update(
            &mut s,
            Event::RecordRead {
                now: 2_000,
                result: Ok(Some(rec)),
            },
        );
        let e = update(
            &mut s,
            Event::BackendRead {
                started: 2_000,
                now: 2_000,
                result: Ok(Weights::new(0, 100)),
            },
        );
        assert!(e.is_empty(), "not an external change: {e:?}");
        assert!(
            s.events
                .back()
                .unwrap()
                .text
                .starts_with("carol@h rolled back: blue 80 → 0 %")
        );
        // Someone then sets 50/50 by hand: not carol's doing, whatever the record's last.
        let e = update(
            &mut s,
            Event::BackendRead {
                started: 3_000,
                now: 3_000,
                result: Ok(Weights::new(50, 50)),
            },
        );
        assert!(
            matches!(e.first(), Some(Effect::JournalExternal { .. })),
            "{e:?}"
        );
        assert!(
            s.events
                .back()
                .unwrap()
                .text
                .starts_with("external change: blue 0 → 50 %")
        );

        // A write whose outcome was unknown, landing late, is attributed to itself.
        let (mut s, id) = step_unknown();
        assert!(s.failed.as_ref().unwrap().text.contains("OUTCOME UNKNOWN"));
        let e = update(
            &mut s,
            Event::BackendRead {
                started: 4_100,
                now: 4_100,
                result: Ok(Weights::new(50, 50)),
            },
        );
        assert!(
            matches!(e.as_slice(), [Effect::JournalLate { write, .. }] if *write == id),
            "{e:?}"
        );
        let t = &s.events.back().unwrap().text;
        assert!(
            t.starts_with("late: the write (step → 50 %) landed 3.1 s after"),
            "{t}"
        );
        assert!(s.failed.is_none() && s.unknown.is_empty());

        // Unknown, then a rollback, then the step lands after all: rolled back again.
        let (mut s, _) = step_unknown();
        let e = key(&mut s, KeyCode::Char('r'));
        assert!(
            s.events
                .back()
                .unwrap()
                .text
                .contains("ROLLBACK green 10 → 0 %"),
            "from the read-back, not the step's 50"
        );
        done(&mut s, &e, 0);
        let e = update(
            &mut s,
            Event::BackendRead {
                started: 5_000,
                now: 5_000,
                result: Ok(Weights::new(50, 50)),
            },
        );
        assert!(
            matches!(e.as_slice(), [Effect::JournalLate { .. }, Effect::Write(o)] if o.rollback && o.share == 0),
            "{e:?}"
        );
        assert!(
            s.events
                .iter()
                .any(|l| l.text.contains("after a rollback: rolling back again"))
        );
    }

    #[test]
    fn failures_stay_on_screen_and_the_lease_store_down_refuses_forward_only() {
        let mut s = state(50);
        let e = key(&mut s, KeyCode::Char('r'));
        let [Effect::Write(o)] = e.as_slice() else {
            panic!("{e:?}")
        };
        let id = o.id;
        update(
            &mut s,
            Event::WriteDone {
                id,
                now: 100,
                result: WriteResult::Failed {
                    error: "HTTP 500".into(),
                    after: Some(Weights::new(50, 50)),
                },
                journal_error: Some("journal j.jsonl: No space left on device".into()),
                record_error: None,
            },
        );
        let b = s.failed.clone().unwrap();
        assert!(b.rollback);
        assert!(
            b.text.starts_with("ROLLBACK FAILED")
                && b.text
                    .contains("— r retries — traffic still blue 50 / green 50 (read back)"),
            "{}",
            b.text
        );
        assert!(
            s.not_journaled
                .as_deref()
                .unwrap()
                .contains("NOT JOURNALED")
        );
        // Many events later, still there.
        for i in 0..300 {
            s.log(Level::Info, format!("noise {i}"));
        }
        assert!(s.failed.is_some());
        // The lease store stops answering: forward refused, rollback still goes.
        update(
            &mut s,
            Event::Lease {
                now: 200,
                role: Role::Driver,
                holder: None,
                took_over: None,
                error: Some("no answer within 1.0 s".into()),
            },
        );
        assert_eq!(s.role, Role::Observer);
        assert!(key(&mut s, KeyCode::Right).is_empty());
        assert!(s.events.back().unwrap().text.contains("no driver lease"));
        let e = key(&mut s, KeyCode::Char('r'));
        assert_eq!(shares(&e), vec![(0, true)]);
        let [Effect::Write(o)] = e.as_slice() else {
            panic!()
        };
        done(&mut s, &e, 0);
        let _ = o;
        assert!(
            s.failed.is_none(),
            "a write that succeeded clears the banner"
        );
        assert!(s.not_journaled.is_some(), "not journaled stays");
    }

    #[test]
    fn an_observer_follows_the_drivers_completion_when_the_record_is_cleared() {
        let mut s = state(100);
        s.role = Role::Observer;
        let rec = crate::core::Record::new(Env::Blue, "bob@h", s.wall_ms(0));
        update(
            &mut s,
            Event::RecordRead {
                now: 1_000,
                result: Ok(Some(rec)),
            },
        );
        assert_eq!(s.live(), Env::Blue);
        let e = update(
            &mut s,
            Event::RecordRead {
                now: 2_000,
                result: Ok(None),
            },
        );
        assert_eq!(s.live(), Env::Green, "the driver completed it");
        assert!(e.is_empty(), "an observer journals nothing: {e:?}");
        assert!(s.completed.is_some());
    }

    #[test]
    fn a_record_that_vanishes_mid_cutover_is_restored_by_the_driver() {
        let mut s = state(50);
        let rec = crate::core::Record::new(Env::Blue, "alice@h", s.wall_ms(0));
        update(
            &mut s,
            Event::RecordRead {
                now: 1_000,
                result: Ok(Some(rec.clone())),
            },
        );
        let e = update(
            &mut s,
            Event::RecordRead {
                now: 2_000,
                result: Ok(None),
            },
        );
        assert_eq!(e, vec![Effect::Record(RecordOp::Restore(rec))]);
        assert_eq!(s.live(), Env::Blue);
        // An observer does not write it.
        let mut s = state(50);
        s.role = Role::Observer;
        let rec = crate::core::Record::new(Env::Blue, "alice@h", s.wall_ms(0));
        update(
            &mut s,
            Event::RecordRead {
                now: 1_000,
                result: Ok(Some(rec)),
            },
        );
        assert!(
            update(
                &mut s,
                Event::RecordRead {
                    now: 2_000,
                    result: Ok(None)
                }
            )
            .is_empty()
        );
    }

    /// At 10 %, a step to 50 whose outcome came back unknown; its write id.
    fn step_unknown() -> (State, u64) {
        let mut s = state(10);
        let e = key(&mut s, KeyCode::Right);
        let [Effect::Write(o)] = e.as_slice() else {
            panic!("{e:?}")
        };
        let id = o.id;
        update(
            &mut s,
            Event::WriteDone {
                id,
                now: 1_000,
                result: WriteResult::Unknown {
                    error: "no answer within 1.0 s".into(),
                    after: Some(Weights::new(90, 10)),
                },
                journal_error: None,
                record_error: None,
            },
        );
        (s, id)
    }
}
