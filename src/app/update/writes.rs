//! Writes: a command decided by the cutover state machine, a rollback, `issue` (the one
//! place a write is ordered), and what a finished write means for the screen.

use super::lease::not_driving;
use super::preflight::{preflight, waits_for_preflight};
use super::reads::observe;
use super::{Effect, ROLLBACK_GUARD_MS};
use crate::app::engine::WriteResult;
use crate::app::journal::WriteAction;
use crate::app::keymap::Action;
use crate::app::state::{Banner, InFlight, Level, PendingConfirm, Role, State};
use crate::app::words::refusal_text;
use crate::core::{Command, ConfirmReason, Decision, Env, Millis, Weights};

pub(super) fn command(s: &mut State, cmd: Command, name: WriteAction) -> Vec<Effect> {
    if !s.traffic.live_known && cmd != Command::TogglePause {
        let why = s.live_unknown_why();
        s.log(
            Level::Warn,
            format!(
                "live env unknown: {why}; nothing steps forward ({} asks where all traffic goes; or set `live` in the config)",
                s.key(Action::Rollback)
            ),
        );
        return Vec::new();
    }
    // A step back while a request waits is no forward move (the request, asked from where
    // traffic was, then sends nothing: traffic moved).
    if !matches!(cmd, Command::TogglePause | Command::StepBack)
        && super::approval::refuse_while_waiting(s)
    {
        return Vec::new();
    }
    if cmd != Command::TogglePause && s.writes.ramp.is_some() {
        s.log(
            Level::Warn,
            format!(
                "a cold rollback is under way: nothing moves forward until it ends; {} again sends all to {} now",
                s.key(Action::Rollback),
                s.live()
            ),
        );
        return Vec::new();
    }
    if waits_for_preflight(s, cmd) {
        return Vec::new();
    }
    // A forward move waits for the write before it to read back: the next one is judged,
    // held and baked from where traffic is, never queued on an intent.
    let forward = matches!(
        cmd,
        Command::StepForward | Command::Promote | Command::Jump(_)
    );
    if forward && let Some(w) = s.writes.in_flight.iter().find(|w| !w.rollback) {
        let text = format!(
            "{} → {} % is still in flight: the next move waits for its read-back ({} rolls back now)",
            w.action,
            w.share,
            s.key(Action::Rollback)
        );
        s.log(Level::Warn, text);
        return Vec::new();
    }
    let decision = match preflight(s, cmd, name.clone(), s.cutover.decide(cmd, s.doubts())) {
        Ok(d) => d,
        Err(effects) => return effects,
    };
    match decision {
        Decision::Apply { share, rollback } => issue(s, share, rollback, name),
        Decision::Confirm { share, reasons } => {
            let action = if share == 100 {
                WriteAction::Promote
            } else {
                name
            };
            s.view.confirm = Some(PendingConfirm {
                share,
                reasons,
                action,
                from: s.cutover.base(),
                live: s.live(),
            });
            Vec::new()
        }
        Decision::Pause(p) => {
            s.cutover.paused = p;
            if !p {
                // The bake clock stopped while paused: it starts over on resume.
                s.traffic.bake_since = Some(s.now);
            }
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
            let text = refusal_text(r, s.candidate(), &s.settings.backend_kind);
            s.log(Level::Warn, text);
            Vec::new()
        }
    }
}

pub(super) fn rollback(s: &mut State, action: WriteAction) -> Vec<Effect> {
    s.preflight_pending = None;
    if !s.traffic.live_known {
        // Nothing guesses: ask where all traffic goes.
        let why = s.live_unknown_why();
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
                "ROLLBACK: {why}: {} sends all traffic to blue{}, {} to green{}; any other key cancels",
                s.key(Action::PickBlue),
                version(Env::Blue),
                s.key(Action::PickGreen),
                version(Env::Green)
            ),
        );
        s.view.ask_target = true;
        return Vec::new();
    }
    // The window closed: going back is a new cutover the other way, never a fake success.
    if let Some((at, old)) = s.window.completed
        && s.cutover.base() == Some(0)
        && s.writes.in_flight.is_empty()
    {
        let when = s.wall(at).format("%H:%M:%S");
        s.log(
            Level::Warn,
            format!(
                "nothing to roll back: the rollback window closed at {when} and {} is live; going back to {old} is a new cutover the other way: {} sends all traffic to {old} now",
                s.live(),
                s.key(Action::Confirm)
            ),
        );
        s.view.confirm = Some(PendingConfirm {
            share: 100,
            reasons: vec![ConfirmReason::Promote],
            action: WriteAction::Revert,
            from: Some(0),
            live: s.live(),
        });
        return Vec::new();
    }
    // A cold target with a ramp configured: in steps (`r` again: all at once).
    if let Some(effects) = super::ramp::rollback(s, &action) {
        return effects;
    }
    issue(s, 0, true, action)
}

pub(super) fn issue(s: &mut State, share: u8, rollback: bool, action: WriteAction) -> Vec<Effect> {
    // The one place a write is ordered. Forward writes need the driver lease; a rollback
    // needs only a cutover that may write at all (not --read-only).
    let allowed = match s.lease.role {
        Role::Driver => true,
        Role::Observer => rollback,
        Role::ReadOnly => false,
    };
    if !allowed && let Some(why) = not_driving(s) {
        s.log(Level::Warn, why);
        return Vec::new();
    }
    if rollback && s.lease.role == Role::Observer {
        // A lease store that does not answer says nothing of who drives: unknown, not nobody.
        let text = match (&s.lease.holder, &s.lease.lease_error) {
            (Some(l), _) => format!("{} rolls back while {} drives", s.settings.driver, l.holder),
            (None, Some(_)) => format!(
                "{} rolls back; who drives is unknown (the lease store does not answer)",
                s.settings.driver
            ),
            (None, None) => format!("{} rolls back while nobody drives", s.settings.driver),
        };
        s.log(Level::Warn, text);
    }
    // A rollback says where traffic is by the read-back, not by a step still in flight.
    let from = if rollback {
        s.cutover.share
    } else {
        s.cutover.base()
    }
    .map_or_else(|| "?".to_string(), |b| b.to_string());
    let mut voided = Vec::new();
    if rollback {
        // A request for approval waiting is void: the rollback's record update clears it.
        voided = super::approval::void_on_rollback(s);
    }
    let order = s.order(share, rollback, action.clone(), "tui");
    s.cutover.requested(share);
    if rollback {
        // A step whose outcome is unknown may still land: after this rollback it must not.
        for u in s.writes.unknown.iter_mut().filter(|u| !u.rollback) {
            u.superseded = true;
        }
    }
    s.writes.in_flight.push(InFlight {
        id: order.id,
        share,
        since: s.now,
        rollback,
        action: order.action.clone(),
        superseded: false,
        progress: None,
    });
    let cand = s.candidate();
    let text = if rollback {
        format!("ROLLBACK {cand} {from} → {share} % …")
    } else {
        format!("{action} {cand} {from} → {share} % …")
    };
    s.log(if rollback { Level::Warn } else { Level::Info }, text);
    let mut effects = vec![Effect::Write(order)];
    effects.extend(voided);
    effects
}

/// How long after it was sent a write whose outcome was unknown is watched for landing.
pub(super) const UNKNOWN_WATCH_MS: Millis = 60_000;

/// Writes whose outcome was unknown and that have not landed [`UNKNOWN_WATCH_MS`] after they
/// were sent, the backend answering with `w`: said as not landed (a rollback loudly, with
/// the key that sends it again) and no longer watched, so the screen stops saying "may
/// still land" over traffic that never moved.
pub(super) fn expire_unknown(s: &mut State, w: Weights) {
    let (cand, now) = (s.candidate(), s.now);
    let share = w.share_of(cand);
    let (gone, keep): (Vec<InFlight>, Vec<InFlight>) =
        s.writes.unknown.drain(..).partition(|u| {
            now.saturating_sub(u.since) > UNKNOWN_WATCH_MS && share != Some(u.share)
        });
    s.writes.unknown = keep;
    let reads = share.map_or_else(|| "?".to_string(), |p| p.to_string());
    for u in gone {
        let (what, key) = if u.rollback {
            ("ROLLBACK".to_string(), s.key(Action::Rollback))
        } else {
            (
                u.action.to_string().to_uppercase(),
                s.key(Action::StepForward),
            )
        };
        let line = format!(
            "{what} → {} % DID NOT LAND: a minute after it was sent the backend reads {cand} {reads} % ({w}); {key} sends it again",
            u.share
        );
        s.log(
            if u.rollback {
                Level::Error
            } else {
                Level::Warn
            },
            line,
        );
        let hhmmss = s.wall(now).format("%H:%M:%S").to_string();
        s.writes.failed = Some(Banner {
            rollback: u.rollback,
            at: now,
            text: format!(
                "{what} DID NOT LAND {hhmmss} — {key} sends it again — {}",
                traffic(&Some(w))
            ),
        });
    }
}

/// What a write in flight waits for at the backend now, as it says.
pub(super) fn on_write_progress(s: &mut State, id: u64, text: Option<String>) {
    if let Some(w) = s.writes.in_flight.iter_mut().find(|w| w.id == id) {
        w.progress = text;
    }
}

/// A queued write replaced by a newer request before it was sent.
pub(super) fn on_write_superseded(s: &mut State, id: u64, by: u64) {
    if let Some(pos) = s.writes.in_flight.iter().position(|w| w.id == id) {
        let w = s.writes.in_flight.remove(pos);
        s.log(
            Level::Info,
            format!(
                "{} → {} % superseded by a newer request (#{by})",
                w.action, w.share
            ),
        );
    }
}

pub(super) fn on_write_done(
    s: &mut State,
    id: u64,
    result: WriteResult,
    journal_error: Option<String>,
    record_error: Option<String>,
    settling: bool,
) -> Vec<Effect> {
    let Some(pos) = s.writes.in_flight.iter().position(|w| w.id == id) else {
        return Vec::new();
    };
    let w = s.writes.in_flight.remove(pos);
    if settling {
        s.writes.settling.push(w.clone());
    }
    s.writes.last_write_done = s.now;
    let what = if w.rollback {
        "ROLLBACK".to_string()
    } else {
        w.action.to_string()
    };
    // Its record update made: this cockpit knows what the record says, as one that read it.
    if matches!(result, WriteResult::Verified { .. }) && record_error.is_none() && !settling {
        s.traffic.record_seen = true;
    }
    let failed = verdict(s, &w, &result);
    say_unrecorded(s, &what, w.share, journal_error, record_error);
    if s.writes.in_flight.is_empty() && failed {
        s.cutover.clear_intent();
    }
    if let Some(after) = result.after() {
        observe(s, after);
        if s.traffic.moved_at == Some(s.now) {
            s.traffic.moved_by_rollback = w.rollback;
        }
    }
    if result == WriteResult::Aborted {
        return Vec::new();
    }
    let cand = s.candidate();
    let text = s.last_event().to_string();
    let mut next = Vec::new();
    if w.rollback && w.share > 0 {
        let verified = matches!(result, WriteResult::Verified { .. });
        next = super::ramp::on_step_done(s, w.share, verified);
    }
    let mut effects = next;
    effects.push(Effect::Notify {
        event: if w.action == WriteAction::AutoRollback {
            "auto-rollback".into()
        } else {
            "write".into()
        },
        text: format!("{cand}: {text}"),
    });
    effects
}

/// Says what a finished write did, and keeps a failure on screen as a banner: what, the
/// verdict, when, then what to know or press. `true` when the write did not do its job.
fn verdict(s: &mut State, w: &InFlight, result: &WriteResult) -> bool {
    let (level, line, banner) = words_of(s, w, result);
    s.log(level, line);
    match result {
        WriteResult::Verified { .. } => s.writes.failed = None,
        WriteResult::Unknown { .. } => s.writes.unknown.push(w.clone()),
        WriteResult::Aborted => s.writes.rollback_guard_until = Some(s.now + ROLLBACK_GUARD_MS),
        _ => {}
    }
    let Some((verdict, detail)) = banner else {
        return false;
    };
    let what = if w.rollback {
        "ROLLBACK".to_string()
    } else {
        w.action.to_string().to_uppercase()
    };
    let hhmmss = s.wall(s.now).format("%H:%M:%S").to_string();
    s.writes.failed = Some(Banner {
        rollback: w.rollback,
        at: s.now,
        text: format!("{what} {verdict} {hhmmss} — {detail}"),
    });
    true
}

/// A finished write in words: the event line, and for a write that did not do its job, the
/// banner's verdict and what to know or press.
fn words_of(
    s: &State,
    w: &InFlight,
    result: &WriteResult,
) -> (Level, String, Option<(&'static str, String)>) {
    let cand = s.candidate();
    let what = if w.rollback {
        "ROLLBACK".to_string()
    } else {
        w.action.to_string()
    };
    let retry = format!(
        "{} retries",
        s.key(if w.rollback {
            Action::Rollback
        } else {
            Action::StepForward
        })
    );
    let (action, share) = (&w.action, w.share);
    match result {
        WriteResult::Verified { after, elapsed_ms } => (
            Level::Good,
            format!("{what} → {share} % applied in {elapsed_ms} ms, verified ({after})"),
            None,
        ),
        WriteResult::Unverified { after, .. } => {
            let got = after
                .share_of(cand)
                .map_or_else(|| "no traffic".into(), |p| format!("{p} %"));
            (
                Level::Error,
                format!(
                    "{action} → {share} % NOT verified: the backend reads {cand} {got} ({after})"
                ),
                Some((
                    "NOT VERIFIED",
                    format!("{retry} — {}", traffic(&Some(*after))),
                )),
            )
        }
        WriteResult::Failed { error, after } => {
            let reread = match after {
                Some(a) => format!("; backend re-read: {a}"),
                None => "; backend could not be re-read".into(),
            };
            (
                Level::Error,
                format!("{action} → {share} % FAILED: {error}{reread}"),
                Some(("FAILED", format!("{retry} — {}", traffic(after)))),
            )
        }
        WriteResult::Unknown { error, after } => (
            Level::Error,
            format!("{action} → {share} %: outcome UNKNOWN, it may still land: {error}"),
            Some((
                "OUTCOME UNKNOWN",
                format!(
                    "may still land — {} — {}",
                    traffic(after),
                    if w.rollback {
                        retry.as_str()
                    } else {
                        "watching"
                    }
                ),
            )),
        ),
        WriteResult::Refused { reason } => (
            Level::Error,
            format!("{action} → {share} % REFUSED: {reason}"),
            Some((
                "REFUSED",
                format!(
                    "traffic untouched — {}",
                    reason.trim_start_matches("not written: ")
                ),
            )),
        ),
        WriteResult::Aborted => (
            Level::Warn,
            format!("{action} → {share} % cancelled: pre-empted by rollback"),
            None,
        ),
    }
}

/// Where traffic stands after a write that did not do its job.
fn traffic(after: &Option<Weights>) -> String {
    match after {
        Some(a) => format!(
            "traffic still {} {} / {} {} (read back)",
            Env::Blue.name(),
            a.share_of(Env::Blue).map_or("?".into(), |p| p.to_string()),
            Env::Green.name(),
            a.share_of(Env::Green).map_or("?".into(), |p| p.to_string())
        ),
        None => "traffic UNKNOWN (the backend could not be re-read)".to_string(),
    }
}

/// A write without its journal line (a banner that stays) or without its record update.
/// A verified write on a backend whose clients cache the old answer (DNS): until `tail`
/// has passed, resolvers may still answer the old way. Said, and shown until then.
pub(super) fn propagating(s: &mut State, tail: std::time::Duration) {
    let ms = tail.as_millis() as Millis;
    // Never shortened: answers cached under a longer TTL before are still out there.
    let end = s
        .traffic
        .tail_until
        .map_or(s.now + ms, |t| t.max(s.now + ms));
    s.traffic.tail_until = Some(end);
    let until = s.wall(end).format("%H:%M:%S").to_string();
    // A swap of CNAMEs moves no weights: the old answer is the other env's address.
    let old = if s.cutover.flip_only {
        "the old address"
    } else {
        "the old weights"
    };
    s.log(
        Level::Warn,
        format!(
            "resolvers may still answer with {old} until {until} (TTL {} s): a DNS switch is not instant, a rollback included",
            tail.as_secs()
        ),
    );
}

/// A done write's journal fsync and record update were made: what they could not do is said.
pub(super) fn on_write_settled(
    s: &mut State,
    id: u64,
    journal_error: Option<String>,
    record_error: Option<String>,
) {
    let Some(pos) = s.writes.settling.iter().position(|w| w.id == id) else {
        return;
    };
    let w = s.writes.settling.remove(pos);
    if record_error.is_none() {
        s.traffic.record_seen = true;
    }
    let what = if w.rollback {
        "ROLLBACK".to_string()
    } else {
        w.action.to_string()
    };
    say_unrecorded(s, &what, w.share, journal_error, record_error);
}

fn say_unrecorded(
    s: &mut State,
    what: &str,
    share: u8,
    journal_error: Option<String>,
    record_error: Option<String>,
) {
    let hhmmss = s.wall(s.now).format("%H:%M:%S").to_string();
    if let Some(e) = journal_error {
        s.log(
            Level::Error,
            format!("{what} → {share} % NOT JOURNALED: {e}"),
        );
        s.writes.not_journaled = Some(format!(
            "{} NOT JOURNALED {hhmmss} — {e}",
            what.to_uppercase()
        ));
    }
    if let Some(e) = record_error {
        s.log(
            Level::Error,
            format!("{what} → {share} %: the cutover record was not updated: {e}"),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::app::update::testkit::*;

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
                settling: false,
                tail: None,
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
                settling: false,
                tail: None,
            },
        );
        assert_eq!(s.cutover.share, Some(10));
        assert_eq!(s.cutover.intent, None);
        assert!(s.last_event().contains("FAILED: HTTP 500"));
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
                    result: Err(ReadError::Failed("cannot reach".into())),
                },
            );
        }
        assert!(
            s.signals
                .green
                .error_rate
                .is_stale(s.now, s.settings.poll_interval)
        );
        assert_eq!(s.source_errors.len(), 1);
        assert_eq!(
            s.view
                .events
                .iter()
                .filter(|e| e.text.contains("prometheus: timed out"))
                .count(),
            1,
            "a failing source is said once, not every poll"
        );
        assert_eq!(shares(&key(&mut s, KeyCode::Char('r'))), vec![(0, true)]);
    }

    #[test]
    fn a_dns_write_says_its_tail_and_shows_it_until_then() {
        let mut s = state(10);
        let e = key(&mut s, KeyCode::Right);
        let id = only_write(&e);
        let now = s.now;
        update(
            &mut s,
            Event::WriteDone {
                id,
                now: now + 5,
                result: WriteResult::Verified {
                    after: Weights::new(50, 50),
                    elapsed_ms: 5,
                },
                journal_error: None,
                record_error: None,
                settling: false,
                tail: Some(std::time::Duration::from_secs(60)),
            },
        );
        assert_eq!(s.traffic.tail_until, Some(now + 5 + 60_000));
        assert!(
            s.last_event()
                .contains("resolvers may still answer with the old weights until")
                && s.last_event().contains("(TTL 60 s)"),
            "{}",
            s.last_event()
        );
        // A failed write starts no tail.
        let mut s = state(10);
        let e = key(&mut s, KeyCode::Right);
        let id = only_write(&e);
        let now = s.now;
        update(
            &mut s,
            Event::WriteDone {
                id,
                now: now + 5,
                result: WriteResult::Failed {
                    error: "denied".into(),
                    after: None,
                },
                journal_error: None,
                record_error: None,
                settling: false,
                tail: Some(std::time::Duration::from_secs(60)),
            },
        );
        assert_eq!(s.traffic.tail_until, None);
    }
}
