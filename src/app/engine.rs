//! The write engine shared by the TUI and the CLI: journal the intent, write, read back,
//! verify, journal the result. On failure the state is re-read from the backend.

use super::journal::{CandidateSnapshot, Entry, Journal, Phase, Who, WriteAction, timestamp};
use super::lease::wall_ms;
use super::record::{self, Approved, Intent};
use crate::backends::{Backend, BackendError, Switch};
use crate::core::{Env, Weights};
use std::time::Instant;

/// One write to perform.
#[derive(Clone, Debug, PartialEq)]
pub struct WriteOrder {
    pub id: u64,
    pub share: u8,
    pub live: Env,
    pub rollback: bool,
    /// `step`, `back`, `set`, `promote`, `rollback`, `auto-rollback`, `revert`.
    pub action: WriteAction,
    /// `tui` or `cli`.
    pub source: String,
    pub before: Option<Weights>,
    pub candidate: CandidateSnapshot,
    /// Why, when cutover decided it itself (an auto-rollback and what tripped it).
    pub reason: Option<String>,
    /// Who held the driver lease when this was ordered, when it was someone else (an
    /// observer's or the CLI's rollback).
    pub driver: Option<String>,
    /// The rollback window's length: a verified promotion records its end.
    pub window_ms: u64,
    /// The driver lease this forward write is made under: checked at the backend just
    /// before the write (a lease lost since the last renewal refuses it). `None`: unchecked
    /// (a rollback never needs one).
    pub lease_token: Option<String>,
    /// The operator named the rollback target just now (`rollback --to`): once the rollback
    /// reads back, the record is made to name it, whatever it said before.
    pub target_chosen: bool,
    /// A forward write: the candidate's share it was ordered from (what the operator saw,
    /// or what their own write before it asked for). Traffic found elsewhere just before
    /// the write (someone rolled back meanwhile) refuses it. `None`: not checked.
    pub expect: Option<u8>,
    /// What the operator confirmed this forward write over (a failed pre-flight, a breach):
    /// journaled just before the call, only when the write goes out (a step refused at the
    /// backend overrode nothing).
    pub notes: Vec<(Phase, String)>,
    /// The database's schema baseline (`[schema]`, as last read): recorded when this write
    /// begins a cutover, so that every cockpit judges migrations against the schema the
    /// live env served on.
    pub schema: Option<String>,
    /// This forward write needs another person's approval (`[approval]`), found in the
    /// cutover record when the write begins (and consumed by it), or it is refused.
    pub approval: Option<crate::core::approval::Need>,
    /// This writer's `[approval]` rules, recorded when this write begins a cutover.
    pub rules: Vec<crate::core::approval::Need>,
}

/// How a write ended.
#[derive(Clone, Debug, PartialEq)]
pub enum WriteResult {
    /// Read back and equal to the target.
    Verified { after: Weights, elapsed_ms: u64 },
    /// The call succeeded but the read-back differs.
    Unverified { after: Weights, elapsed_ms: u64 },
    /// The call failed; `after` is the state re-read, when it could be.
    Failed {
        error: String,
        after: Option<Weights>,
    },
    /// Sent and not answered (a timeout, a hung reload): it may still land. `after` is the
    /// state re-read, when it could be.
    Unknown {
        error: String,
        after: Option<Weights>,
    },
    /// Refused before the backend call (no journal line, no record): traffic untouched.
    Refused { reason: String },
    /// Cancelled before it finished, because a rollback pre-empted it.
    Aborted,
}

/// A result as the diagnostic log says it: `verified blue 90 / green 10 in 12 ms`.
impl std::fmt::Display for WriteResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let reread = |after: &Option<Weights>| {
            after.map_or_else(
                || "state not re-read".to_string(),
                |w| format!("re-read {w}"),
            )
        };
        match self {
            WriteResult::Verified { after, elapsed_ms } => {
                write!(f, "verified {after} in {elapsed_ms} ms")
            }
            WriteResult::Unverified { after, elapsed_ms } => {
                write!(f, "NOT verified: read back {after} after {elapsed_ms} ms")
            }
            WriteResult::Failed { error, after } => {
                write!(f, "FAILED: {error} ({})", reread(after))
            }
            WriteResult::Unknown { error, after } => {
                write!(f, "outcome UNKNOWN: {error} ({})", reread(after))
            }
            WriteResult::Refused { reason } => write!(f, "refused before the call: {reason}"),
            WriteResult::Aborted => f.write_str("aborted: a rollback pre-empted it"),
        }
    }
}

impl WriteResult {
    pub fn after(&self) -> Option<Weights> {
        match self {
            WriteResult::Verified { after, .. } | WriteResult::Unverified { after, .. } => {
                Some(*after)
            }
            WriteResult::Failed { after, .. } | WriteResult::Unknown { after, .. } => *after,
            WriteResult::Refused { .. } | WriteResult::Aborted => None,
        }
    }
}

/// A write's result, and what could not be done around it.
#[derive(Clone, Debug, PartialEq)]
pub struct Applied {
    pub result: WriteResult,
    /// The journal could not be written (a rollback goes ahead all the same).
    pub journal_error: Option<String>,
    /// The cutover record could not be updated after the write.
    pub record_error: Option<String>,
}

impl WriteOrder {
    /// Not a write: a journal note's order (its action repeats its phase), for the line's
    /// fields; the caller sets what it knows (before, the candidate, the reason).
    pub fn note(live: Env, phase: &Phase, source: &str) -> WriteOrder {
        WriteOrder {
            id: 0,
            share: 0,
            live,
            rollback: false,
            action: WriteAction::Note(phase.clone()),
            source: source.into(),
            before: None,
            candidate: CandidateSnapshot::default(),
            reason: None,
            driver: None,
            window_ms: 0,
            lease_token: None,
            target_chosen: false,
            expect: None,
            notes: Vec::new(),
            schema: None,
            approval: None,
            rules: Vec::new(),
        }
    }
}

/// A journal entry for `order` in `phase`.
pub fn entry(order: &WriteOrder, backend: &dyn Backend, phase: Phase, who: &Who) -> Entry {
    let scale = backend.capabilities().scale;
    let cand = order.live.other();
    Entry {
        ts: timestamp(),
        phase,
        write: write_id(order),
        who: who.clone(),
        source: order.source.clone(),
        action: order.action.clone(),
        backend: format!("{} {}", backend.kind(), backend.target()),
        live: order.live,
        share_before: order.before.and_then(|w| w.share_of(cand)),
        share_target: Some(order.share),
        before: order.before,
        target: Some(Weights::for_share(cand, order.share, scale)),
        after: None,
        share_after: None,
        verified: None,
        elapsed_ms: None,
        error: None,
        reason: order.reason.clone(),
        driver: order.driver.clone(),
        candidate: order.candidate.clone(),
    }
}

/// The journal's id of a write: this process and its number.
pub fn write_id(order: &WriteOrder) -> String {
    format!("{}-{}", std::process::id(), order.id)
}

/// Performs `order` against `backend`. The intent is journaled (and fsynced) first, and for
/// a forward write the cutover record marks it in flight: if either cannot be written the
/// forward write is refused and traffic is untouched. A rollback goes ahead whatever, and
/// says what it could not do. Then write, read back, verify, journal the result, and update
/// the record.
pub async fn apply(
    backend: &dyn Switch,
    journal: &Journal,
    who: &Who,
    order: &WriteOrder,
) -> Applied {
    apply_reporting(backend, journal, who, order, |_| {}).await
}

/// [`apply`], telling `report` the result as soon as it is known: read back and its journal
/// line written, before that line's fsync and the record's update (what is returned then
/// adds what could not be done in those). Not called for a write refused before the call.
///
/// A rollback's intent line is written before the call and fsynced beside it: the
/// rollback goes out whatever the journal says, so it does not wait for the disk (the line
/// is in the kernel before the call, so it survives cutover dying; only a power cut within
/// that fsync can lose it). A forward write waits: no intent on disk, no write.
pub async fn apply_reporting(
    backend: &dyn Switch,
    journal: &Journal,
    who: &Who,
    order: &WriteOrder,
    report: impl FnOnce(&Applied),
) -> Applied {
    let cand = order.live.other();
    let target = Weights::for_share(cand, order.share, backend.capabilities().scale);
    let mut out = Applied {
        result: WriteResult::Aborted,
        journal_error: None,
        record_error: None,
    };
    let said = |err: std::io::Error| format!("journal {}: {err}", journal.path().display());
    let mut e = entry(order, backend, Phase::Intent, who);
    let mut intent_sync = None;
    if order.rollback {
        match journal.append_unsynced(&e) {
            Ok(f) => intent_sync = Some(tokio::task::spawn_blocking(move || f.sync_data())),
            Err(err) => out.journal_error = Some(said(err)),
        }
    } else if let Err(err) = journal.append(&e) {
        out.result = WriteResult::Refused {
            reason: format!(
                "not written: the intent could not be journaled ({})",
                said(err)
            ),
        };
        return out;
    }
    let id = write_id(order);
    let begun = wall_ms();
    let intent = |now| Intent {
        live: order.live,
        who: &who.user,
        action: &order.action,
        chosen: order.target_chosen,
        id: &id,
        share: order.share,
        now,
        begun,
        schema: order.schema.as_deref(),
        approval: order.approval,
        rules: &order.rules,
        overrides: !order.rollback && (!order.notes.is_empty() || order.reason.is_some()),
    };
    let approved = match forward_refusal(backend, order, &intent(wall_ms())).await {
        Ok(a) => a,
        Err(why) => return refused(journal, e, out, &why),
    };
    journal_notes(journal, &e, order, approved.as_ref());
    let t = Instant::now();
    let written = send(backend, order, target).await;
    let result = read_back(backend, written, order, t).await;
    let result = if order.rollback {
        result
    } else {
        undo_if_rolled_back(backend, cand, begun, result).await
    };
    e.ts = timestamp();
    e.elapsed_ms = Some(t.elapsed().as_millis() as u64);
    result_into(&mut e, &result, cand);
    let result_sync = match journal.append_unsynced(&e) {
        Ok(f) => Some(f),
        Err(err) => {
            let m = said(err);
            log::error!("{m}");
            out.journal_error.get_or_insert(m);
            None
        }
    };
    out.result = result;
    report(&out);
    // The lines' fsyncs and the record's update, side by side.
    let syncs = synced(
        journal,
        [
            intent_sync,
            result_sync.map(|f| tokio::task::spawn_blocking(move || f.sync_data())),
        ],
    );
    // The record: nothing in flight any more unless the outcome is unknown.
    let record = async {
        if matches!(out.result, WriteResult::Unknown { .. }) && !order.rollback {
            return None;
        }
        let now = wall_ms();
        let landed = out.result.after().and_then(|w| w.share_of(cand));
        let end = now.saturating_add(i64::try_from(order.window_ms).unwrap_or(i64::MAX));
        record::finish(backend, &intent(now), order.rollback, landed, Some(end))
            .await
            .err()
    };
    let (journal_error, record_error) = futures::join!(syncs, record);
    if let Some(e) = journal_error {
        out.journal_error.get_or_insert(e);
    }
    out.record_error = out.record_error.or(record_error);
    out
}

/// A forward write refused before the call: journaled as such.
fn refused(journal: &Journal, mut e: Entry, mut out: Applied, why: &str) -> Applied {
    let reason = format!("not written: {why}");
    e.ts = timestamp();
    e.phase = Phase::Refused;
    e.error = Some(reason.clone());
    journal_append(journal, &e, &mut out);
    out.result = WriteResult::Refused { reason };
    out
}

/// Waits for the journal's fsyncs; what the first that failed said.
async fn synced(
    journal: &Journal,
    syncs: [Option<tokio::task::JoinHandle<std::io::Result<()>>>; 2],
) -> Option<String> {
    let mut failed = None;
    for sync in syncs.into_iter().flatten() {
        let why = match sync.await {
            Ok(Ok(())) => continue,
            Ok(Err(err)) => err.to_string(),
            Err(err) => format!("fsync: {err}"),
        };
        failed.get_or_insert_with(|| format!("journal {}: {why}", journal.path().display()));
    }
    failed
}

/// Why a forward write may not go out: the lease is no longer ours, or the record cannot
/// mark it in flight. A rollback is never refused.
async fn forward_refusal(
    backend: &dyn Switch,
    order: &WriteOrder,
    intent: &Intent<'_>,
) -> Result<Option<Approved>, String> {
    if order.rollback {
        return Ok(None);
    }
    if let Some(token) = &order.lease_token
        && let Some(why) = lease_lost(backend, token).await
    {
        return Err(why);
    }
    if let Some(why) = moved_since(backend, order).await {
        return Err(why);
    }
    record::begin(backend, intent)
        .await
        .map(|(_, approved)| approved)
        .map_err(|e| e.to_string())
}

/// Why a forward write was ordered from traffic that is no longer there: someone rolled
/// back (or moved it) between what the operator saw and now. A step from a stale view
/// would silently undo their rollback. `None`: traffic is where the order expects it.
async fn moved_since(backend: &dyn Switch, order: &WriteOrder) -> Option<String> {
    let expect = order.expect?;
    let cand = order.live.other();
    let now = match backend.read().await {
        Ok(w) => w,
        Err(e) => {
            return Some(format!(
                "the traffic could not be read just before the write: {e}"
            ));
        }
    };
    let found = now.share_of(cand);
    if found == Some(expect) {
        return None;
    }
    let found = found.map_or_else(|| "?".to_string(), |f| f.to_string());
    let by = match record::stored(backend).await {
        Ok((_, Some(r))) => r
            .last
            .filter(|l| WriteAction::from(l.action.as_str()).is_rollback())
            .map(|l| {
                format!(
                    "{} rolled back at {}: ",
                    l.who,
                    crate::app::words::hhmm(l.at)
                )
            }),
        _ => None,
    }
    .unwrap_or_default();
    Some(format!(
        "{by}{cand} is at {found} % ({now}), and this {} was ordered from {expect} %: traffic moved since; look again before moving it",
        order.action
    ))
}

/// What the operator confirmed a forward write over, journaled beside its intent just
/// before the call: made durable by the result line's fsync (the call does not wait).
fn journal_notes(
    journal: &Journal,
    intent: &Entry,
    order: &WriteOrder,
    approved: Option<&Approved>,
) {
    let approval = approved.map(|a| {
        (
            Phase::Approved,
            format!(
                "{} {} → {} % ({} needs a second person) asked by {}, approved by {} at {}",
                order.action,
                order.live.other(),
                order.share,
                a.need,
                a.asked_by,
                a.approved_by,
                crate::app::words::hhmm(a.at)
            ),
        )
    });
    for (phase, reason) in order.notes.iter().chain(approval.as_ref()) {
        let mut n = intent.clone();
        n.ts = timestamp();
        n.phase = phase.clone();
        n.reason = Some(reason.clone());
        if let Err(err) = journal.append_unsynced(&n) {
            log::error!("journal {}: {err}", journal.path().display());
        }
    }
}

/// The write itself; a rollback goes out urgently, with nothing before it (the record
/// names who rolled back once the write has read back, whatever its outcome).
async fn send(
    backend: &dyn Switch,
    order: &WriteOrder,
    target: Weights,
) -> Result<(), BackendError> {
    if order.rollback {
        backend.write_urgent(target).await
    } else {
        backend.write(target).await
    }
}

/// What the backend reads after the write: verified only when it reads the share asked for;
/// a timeout or a failed read-back is an unknown outcome, never a failure.
async fn read_back(
    backend: &dyn Switch,
    written: Result<(), BackendError>,
    order: &WriteOrder,
    t: Instant,
) -> WriteResult {
    let cand = order.live.other();
    match written {
        Ok(()) => match backend.read().await {
            Ok(after) => {
                let elapsed_ms = t.elapsed().as_millis() as u64;
                if after.share_of(cand) == Some(order.share) {
                    WriteResult::Verified { after, elapsed_ms }
                } else {
                    WriteResult::Unverified { after, elapsed_ms }
                }
            }
            Err(err) => WriteResult::Unknown {
                error: format!("written, but the read-back failed: {err}"),
                after: None,
            },
        },
        Err(err) if err.outcome_unknown() => WriteResult::Unknown {
            error: err.to_string(),
            after: backend.read().await.ok(),
        },
        Err(err) => WriteResult::Failed {
            error: err.to_string(),
            after: backend.read().await.ok(),
        },
    }
}

/// The result's journal line: phase, verdict, error, the weights read back.
fn result_into(e: &mut Entry, result: &WriteResult, cand: Env) {
    e.after = result.after();
    e.share_after = result.after().and_then(|w| w.share_of(cand));
    match result {
        WriteResult::Verified { .. } => {
            e.phase = Phase::Result;
            e.verified = Some(true);
        }
        WriteResult::Unverified { .. } => {
            e.phase = Phase::Result;
            e.verified = Some(false);
        }
        WriteResult::Failed { error, .. } => {
            e.phase = Phase::Failed;
            e.verified = Some(false);
            e.error = Some(error.clone());
        }
        WriteResult::Unknown { error, .. } => {
            e.phase = Phase::Unknown;
            e.error = Some(error.clone());
        }
        WriteResult::Refused { .. } | WriteResult::Aborted => {}
    }
}

/// A rollback made elsewhere (an observer, the CLI) while this forward write was in flight
/// wins: if the record says one came after this write began, the write is undone at once
/// and said so, never left to silently cancel the rollback.
async fn undo_if_rolled_back(
    backend: &dyn Switch,
    cand: Env,
    begun: i64,
    result: WriteResult,
) -> WriteResult {
    let Ok((_, Some(rec))) = record::stored(backend).await else {
        return result;
    };
    let Some(l) = rec.last.filter(|l| {
        WriteAction::from(l.action.as_str()).is_rollback()
            && l.at >= begun
            && l.pid != Some(std::process::id())
    }) else {
        return result;
    };
    let back = Weights::for_share(cand, 0, backend.capabilities().scale);
    let undone = backend.write_urgent(back).await;
    let after = backend.read().await.ok();
    WriteResult::Failed {
        error: match undone {
            Ok(()) => format!(
                "{} rolled back while this write was in flight: the write was undone so the rollback stands",
                l.who
            ),
            Err(e) => format!(
                "{} rolled back while this write was in flight, and undoing this write FAILED: {e}",
                l.who
            ),
        },
        after,
    }
}

/// Why the lease `token` is not held any more at the backend, if it is not.
async fn lease_lost(backend: &dyn Switch, token: &str) -> Option<String> {
    match backend.lease().await {
        Ok(Some(l)) if l.token == token && !l.expired(wall_ms()) => None,
        Ok(Some(l)) if l.token == token => Some("the driver lease lapsed".into()),
        Ok(Some(l)) => Some(format!(
            "the driver lease is no longer ours: {} holds it",
            l.holder
        )),
        Ok(None) => Some("the driver lease is no longer ours: nobody holds it".into()),
        Err(e) => Some(format!("the driver lease could not be checked: {e}")),
    }
}

fn journal_append(journal: &Journal, e: &Entry, out: &mut Applied) {
    if let Err(err) = journal.append(e) {
        log::error!("journal {}: {err}", journal.path().display());
        out.journal_error
            .get_or_insert_with(|| format!("journal {}: {err}", journal.path().display()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_read_as_words_in_the_diagnostic_log() {
        let w = Weights::new(90, 10);
        let cases = [
            (
                WriteResult::Verified {
                    after: w,
                    elapsed_ms: 12,
                },
                "verified blue 90 / green 10 in 12 ms",
            ),
            (
                WriteResult::Failed {
                    error: "disk full".into(),
                    after: None,
                },
                "FAILED: disk full (state not re-read)",
            ),
            (
                WriteResult::Unknown {
                    error: "timed out".into(),
                    after: Some(w),
                },
                "outcome UNKNOWN: timed out (re-read blue 90 / green 10)",
            ),
        ];
        for (r, want) in cases {
            assert_eq!(r.to_string(), want);
        }
    }
}
