//! The write engine shared by the TUI and the CLI: journal the intent, write, read back,
//! verify, journal the result. On failure the state is re-read from the backend.

use super::journal::{CandidateSnapshot, Entry, Journal, Who, timestamp};
use crate::backends::{Backend, Switch};
use crate::core::{Env, Weights};
use std::time::Instant;

/// One write to perform.
#[derive(Clone, Debug, PartialEq)]
pub struct WriteOrder {
    pub id: u64,
    pub share: u8,
    pub live: Env,
    pub rollback: bool,
    /// `step`, `back`, `set`, `promote`, `rollback`, `reassert`.
    pub action: String,
    /// `tui` or `cli`.
    pub source: String,
    pub before: Option<Weights>,
    pub candidate: CandidateSnapshot,
    /// Why, when cutover decided it itself (an auto-rollback and what tripped it).
    pub reason: Option<String>,
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
    /// Cancelled before it finished, because a rollback pre-empted it.
    Aborted,
}

impl WriteResult {
    pub fn after(&self) -> Option<Weights> {
        match self {
            WriteResult::Verified { after, .. } | WriteResult::Unverified { after, .. } => {
                Some(*after)
            }
            WriteResult::Failed { after, .. } => *after,
            WriteResult::Aborted => None,
        }
    }
}

/// A journal entry for `order` in `phase`.
pub fn entry(order: &WriteOrder, backend: &dyn Backend, phase: &str, who: &Who) -> Entry {
    let scale = backend.capabilities().scale;
    let cand = order.live.other();
    Entry {
        ts: timestamp(),
        phase: phase.into(),
        write: format!("{}-{}", std::process::id(), order.id),
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
        candidate: order.candidate.clone(),
    }
}

fn journal_append(journal: &Journal, e: &Entry) {
    if let Err(err) = journal.append(e) {
        log::error!("journal {}: {err}", journal.path().display());
    }
}

/// Performs `order` against `backend`: journal, write, read back, verify, journal.
pub async fn apply(
    backend: &dyn Switch,
    journal: &Journal,
    who: &Who,
    order: &WriteOrder,
) -> WriteResult {
    let cand = order.live.other();
    let target = Weights::for_share(cand, order.share, backend.capabilities().scale);
    let mut e = entry(order, backend, "intent", who);
    journal_append(journal, &e);
    let t = Instant::now();
    let written = if order.rollback {
        backend.write_urgent(target).await
    } else {
        backend.write(target).await
    };
    let result = match written {
        Ok(()) => match backend.read().await {
            Ok(after) => {
                let elapsed_ms = t.elapsed().as_millis() as u64;
                if after.share_of(cand) == Some(order.share) {
                    WriteResult::Verified { after, elapsed_ms }
                } else {
                    WriteResult::Unverified { after, elapsed_ms }
                }
            }
            Err(err) => WriteResult::Failed {
                error: format!("written, but the read-back failed: {err}"),
                after: None,
            },
        },
        Err(err) => WriteResult::Failed {
            error: err.to_string(),
            after: backend.read().await.ok(),
        },
    };
    e.ts = timestamp();
    e.elapsed_ms = Some(t.elapsed().as_millis() as u64);
    e.after = result.after();
    e.share_after = result.after().and_then(|w| w.share_of(cand));
    match &result {
        WriteResult::Verified { .. } => {
            e.phase = "result".into();
            e.verified = Some(true);
        }
        WriteResult::Unverified { .. } => {
            e.phase = "result".into();
            e.verified = Some(false);
        }
        WriteResult::Failed { error, .. } => {
            e.phase = "failed".into();
            e.verified = Some(false);
            e.error = Some(error.clone());
        }
        WriteResult::Aborted => {}
    }
    journal_append(journal, &e);
    result
}
