//! What the backend reads back: the weights (and who made a change: a late write of ours,
//! someone's write through cutover named by the record, or an external change) and the
//! cutover record (who is live, a write left in flight, a record that vanished).

use super::window::complete;
use super::writes::rollback;
use super::{Effect, RecordOp};
use crate::app::journal::WriteAction;
use crate::app::state::{Level, ReadError, Role, State, Unexplained};
use crate::app::words::clock;
use crate::core::{LiveFrom, Millis, Record, Weights};

/// The cutover record as read: who is live comes from it (unless the config says), a
/// write someone left in flight is said first thing, and a change seen at the last poll
/// is put down to whoever it names.
pub(super) fn on_record(s: &mut State, result: Result<Option<Record>, String>) -> Vec<Effect> {
    let mut effects = read_record(s, result);
    effects.extend(attribute(s));
    effects
}

fn read_record(s: &mut State, result: Result<Option<Record>, String>) -> Vec<Effect> {
    let rec = match result {
        Ok(r) => r,
        Err(e) => {
            if s.traffic.record_error.as_deref() != Some(e.as_str()) {
                s.log(Level::Error, format!("cutover record: {e}"));
            }
            s.traffic.record_error = Some(e);
            return Vec::new();
        }
    };
    if s.traffic.record_error.take().is_some() {
        s.log(Level::Good, "cutover record readable again");
    }
    if let Some(r) = &rec {
        say_flight(s, r);
        settle_from_record(s, r);
    }
    // The driver completed the window and cleared the record: an observer that still holds
    // or counts down its own view of the window follows.
    if rec.is_none()
        && s.traffic.record.is_some()
        && s.lease.role != Role::Driver
        && s.cutover.share == Some(100)
        && s.cutover.window_started.is_some()
    {
        s.traffic.record = None;
        let _ = complete(s, None);
        return Vec::new();
    }
    // The record vanished while traffic is split (a reload of the store's owner): the driver
    // restores what it last read, so nobody is left to guess.
    if rec.is_none()
        && s.lease.role == Role::Driver
        && let Some(old) = s.traffic.record.clone()
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
        return vec![Effect::Record(RecordOp::Restore(Box::new(old)))];
    }
    if s.traffic.record != rec {
        s.traffic.record_read_at = s.now;
    }
    if let Some(r) = &rec {
        let read = s.traffic.weights.zip(s.traffic.weights_started);
        live_from_record(s, r, read);
    } else if s.traffic.live_known {
        // No record, and live known: from here on this cockpit watched.
        s.traffic.record_seen = true;
        s.traffic.record_pending = false;
        s.traffic.disputed = None;
    }
    s.traffic.record = rec;
    Vec::new()
}

/// Who is live, as the record says, weighed against the weights read back (`read`: the
/// weights and when their read started). `live` in the config wins. A record is followed
/// only when it agrees with the traffic ([`Record::agrees_with`]); once this cockpit has
/// watched (a record read and weighed), a record naming another env live is followed only
/// when that env holds all the traffic (`rollback --to` elsewhere, a new cutover after the
/// window closed): one rewritten mid-cutover or after a rollback would turn the next `r`
/// onto the release rolled back from. Weights read before the record are not held against
/// it: the next read decides.
fn live_from_record(s: &mut State, r: &Record, read: Option<(Weights, Millis)>) {
    let wall = s.wall_ms(s.now);
    if s.traffic.live_from == Some(LiveFrom::Config) {
        if r.live != s.live()
            && !r.window_over(wall)
            && s.traffic.record.as_ref().map(|o| o.live) != Some(r.live)
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
        return;
    }
    if r.window_over(wall) {
        s.traffic.record_pending = false;
        return;
    }
    let following = s.traffic.live_known && r.live == s.live();
    if following && !s.traffic.record_pending {
        agreed(s, r);
        s.traffic.record_seen = true;
        return;
    }
    let Some((w, started)) = read else {
        // Nothing read from the backend: the record is all there is (a rollback with every
        // read failing goes where it says), weighed once the weights are read.
        if !following {
            follow(s, r, Taken::Unweighed);
        }
        s.traffic.record_pending = true;
        return;
    };
    let watched = s.traffic.live_known && s.traffic.record_seen;
    let agrees = if watched {
        // The cutover this cockpit disputed does not become right by traffic moving where
        // it says (a CLI that followed it): only a new record does (`rollback --to`).
        let same = |d: &Record| d.live == r.live && d.by == r.by && d.at == r.at;
        // Promoted and its window still open (or held): the candidate holds everything
        // already, so traffic cannot tell a record naming it live from a rewrite, and `r`
        // must still go back to the env live before.
        let in_window = s.cutover.share == Some(100) && s.cutover.window_started.is_some();
        w.all_on() == Some(r.live) && !s.traffic.disputed.as_ref().is_some_and(same) && !in_window
    } else {
        r.agrees_with(w, wall)
    };
    if agrees {
        let unweighed = s.traffic.record_pending && following;
        s.traffic.record_pending = false;
        s.traffic.record_seen = true;
        agreed(s, r);
        // Weights read after the record, not yet shown: the change they bring is told
        // from who is live now, not through the ones read before it.
        let stored_read = s.traffic.weights_started == Some(started);
        if !following {
            follow(
                s,
                r,
                if stored_read {
                    Taken::Weighed
                } else {
                    Taken::BeforeRead
                },
            );
        } else if unweighed {
            s.log(
                Level::Info,
                format!(
                    "live is {}: the cutover record at the backend says so and the traffic agrees ({w})",
                    r.live
                ),
            );
        }
        return;
    }
    if started < s.traffic.record_read_at {
        // Read before the record was: the next read decides.
        s.traffic.record_pending = true;
        return;
    }
    s.traffic.record_pending = false;
    s.traffic.record_seen = true;
    dispute(s, r, w, watched);
}

/// A record that did not agree with the traffic was replaced by one that does: said.
fn agreed(s: &mut State, r: &Record) {
    if s.traffic.disputed.take().is_some() {
        s.log(
            Level::Good,
            format!(
                "the cutover record is consistent again: it names {} live (written by {})",
                r.live,
                r.last.as_ref().map_or(r.by.as_str(), |l| l.who.as_str())
            ),
        );
    }
}

/// How a record's live env is taken.
#[derive(Clone, Copy, PartialEq)]
enum Taken {
    /// Weighed against the weights shown.
    Weighed,
    /// Weighed against weights just read and not shown yet: the ones shown predate the
    /// record, and are not fed through as a move (they would read as a promotion).
    BeforeRead,
    /// Nothing read from the backend yet: weighed once it is.
    Unweighed,
}

/// Live as the record names it.
fn follow(s: &mut State, r: &Record, how: Taken) {
    s.cutover.live = r.live;
    s.traffic.live_known = true;
    s.traffic.live_from = Some(LiveFrom::Record);
    s.view.ask_target = false;
    let by = format!("started by {} at {}", r.by, s.hhmm(r.at));
    s.log(
        Level::Info,
        if how == Taken::Unweighed {
            format!(
                "the cutover record names {} live ({by}); it is weighed against the traffic once the backend is read",
                r.live
            )
        } else {
            format!(
                "live is {}: the cutover record at the backend says so ({by})",
                r.live
            )
        },
    );
    match (how, s.traffic.weights) {
        (Taken::BeforeRead, Some(w)) => s.cutover.share = w.share_of(s.candidate()),
        (_, Some(w)) => observe(s, w),
        (_, None) => {}
    }
}

/// A record that does not agree with the traffic read back: said once. A cockpit that
/// watched keeps the live env it saw (forward moves are refused by the record until they
/// agree); one that had not takes neither for live and asks.
fn dispute(s: &mut State, r: &Record, w: Weights, watched: bool) {
    let said = s.traffic.disputed.as_ref() == Some(r);
    s.traffic.disputed = Some(r.clone());
    let rollback = s.key(crate::app::keymap::Action::Rollback);
    if watched {
        if !said {
            s.log(
                Level::Error,
                format!(
                    "the cutover record now says {} is live (by {} at {}), but {} was live here and the backend reads {w}: a record rewritten mid-cutover is not followed; {rollback} still rolls back to {}, and forward moves are refused until the record and this cockpit agree",
                    r.live,
                    r.last.as_ref().map_or(r.by.as_str(), |l| l.who.as_str()),
                    s.hhmm(r.last.as_ref().map_or(r.at, |l| l.at)),
                    s.live(),
                    s.live()
                ),
            );
        }
        return;
    }
    s.traffic.live_known = false;
    s.traffic.live_from = None;
    if !said {
        s.log(
            Level::Error,
            format!(
                "{}: nothing guesses who is live; {rollback} asks where all traffic goes (or set `live` in the config)",
                r.disagreement(w)
            ),
        );
    }
}

/// A write someone left in flight, per the record: said once, first thing.
/// A cockpit started after a move (another terminal's, the CLI's) settles and bakes from
/// that move, as recorded at the backend, not from its own start.
fn settle_from_record(s: &mut State, r: &Record) {
    // Only before this cockpit has read the traffic: one that watched since then saw
    // every move itself (a rollback at 0 % moved nothing).
    if s.traffic.moved_at.is_none()
        && s.traffic.weights.is_none()
        && let Some(ago) =
            crate::core::judged::since_last_write(r.last.as_ref().map(|l| l.at), s.wall_ms(s.now))
        && ago
            < s.settings
                .settle_ms
                .max(s.settings.min_bake_ms.unwrap_or(0))
    {
        let at = s.now.saturating_sub(ago);
        s.traffic.moved_at = Some(at);
        s.traffic.moved_by_rollback = r
            .last
            .as_ref()
            .is_some_and(|l| WriteAction::from(l.action.as_str()).is_rollback());
        s.traffic.bake_since = Some(at);
    }
}

fn say_flight(s: &mut State, r: &Record) {
    if let Some(f) = &r.flight
        && s.traffic.record.as_ref().and_then(|o| o.flight.as_ref()) != Some(f)
        // Not this cockpit's own (`PID-N`): in flight, shown done while its record update
        // is still on its way, or unknown (said by its own banner).
        && f.id.split_once('-').map(|(pid, _)| pid) != Some(std::process::id().to_string().as_str())
    {
        let by = r.last.as_ref().map_or("someone", |l| l.who.as_str());
        let since = s.hhmm(f.since);
        s.log(
            Level::Warn,
            format!(
                "a write is in flight per the cutover record: {} → {} % by {by} since {since}; its outcome is unknown until the backend reads so",
                r.candidate(),
                f.share
            ),
        );
    }
}

/// The backend's weights as read: an error is said once; a read older than the last write
/// is dropped; live is learnt if it was not known; a change nobody here made is explained.
pub(super) fn on_read(
    s: &mut State,
    started: Millis,
    result: Result<Weights, ReadError>,
) -> Vec<Effect> {
    let w = match result {
        Ok(w) => w,
        Err(e) => {
            read_failed(s, e);
            return Vec::new();
        }
    };
    if s.traffic.backend_error.take().is_some() {
        s.log(Level::Good, "backend reachable again");
    }
    // A read that started before the last write finished may predate it.
    if started < s.writes.last_write_done {
        return Vec::new();
    }
    // A record taken before the backend was read, or read after these weights: weighed
    // now, before the weights are explained against who is live.
    if (s.traffic.record_pending || !s.traffic.live_known)
        && let Some(r) = s.traffic.record.clone()
    {
        live_from_record(s, &r, Some((w, started)));
    }
    s.traffic.weights_started = Some(started);
    if !s.traffic.live_known && !learn_live(s, w) {
        return Vec::new();
    }
    super::writes::expire_unknown(s, w);
    if s.writes.in_flight.is_empty() && s.traffic.weights.is_some_and(|old| old != w) {
        return explain_change(s, w);
    }
    observe(s, w);
    Vec::new()
}

/// The backend did not answer, or answered that it cannot know.
fn read_failed(s: &mut State, e: ReadError) {
    if s.traffic.backend_error.as_ref().map(|(m, _)| m) != Some(&e) {
        s.log(Level::Error, format!("backend: {e}"));
    }
    if matches!(e, ReadError::Unknown(_)) {
        // The backend says it cannot know: show no weights, not the last ones.
        s.traffic.weights = None;
        s.traffic.weights_at = None;
        s.cutover.share = None;
    }
    s.traffic.backend_error = Some((e, s.now));
}

/// Live from the weights, only when one env holds all the traffic; `false` when the
/// traffic is split (kept on screen, waiting for the record, the config or the operator).
fn learn_live(s: &mut State, w: Weights) -> bool {
    // Only an env holding all the traffic is live by the weights; a split waits for the
    // record, the config, or the operator. A record (not over) decides on its own: one
    // that does not agree with the traffic leaves live unknown.
    let wall = s.wall_ms(s.now);
    let record_decides = s
        .traffic
        .record
        .as_ref()
        .is_some_and(|r| !r.window_over(wall));
    match w.all_on().filter(|_| !record_decides) {
        Some(live) => {
            s.cutover.live = live;
            s.traffic.live_known = true;
            s.traffic.live_from = Some(LiveFrom::AllTraffic);
            if std::mem::take(&mut s.view.ask_target) {
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
            s.traffic.weights = Some(w);
            s.traffic.weights_at = Some(s.now);
            return false;
        }
    }
    true
}

/// The weights changed with no write of ours in flight: a late write of ours whose outcome
/// was unknown, a pre-empted write landing after a rollback (undone), someone's write
/// through cutover (the record names them), or an external change (journaled by the driver).
fn explain_change(s: &mut State, w: Weights) -> Vec<Effect> {
    let cand = s.candidate();
    let new_share = w.share_of(cand);
    // A write whose outcome was unknown, landing late: its own, never "someone else".
    if let Some(pos) = s
        .writes
        .unknown
        .iter()
        .position(|u| Some(u.share) == new_share)
    {
        return late_landing(s, pos, w);
    }
    // Our own write in flight to that share (a cold rollback's step) is no late one.
    let ours = s
        .writes
        .in_flight
        .iter()
        .any(|w| Some(w.share) == new_share);
    if s.writes.rollback_guard_until.is_some() && new_share != Some(0) && !ours {
        s.log(
            Level::Warn,
            format!("a pre-empted write landed after the rollback ({w}): rolling back again"),
        );
        observe(s, w);
        return rollback(s, WriteAction::Rollback);
    }
    let old = s
        .cutover
        .share
        .map_or_else(|| "?".into(), |p| p.to_string());
    let new = new_share.map_or_else(|| "?".into(), |p| p.to_string());
    let before = s.traffic.weights;
    observe(s, w);
    // Made through cutover by someone else: the record names them.
    let named = said_by_record(s, &old, &new, w);
    // Whoever made it, clients keep the old answer for its tail (a DNS TTL).
    if let Some(tail) = s.traffic.propagation {
        super::writes::propagating(s, tail);
    }
    if named {
        return Vec::new();
    }
    // Their record update lands after their read-back: the record read with the next
    // poll says whether it was theirs. Traffic is shown as read meanwhile.
    s.log(
        Level::Warn,
        format!(
            "traffic moved: {cand} {old} → {new} % ({w}), read back from the backend, not by this cutover; asking the cutover record who …"
        ),
    );
    s.traffic.unexplained = Some(Unexplained {
        before,
        after: w,
        old,
        new,
    });
    Vec::new()
}

/// Says who made the change to `w` when the cutover record names them (a write through
/// cutover by another terminal or the CLI, within the last minute); `false` when it does not.
fn said_by_record(s: &mut State, old: &str, new: &str, w: Weights) -> bool {
    let cand = s.candidate();
    let wall = s.wall_ms(s.now);
    // Only when the weights are what that write asked for: anything else is external.
    let by_record = s
        .traffic
        .record
        .as_ref()
        .filter(|r| r.live == s.live() && w.share_of(cand) == Some(r.pos))
        .and_then(|r| r.last.clone())
        .filter(|l| {
            wall.saturating_sub(l.at) <= 60_000
                && l.pid != Some(s.settings.pid)
                && s.traffic.attributed_at != Some(l.at)
        });
    let Some(l) = by_record else {
        return false;
    };
    s.traffic.attributed_at = Some(l.at);
    let rollback = WriteAction::from(l.action.as_str()).is_rollback();
    let verb = if rollback {
        "rolled back".to_string()
    } else {
        format!("made a {}", l.action)
    };
    s.log(
        if rollback { Level::Warn } else { Level::Info },
        format!(
            "{} {verb}: {cand} {old} → {new} % ({w}), read back from the backend",
            l.who
        ),
    );
    s.traffic.moved_by_rollback = rollback;
    true
}

/// The change seen at the last poll that nobody was named for, decided by the record read
/// since: someone's write through cutover, else external (the driver journals it).
fn attribute(s: &mut State) -> Vec<Effect> {
    let Some(u) = s.traffic.unexplained.take() else {
        return Vec::new();
    };
    let moved = u.after.share_of(s.candidate()) != s.cutover.share;
    if moved {
        // Traffic moved again since: the newer change is explained on its own.
        return Vec::new();
    }
    if said_by_record(s, &u.old, &u.new, u.after) {
        return Vec::new();
    }
    let cand = s.candidate();
    let (old, new, w) = (&u.old, &u.new, u.after);
    if s.lease.role != Role::Driver {
        // Not a write made through cutover (the record would name it): said, and left
        // to the driver's cockpit to journal.
        s.log(
            Level::Warn,
            format!(
                "change not made through cutover: {cand} {old} → {new} % ({w}), read back from the backend"
            ),
        );
        return Vec::new();
    }
    s.log(
        Level::Warn,
        format!("external change: {cand} {old} → {new} % ({w}), not made by this cutover"),
    );
    let text = s.last_event().to_string();
    vec![
        Effect::JournalExternal {
            before: u.before,
            after: w,
        },
        Effect::Notify {
            event: "external-change".into(),
            text,
        },
    ]
}

pub(super) fn observe(s: &mut State, w: Weights) {
    s.traffic.weights = Some(w);
    s.traffic.weights_at = Some(s.now);
    let share = w.share_of(s.candidate());
    if share != s.cutover.share {
        s.traffic.share_changed_at = s.now;
        // A move from a known share: windowed values settle, the new step's bake starts.
        if s.cutover.share.is_some() && share.is_some() {
            s.traffic.moved_at = Some(s.now);
            s.traffic.moved_by_rollback = false;
            s.traffic.bake_since = Some(s.now);
        }
    }
    let was_window = s.cutover.window_started.is_some();
    s.cutover.observe(share, s.now);
    if share != Some(100) && s.window.held.take().is_some() {
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

/// Unknown write number `pos` landed late: journaled as its own; after a rollback, undone.
fn late_landing(s: &mut State, pos: usize, w: Weights) -> Vec<Effect> {
    let new_share = w.share_of(s.candidate());
    let u = s.writes.unknown.remove(pos);
    let late = s.now.saturating_sub(s.writes.last_write_done) as f64 / 1000.0;
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
        effects.extend(rollback(s, WriteAction::Rollback));
        return effects;
    }
    s.log(Level::Warn, reason.clone());
    if s.writes
        .failed
        .as_ref()
        .is_some_and(|b| b.rollback == u.rollback)
    {
        s.writes.failed = None;
    }
    observe(s, w);
    vec![Effect::JournalLate {
        write: u.id,
        after: w,
        reason,
    }]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::update::testkit::*;

    #[test]
    fn a_record_rewritten_mid_cutover_to_name_the_other_env_is_not_followed() {
        let mut s = state(50);
        let wall = s.wall_ms(0);
        let ours = crate::core::Record::new(Env::Blue, "alice@h", wall);
        update(
            &mut s,
            Event::RecordRead {
                now: 100,
                result: Ok(Some(ours)),
            },
        );
        let forged = crate::core::Record::new(Env::Green, "mallory@evil", wall + 100);
        update(
            &mut s,
            Event::RecordRead {
                now: 200,
                result: Ok(Some(forged.clone())),
            },
        );
        assert_eq!(s.live(), Env::Blue, "not followed while traffic is split");
        assert!(
            !s.said("mallory"),
            "the weights were read before the record: the next read decides"
        );
        update(
            &mut s,
            Event::BackendRead {
                started: 250,
                now: 260,
                result: Ok(Weights::new(50, 50)),
            },
        );
        assert_eq!(s.live(), Env::Blue);
        assert!(
            s.last_event()
                .starts_with("the cutover record now says green is live (by mallory@evil"),
            "{}",
            s.last_event()
        );
        let said = s.view.events.len();
        update(
            &mut s,
            Event::RecordRead {
                now: 300,
                result: Ok(Some(forged)),
            },
        );
        assert_eq!(s.view.events.len(), said, "said once");
        let e = key(&mut s, KeyCode::Char('r'));
        assert!(
            matches!(e.as_slice(), [Effect::Write(o)] if o.rollback && o.live == Env::Blue),
            "the rollback still goes to blue: {e:?}"
        );
    }

    fn read(s: &mut State, now: Millis, w: Weights) -> Vec<Effect> {
        update(
            s,
            Event::BackendRead {
                started: now,
                now,
                result: Ok(w),
            },
        )
    }

    fn record(s: &mut State, now: Millis, r: &crate::core::Record) -> Vec<Effect> {
        update(
            s,
            Event::RecordRead {
                now,
                result: Ok(Some(r.clone())),
            },
        )
    }

    /// A cockpit that watched a cutover rolled back to all-blue: the record and the
    /// weights agree that blue is live.
    fn rolled_back_to_blue() -> (State, i64) {
        let mut s = unread();
        let wall = s.wall_ms(0);
        let rec = crate::core::Record::new(Env::Blue, "alice@h", wall)
            .with_flight("9-1", 0, "alice@h", "rollback", wall)
            .landed();
        read(&mut s, 0, Weights::new(100, 0));
        record(&mut s, 10, &rec);
        read(&mut s, 1_000, Weights::new(100, 0));
        assert_eq!(s.live(), Env::Blue);
        (s, wall)
    }

    #[test]
    fn a_record_rewritten_after_a_rollback_is_never_followed_by_one_who_watched() {
        use crate::core::Record;
        for pos in [50, 100, 0] {
            let (mut s, wall) = rolled_back_to_blue();
            // Rewritten to say green is live, with blue (holding everything) at `pos`.
            let forged = Record {
                pos,
                ..Record::new(Env::Green, "mallory@evil", wall + 1_500)
            };
            record(&mut s, 1_500, &forged);
            read(&mut s, 2_000, Weights::new(100, 0));
            assert_eq!(s.live(), Env::Blue, "pos {pos}");
            assert!(
                s.said("the cutover record now says green is live (by mallory@evil"),
                "pos {pos}: {}",
                s.last_event()
            );
            assert!(s.said("but blue was live here and the backend reads blue 100 / green 0"));
            let e = key(&mut s, KeyCode::Char('r'));
            assert!(
                matches!(e.as_slice(), [Effect::Write(o)] if o.rollback && o.live == Env::Blue && o.target_chosen),
                "pos {pos}: to blue, and the record names blue once it reads back: {e:?}"
            );
            for _ in 0..2 {
                let e = key(&mut s, KeyCode::Char('r'));
                assert!(
                    writes_only_toward(&e, Env::Blue),
                    "pos {pos}: never towards green: {e:?}"
                );
            }
            // Nothing steps forward on it either.
            fresh_signals(&mut s, 2_000);
            let e = key(&mut s, KeyCode::Right);
            assert!(writes_only_toward(&e, Env::Blue), "{e:?}");
        }
    }

    #[test]
    fn a_record_naming_the_env_that_now_holds_everything_is_followed_once_read_back() {
        // Carol ran `rollback --to green` elsewhere: her record update follows her
        // read-back, so it may be read before the weights show it. Nothing is said
        // against it; the next read follows it.
        let (mut s, wall) = rolled_back_to_blue();
        let carol = crate::core::Record::new(Env::Green, "carol@h", wall + 1_500)
            .with_flight("7-1", 0, "carol@h", "rollback", wall + 1_500)
            .landed();
        record(&mut s, 1_500, &carol);
        assert_eq!(
            s.live(),
            Env::Blue,
            "not yet: blue held everything when last read"
        );
        assert!(!s.said("carol@h is live") && !s.said("not followed"));
        read(&mut s, 2_000, Weights::new(0, 100));
        assert_eq!(
            (s.live(), s.traffic.live_from),
            (Env::Green, Some(LiveFrom::Record))
        );
        assert!(!s.said("not followed"), "{:?}", s.view.events);
        assert!(
            !s.said("rollback window"),
            "the weights shown before are not read as blue promoted: {:?}",
            s.view.events
        );
        assert!(
            s.said("carol@h rolled back: blue 100 → 0 %"),
            "{:?}",
            s.view.events
        );
        assert_eq!(s.cutover.share, Some(0));
        let e = key(&mut s, KeyCode::Char('r'));
        assert!(writes_only_toward(&e, Env::Green), "{e:?}");
    }

    #[test]
    fn the_disputed_cutover_is_not_followed_when_traffic_moves_where_it_says() {
        // A CLI that had only the rewritten record to go by rolled back to green: the
        // record it updated is the same cutover, now with traffic where it says. This
        // cockpit saw blue live: green at 100 % is the candidate, and `r` goes to blue.
        use crate::core::Record;
        let (mut s, wall) = rolled_back_to_blue();
        let forged = Record {
            pos: 50,
            ..Record::new(Env::Green, "mallory@evil", wall + 1_500)
        };
        record(&mut s, 1_500, &forged);
        read(&mut s, 2_000, Weights::new(100, 0));
        assert!(s.traffic.disputed.is_some());
        let followed = forged
            .with_flight("5-1", 0, "root@h", "rollback", wall + 2_500)
            .landed();
        read(&mut s, 2_500, Weights::new(0, 100));
        record(&mut s, 2_600, &followed);
        read(&mut s, 3_000, Weights::new(0, 100));
        assert_eq!(s.live(), Env::Blue, "{:?}", s.view.events);
        assert_eq!(s.cutover.share, Some(100));
        let e = key(&mut s, KeyCode::Char('r'));
        assert!(
            matches!(e.as_slice(), [Effect::Write(o)] if o.rollback && o.live == Env::Blue),
            "{e:?}"
        );
    }

    #[test]
    fn a_record_naming_the_promoted_candidate_live_is_not_followed_inside_the_window() {
        use crate::core::Record;
        let mut s = state(100);
        let wall = s.wall_ms(0);
        let ours = Record {
            pos: 100,
            end: Some(wall + 900_000),
            ..Record::new(Env::Blue, "alice@h", wall)
        };
        record(&mut s, 10, &ours);
        read(&mut s, 500, Weights::new(0, 100));
        assert!(s.cutover.window_started.is_some());
        let forged = Record::new(Env::Green, "mallory@h", wall + 1_000);
        record(&mut s, 1_000, &forged);
        read(&mut s, 1_500, Weights::new(0, 100));
        assert_eq!(s.live(), Env::Blue, "{:?}", s.view.events);
        assert!(s.said("the cutover record now says green is live (by mallory@h"));
        assert!(s.cutover.window_started.is_some(), "the window still runs");
        let e = key(&mut s, KeyCode::Char('r'));
        assert!(
            matches!(e.as_slice(), [Effect::Write(o)] if o.rollback && o.live == Env::Blue),
            "{e:?}"
        );
    }

    #[test]
    fn a_cockpit_started_on_a_record_the_traffic_contradicts_asks() {
        use crate::core::Record;
        let forged = |s: &State| Record {
            pos: 50,
            ..Record::new(Env::Green, "mallory@evil", s.wall_ms(0))
        };
        // The weights first (blue holds everything), then the record.
        let mut a = unread();
        read(&mut a, 0, Weights::new(100, 0));
        assert!(a.traffic.live_known);
        let r = forged(&a);
        record(&mut a, 10, &r);
        read(&mut a, 1_000, Weights::new(100, 0));
        // The record first, then the weights.
        let mut b = unread();
        let r = forged(&b);
        record(&mut b, 0, &r);
        assert_eq!(b.live(), Env::Green, "nothing else to go by yet");
        assert!(b.said("it is weighed against the traffic once the backend is read"));
        read(&mut b, 10, Weights::new(100, 0));
        assert!(
            !b.said("live is green"),
            "never said, then taken back: {:?}",
            b.view.events
        );
        for s in [&mut a, &mut b] {
            assert!(!s.traffic.live_known, "{:?}", s.view.events);
            assert!(
                s.said(
                    "the cutover record says green is live with blue at 50 % (started by mallory@evil), but the backend reads blue at 100 % (blue 100 / green 0): the record does not agree with the traffic and is not followed: nothing guesses who is live"
                ),
                "{:?}",
                s.view.events
            );
            read(s, 2_000, Weights::new(100, 0));
            assert!(
                !s.traffic.live_known,
                "the weights alone do not decide either"
            );
            assert!(key(s, KeyCode::Char('r')).is_empty());
            assert!(s.view.ask_target);
            assert!(
                s.last_event().starts_with(
                    "ROLLBACK: the cutover record (green live, blue at 50 %) does not agree with the traffic read back (blue 100 / green 0): b sends all traffic to blue"
                ),
                "{}",
                s.last_event()
            );
            let e = key(s, KeyCode::Char('b'));
            assert!(
                matches!(e.as_slice(), [Effect::Write(o)] if o.rollback && o.live == Env::Blue && o.target_chosen),
                "the choice replaces the record once it reads back: {e:?}"
            );
        }
        // A record that agrees is followed at once.
        let mut c = unread();
        read(&mut c, 0, Weights::new(50, 50));
        let r = forged(&c);
        record(&mut c, 10, &r);
        assert_eq!(
            (c.traffic.live_known, c.live()),
            (true, Env::Green),
            "{:?}",
            c.view.events
        );
    }

    #[test]
    fn an_unknown_write_that_never_landed_is_said_so_and_no_longer_watched() {
        let (mut s, _) = step_unknown();
        let read = |s: &mut State, now: Millis| {
            update(
                s,
                Event::BackendRead {
                    started: now,
                    now,
                    result: Ok(Weights::new(90, 10)),
                },
            )
        };
        read(&mut s, 30_000);
        assert_eq!(
            s.writes.unknown.len(),
            1,
            "still watched: it may still land"
        );
        read(&mut s, 62_000);
        assert!(s.writes.unknown.is_empty());
        assert!(
            s.last_event().starts_with(
                "STEP → 50 % DID NOT LAND: a minute after it was sent the backend reads green 10 %"
            ),
            "{}",
            s.last_event()
        );
        let banner = s.writes.failed.as_ref().unwrap();
        assert!(
            banner.text.starts_with("STEP DID NOT LAND"),
            "{}",
            banner.text
        );
        assert!(!banner.text.contains("may still land"), "{}", banner.text);
    }

    #[test]
    fn a_change_made_elsewhere_has_its_dns_tail_and_a_lower_ttl_never_shortens_it() {
        let mut s = state(10);
        update(
            &mut s,
            Event::Propagation {
                tail: Some(std::time::Duration::from_secs(3600)),
            },
        );
        update(
            &mut s,
            Event::BackendRead {
                started: 100,
                now: 100,
                result: Ok(Weights::new(100, 0)),
            },
        );
        assert_eq!(
            s.traffic.tail_until,
            Some(100 + 3_600_000),
            "someone's rollback"
        );
        // The TTL is lowered to 60 s; the next change's tail does not cut the hour short.
        update(
            &mut s,
            Event::Propagation {
                tail: Some(std::time::Duration::from_secs(60)),
            },
        );
        update(
            &mut s,
            Event::BackendRead {
                started: 200,
                now: 200,
                result: Ok(Weights::new(90, 10)),
            },
        );
        assert_eq!(s.traffic.tail_until, Some(100 + 3_600_000));
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
        // Shown at once; who made it waits for the record read with the next poll.
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(s.cutover.share, Some(80));
        assert!(
            s.last_event()
                .starts_with("traffic moved: green 10 → 80 % (blue 20 / green 80)"),
            "{}",
            s.last_event()
        );
        let e = update(
            &mut s,
            Event::RecordRead {
                now: 150,
                result: Ok(None),
            },
        );
        assert!(
            matches!(
                e.as_slice(),
                [Effect::JournalExternal { .. }, Effect::Notify { event, .. }] if event == "external-change"
            ),
            "{e:?}"
        );
        assert!(s.last_event().contains("external change"));
        assert!(!s.traffic.moved_by_rollback);
        assert!(s.traffic.unexplained.is_none());
        // A balancer restarted to its config's weights: back to 0 %, but not a rollback.
        update(
            &mut s,
            Event::BackendRead {
                started: 200,
                now: 200,
                result: Ok(Weights::new(100, 0)),
            },
        );
        assert_eq!(s.traffic.moved_at, Some(200));
        assert!(
            !s.traffic.moved_by_rollback,
            "nobody rolled back: the screen says 'moved to 0 %'"
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
    fn live_is_read_from_the_backend_when_not_configured() {
        let mut s = unread();
        assert!(
            key(&mut s, KeyCode::Char('r')).is_empty(),
            "no rollback target before live is known"
        );
        assert!(s.view.ask_target, "it asks where all traffic goes");
        update(
            &mut s,
            Event::BackendRead {
                started: 0,
                now: 1,
                result: Ok(Weights::new(0, 100)),
            },
        );
        assert!(s.traffic.live_known);
        assert_eq!(s.live(), Env::Green);
        assert_eq!(s.cutover.share, Some(0));
        fresh_signals(&mut s, 1);
        assert_eq!(shares(&key(&mut s, KeyCode::Right)), vec![(10, false)]);
    }

    #[test]
    #[allow(clippy::too_many_lines)] // one scenario, told from start to end
    fn the_record_names_live_and_who_wrote_and_a_late_write_is_its_own() {
        let mut s = unread();
        s.settings.driver = "alice@h".into();
        let wall = s.wall_ms(0);
        let rec = crate::core::Record {
            pos: 80,
            ..crate::core::Record::new(Env::Green, "bob@h", wall)
        };
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
            (s.live(), s.traffic.live_from),
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
                result: Ok(Some(rec.clone())),
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
            s.last_event()
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
        assert!(e.is_empty(), "{e:?}");
        let e = update(
            &mut s,
            Event::RecordRead {
                now: 3_500,
                result: Ok(Some(rec.clone())),
            },
        );
        assert!(
            matches!(e.first(), Some(Effect::JournalExternal { .. })),
            "{e:?}"
        );
        assert!(s.last_event().starts_with("external change: blue 0 → 50 %"));
        // Dave rolls back from another cockpit: the weights are read before his record
        // update lands (it follows his read-back). Not external: the next record read
        // names him.
        let e = update(
            &mut s,
            Event::BackendRead {
                started: 4_000,
                now: 4_000,
                result: Ok(Weights::new(0, 100)),
            },
        );
        assert!(e.is_empty(), "{e:?}");
        let dave = rec
            .clone()
            .with_flight("8-1", 0, "dave@h", "rollback", wall + 4_000)
            .landed();
        let e = update(
            &mut s,
            Event::RecordRead {
                now: 5_000,
                result: Ok(Some(dave)),
            },
        );
        assert!(e.is_empty(), "not journaled as external: {e:?}");
        assert!(
            s.last_event()
                .starts_with("dave@h rolled back: blue 50 → 0 %"),
            "{}",
            s.last_event()
        );
        assert!(s.traffic.moved_by_rollback);

        // A write whose outcome was unknown, landing late, is attributed to itself.
        let (mut s, id) = step_unknown();
        assert!(
            s.writes
                .failed
                .as_ref()
                .unwrap()
                .text
                .contains("OUTCOME UNKNOWN")
        );
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
        let t = &s.last_event();
        assert!(
            t.starts_with("late: the write (step → 50 %) landed 3.1 s after"),
            "{t}"
        );
        assert!(s.writes.failed.is_none() && s.writes.unknown.is_empty());

        // Unknown, then a rollback, then the step lands after all: rolled back again.
        let (mut s, _) = step_unknown();
        let e = key(&mut s, KeyCode::Char('r'));
        assert!(
            s.last_event().contains("ROLLBACK green 10 → 0 %"),
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
        assert!(s.said("after a rollback: rolling back again"));
    }

    #[test]
    fn an_observer_follows_the_drivers_completion_when_the_record_is_cleared() {
        let mut s = state(100);
        s.lease.role = Role::Observer;
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
        assert!(s.window.completed.is_some());
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
        assert_eq!(e, vec![Effect::Record(RecordOp::Restore(Box::new(rec)))]);
        assert_eq!(s.live(), Env::Blue);
        // An observer does not write it.
        let mut s = state(50);
        s.lease.role = Role::Observer;
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
}
