//! `cutover wait --for CONDITION`: a pipeline's watch. Reads the backend, the cutover record
//! and the signal sources every poll interval (never the local journal: it works from a CI
//! runner that never drove), prints one line per change, and exits 0 when the condition
//! holds, 1 on timeout, 3 when the cutover was rolled back while waiting for anything else,
//! 130 when interrupted.

use super::snapshot::{Snapshot, snapshot};
use super::status::facts_of;
use super::wiring::{connect, load_config};
use crate::app::journal::WriteAction;
use crate::app::lease;
use crate::cli::Cli;
use crate::config::Config;
use crate::core::wait::{Condition, Follow, Look, Verdict};
use std::process::ExitCode;
use std::time::Duration;
use tokio::time::Instant;

/// Exit code of a wait that saw a rollback instead of its condition.
pub const EXIT_ROLLED_BACK: u8 = 3;

/// `cutover wait --for CONDITION [--timeout D] [--json]`.
pub(super) async fn wait_cmd(
    cli: &Cli,
    until: Condition,
    timeout: Duration,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let config = load_config(cli)?;
    let (backend, sources) = connect(cli, &config).await?;
    // Ctrl-C or SIGTERM (a CI job cancelled): the last line says so, exit 130.
    let interrupted = async {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = async {
                match term.as_mut() {
                    Some(t) => { t.recv().await; }
                    None => std::future::pending::<()>().await,
                }
            } => {}
        }
    };
    tokio::select! {
        r = follow(&config, backend.as_ref(), &sources, (until, timeout, json)) => r,
        () = interrupted => {
            finish(json, until, "interrupted", &format!("✕ interrupted while waiting for {}", until.words()));
            Ok(ExitCode::from(EXIT_INTERRUPTED))
        }
    }
}

/// Exit code of a wait ended by Ctrl-C or SIGTERM (as the shell says for SIGINT).
pub const EXIT_INTERRUPTED: u8 = 130;

/// Looks every poll interval until the condition holds, a rollback ends it, or the time
/// is up.
async fn follow(
    config: &Config,
    backend: &dyn crate::backends::Backend,
    sources: &[std::sync::Arc<dyn crate::core::SignalSource>],
    (until, timeout, json): (Condition, Duration, bool),
) -> anyhow::Result<ExitCode> {
    let deadline = Instant::now() + timeout;
    let mut follow = Follow::new(until);
    let mut shown = String::new();
    let mut last_look: Option<Look> = None;
    loop {
        // One look is bounded by the sources' own timeouts; the deadline bounds it too.
        let left = deadline.saturating_duration_since(Instant::now());
        let snap = tokio::time::timeout(left, snapshot(config, backend, sources)).await;
        if let Ok(snap) = snap {
            let look = look_of(config, &snap, sources);
            let verdict = follow.judge(&look);
            let line = describe(&look, &snap);
            if line != shown {
                emit(
                    json,
                    until,
                    (&look, snap.weights.as_ref().err().map(String::as_str)),
                    &line,
                    verdict,
                );
                shown = line;
            }
            match verdict {
                Verdict::Holds => {
                    finish(json, until, "holds", &format!("✓ {}: holds", until.words()));
                    return Ok(ExitCode::SUCCESS);
                }
                Verdict::RolledBack => {
                    let by = look
                        .record()
                        .and_then(|r| r.last.as_ref())
                        .map_or_else(|| "someone".to_string(), |l| l.who.clone());
                    finish(
                        json,
                        until,
                        "rolled-back",
                        &format!("✕ rolled back by {by} while waiting for {}", until.words()),
                    );
                    return Ok(ExitCode::from(EXIT_ROLLED_BACK));
                }
                Verdict::Waiting => {}
            }
            last_look = Some(look);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            let still = last_look
                .as_ref()
                .map_or_else(|| "nothing answered in time".to_string(), |_| shown.clone());
            finish(
                json,
                until,
                "timeout",
                &format!(
                    "✕ timed out after {} waiting for {}: {still}",
                    humantime::format_duration(timeout),
                    until.words()
                ),
            );
            return Ok(ExitCode::FAILURE);
        }
        tokio::time::sleep(left.min(config.poll_interval)).await;
    }
}

/// What `wait` judges, from one snapshot.
fn look_of(
    config: &Config,
    snap: &Snapshot,
    sources: &[std::sync::Arc<dyn crate::core::SignalSource>],
) -> Look {
    let facts = facts_of(config, snap, sources);
    let record = snap.record.clone();
    let last_is_rollback = record
        .as_ref()
        .ok()
        .and_then(Option::as_ref)
        .and_then(|r| r.last.as_ref())
        .is_some_and(|l| WriteAction::from(l.action.as_str()).is_rollback());
    // A record that could not be read may name the other env as live: without it (and
    // without `live` in the config), all the traffic on one env says nothing of who is the
    // candidate.
    let live = if record.is_err() && config.live.is_none() {
        None
    } else {
        snap.live.map(|(e, _)| e)
    };
    Look {
        weights: snap.weights.as_ref().ok().copied(),
        record,
        live,
        guard: live.and(facts.guard_status),
        last_is_rollback,
        now: lease::wall_ms(),
    }
}

/// One line of what is: who is live, the candidate's share, the guardrails, the window,
/// the last write; unknown said as unknown. It changes only when one of them does.
fn describe(look: &Look, snap: &Snapshot) -> String {
    let mut parts = Vec::new();
    match &snap.weights {
        Err(e) => parts.push(format!("backend UNREADABLE: {}", words(e))),
        Ok(w) => match (look.live, look.candidate(), look.share()) {
            (Some(l), Some(c), Some(s)) => parts.push(format!("{l} live, {c} at {s} %")),
            _ => parts.push(format!("who is live is UNKNOWN (weights {w})")),
        },
    }
    match &look.record {
        Err(e) => parts.push(format!("record UNREADABLE: {}", words(e))),
        Ok(None) => parts.push("no cutover record".into()),
        Ok(Some(r)) => {
            if let Some(l) = &r.last {
                parts.push(format!("last: {} by {}", l.action, l.who));
            }
            if let Some(f) = &r.flight {
                parts.push(format!("a write to {} % in flight", f.share));
            }
            match r.end {
                Some(e) if r.window_over(look.now) => {
                    parts.push(format!("window over since {}", clock(e)));
                }
                Some(e) => parts.push(format!("window ends {}", clock(e))),
                None if look.share() == Some(100) => parts.push("window held".into()),
                None => {}
            }
        }
    }
    parts.push(format!("guardrails {}", look.guard.unwrap_or("unknown")));
    parts.join(" · ")
}

/// An error in at most 200 characters, cut at a word (the JSON line keeps it whole).
fn words(e: &str) -> String {
    const MAX: usize = 200;
    if e.chars().count() <= MAX {
        return e.to_string();
    }
    let cut: String = e.chars().take(MAX).collect();
    let at = cut.rfind(' ').unwrap_or(cut.len());
    format!("{}…", &cut[..at])
}

/// A unix-ms time as the local clock reads it.
fn clock(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(
        || "?".to_string(),
        |t| {
            t.with_timezone(&chrono::Local)
                .format("%H:%M:%S")
                .to_string()
        },
    )
}

/// The time now, for each line.
fn now_text() -> String {
    chrono::Local::now().format("%H:%M:%S").to_string()
}

/// One line per change: text, or one JSON object (`backend_error` whole).
fn emit(
    json: bool,
    until: Condition,
    (look, backend_error): (&Look, Option<&str>),
    line: &str,
    verdict: Verdict,
) {
    if json {
        let last = look
            .record()
            .and_then(|r| r.last.as_ref())
            .map(|l| serde_json::json!({"who": l.who, "action": l.action, "at_ms": l.at}));
        let v = serde_json::json!({
            "at_ms": look.now,
            "condition": until.words(),
            "live": look.live.map(|e| e.to_string()),
            "candidate": look.candidate().map(|e| e.to_string()),
            "share": look.share(),
            "weights": look.weights.map(|w| serde_json::json!({"blue": w.blue, "green": w.green})),
            "guardrails": look.guard,
            "window_end_ms": look.record().and_then(|r| r.end),
            "last": last,
            "record_error": look.record.as_ref().err(),
            "backend_error": backend_error,
            "holds": verdict == Verdict::Holds,
            "text": line,
        });
        out!("{v}");
    } else {
        out!("{} {line}", now_text());
    }
}

/// The last line: the outcome.
fn finish(json: bool, until: Condition, result: &str, text: &str) {
    if json {
        let v = serde_json::json!({
            "at_ms": lease::wall_ms(),
            "condition": until.words(),
            "result": result,
            "text": text,
        });
        out!("{v}");
    } else {
        out!("{} {text}", now_text());
    }
}
