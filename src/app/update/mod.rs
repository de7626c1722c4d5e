//! The pure reducer: `update(&mut State, Event) -> Vec<Effect>`. No I/O, no clock reads, no
//! terminal: keys arrive as [`Action`]s already read through the keymap, time arrives in
//! the events. One file per concern (see ARCHITECTURE.md):
//!
//! - `keys`: a key's action, dialogs first (take-over, where traffic goes, confirm);
//! - `writes`: the one place a write is ordered (`issue`), and what a finished write means;
//! - `reads`: the backend's weights and the cutover record, and who made a change;
//! - `signals`: signal polls, smoke results, observed-vs-set share;
//! - `lease`: who drives;
//! - `window`: the rollback window, its end, and the auto-rollback.

mod approval;
mod keys;
mod lease;
mod preflight;
mod ramp;
mod reads;
mod schema;
mod signals;
mod standby;
#[cfg(test)]
pub(crate) mod testkit;
mod verdicts;
mod window;
mod writes;

pub use lease::not_driving;
pub use ramp::words as rollback_how;

use super::engine::{WriteOrder, WriteResult};
use super::journal::Phase;
use super::keymap::Press;
use super::state::{Level, ReadError, Role, State};
use crate::core::{Env, EnvPair, Millis, Record, Weights};
use crate::shared::SignalError;
use crate::signals::{EnvPoll, SmokeReport};
use keys::on_key;
use lease::on_lease;
use reads::{on_read, on_record};
use signals::{on_signals, on_smoke_done, report_mismatch};
use window::{auto_rollback, warn_live_cold, warn_window_end, window_due};
use writes::{on_write_done, on_write_settled};

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
    /// A key press, read through the keymap by the terminal front end
    /// (`Press::default()`: a key bound to nothing, which still cancels a dialog).
    Key {
        press: Press,
        now: Millis,
    },
    Tick {
        now: Millis,
    },
    Resize,
    /// How long clients may keep an old answer after a change (a DNS TTL as last read).
    Propagation {
        tail: Option<std::time::Duration>,
    },
    /// A poll of the backend's weights, started at `started`.
    BackendRead {
        started: Millis,
        now: Millis,
        result: Result<Weights, ReadError>,
    },
    /// The cutover record as read beside the backend (`Ok(None)`: no cutover recorded).
    RecordRead {
        now: Millis,
        result: Result<Option<Record>, String>,
    },
    Signals {
        source: String,
        now: Millis,
        result: Result<Box<EnvPair<EnvPoll>>, SignalError>,
    },
    WriteDone {
        id: u64,
        now: Millis,
        result: WriteResult,
        /// The journal could not be written for it.
        journal_error: Option<String>,
        /// The cutover record could not be updated after it.
        record_error: Option<String>,
        /// Its journal fsync and record update are still being made: a `WriteSettled`
        /// follows.
        settling: bool,
        /// How long clients may still see the old weights after this write (a DNS TTL).
        tail: Option<std::time::Duration>,
    },
    /// What a write's journal fsync and record update, made after its `WriteDone`, could
    /// not do.
    WriteSettled {
        id: u64,
        journal_error: Option<String>,
        record_error: Option<String>,
    },
    /// A queued write replaced by a newer intent before it was sent.
    WriteSuperseded {
        id: u64,
        by: u64,
    },
    /// What a write in flight waits for at the backend now (`None`: nothing to say).
    WriteProgress {
        id: u64,
        text: Option<String>,
    },
    SmokeDone {
        now: Millis,
        report: SmokeReport,
    },
    /// The migration history and each env's `schema-max`, as read (`[schema]`).
    Schema {
        now: Millis,
        read: Result<crate::core::schema::SchemaRead, String>,
        max: EnvPair<crate::signals::schema::MaxRead>,
    },
    /// A change of the record for a second person (`[approval]`) was made, or not.
    Approval {
        now: Millis,
        done: ApprovalDone,
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

/// What the runner must do. A write order is the large one: effects live for one event,
/// and a box would cost every write an allocation for nothing.
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)]
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
        phase: Phase,
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
    Restore(Box<Record>),
    /// Ask for another person's approval (`[approval]`) in the record naming `live`.
    Ask {
        live: Env,
        need: crate::core::approval::Need,
        share: u8,
        /// The candidate's share now, for a record made by this request.
        pos: u8,
        until: i64,
        /// This cockpit's `[approval]` rules, for a record made by this request.
        rules: Vec<crate::core::approval::Need>,
    },
    /// Answer the request `seen` (the one looked at): approve, or decline with a reason.
    Answer {
        seen: crate::core::approval::Ask,
        approve: bool,
        reason: Option<String>,
    },
    /// Take back our request `until` (withdrawn, expired).
    Withdraw { until: i64 },
}

/// What became of an approval's record change.
#[derive(Clone, Debug, PartialEq)]
pub enum ApprovalDone {
    Asked {
        until: i64,
        result: Result<(), String>,
    },
    Answered {
        approve: bool,
        ask: crate::core::approval::Ask,
        reason: Option<String>,
        result: Result<(), String>,
    },
    Withdrawn {
        result: Result<(), String>,
    },
}

pub fn update(s: &mut State, ev: Event) -> Vec<Effect> {
    let mut effects = reduce(s, ev);
    keys::withdraw_if_moved(s);
    s.refresh_guards();
    effects.extend(verdicts::breach_history(s));
    report_mismatch(s);
    effects.extend(schema::say_safety(s));
    effects.extend(approval::expire(s));
    effects.extend(ramp::due(s));
    effects.extend(standby::standby_due(s));
    effects.extend(auto_rollback(s));
    effects.extend(window_due(s));
    warn_window_end(s);
    warn_live_cold(s);
    effects
}

fn reduce(s: &mut State, ev: Event) -> Vec<Effect> {
    s.view.dirty = true;
    match ev {
        Event::Tick { now } => {
            advance(s, now);
            Vec::new()
        }
        Event::Resize => Vec::new(),
        Event::Propagation { tail } => {
            s.traffic.propagation = tail;
            Vec::new()
        }
        Event::Key { press, now } => {
            advance(s, now);
            on_key(s, press)
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
            settling,
            tail,
        } => {
            advance(s, now);
            let effects =
                on_write_done(s, id, result.clone(), journal_error, record_error, settling);
            if let (Some(tail), WriteResult::Verified { .. }) = (tail, &result) {
                writes::propagating(s, tail);
            }
            effects
        }
        Event::WriteSettled {
            id,
            journal_error,
            record_error,
        } => {
            on_write_settled(s, id, journal_error, record_error);
            Vec::new()
        }
        Event::RecordRead { now, result } => {
            advance(s, now);
            record_read(s, result)
        }
        Event::Approval { now, done } => {
            advance(s, now);
            approval::on_done(s, done)
        }
        Event::WriteProgress { id, text } => {
            writes::on_write_progress(s, id, text);
            Vec::new()
        }
        Event::WriteSuperseded { id, by } => {
            writes::on_write_superseded(s, id, by);
            Vec::new()
        }
        Event::SmokeDone { now, report } => {
            advance(s, now);
            on_smoke_done(s, now, report)
        }
        Event::Schema { now, read, max } => schema::on_schema(s, now, read, max),
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
        Event::Shutdown { now, reason } => shutdown(s, now, &reason),
    }
}

/// SIGTERM, SIGHUP: quit, traffic left as it is.
fn shutdown(s: &mut State, now: Millis, reason: &str) -> Vec<Effect> {
    advance(s, now);
    s.log(
        Level::Warn,
        format!("{reason}: quitting, traffic left as the backend has it"),
    );
    s.view.quit = true;
    // Our request for approval goes with us; a ramp left half done is said.
    let mut effects = approval::withdraw(s);
    effects.extend(ramp::abandon(s));
    effects
}

/// The record as read: who is live and what changed, then a second person's request.
fn record_read(s: &mut State, result: Result<Option<Record>, String>) -> Vec<Effect> {
    let read = result.is_ok();
    let mut effects = on_record(s, result);
    if read {
        effects.extend(approval::on_record(s));
    }
    effects
}

pub(super) fn advance(s: &mut State, now: Millis) {
    s.now = s.now.max(now);
    if s.writes.rollback_guard_until.is_some_and(|t| s.now >= t) {
        s.writes.rollback_guard_until = None;
    }
}
