//! What each command does. The TUI and the CLI share the engine, journal and verification.

use crate::app::engine::{self, WriteOrder, WriteResult};
use crate::app::journal::{self, CandidateSnapshot, Journal, Who};
use crate::app::lease::{self, Me, Standing};
use crate::backends::{Switch, WriteCheck};
use crate::cli::{Cli, Command, TimelineFormat};
use crate::config::{Config, ConfigError};
use crate::core::guardrail::any_breach;
use crate::core::{Command as CoreCommand, Decision, Env, Weights, resolve_live};
use crate::signals::SignalSource;
use anyhow::Context;
use std::process::ExitCode;
use std::sync::Arc;

mod cockpit;
mod sim;
mod snapshot;
mod status;
mod status_json;
mod wiring;

use cockpit::{cockpit, demo};
use sim::sim;
use snapshot::{snapshot, snapshot_of};
use status::status;
use wiring::{connect, cutover_for, journal_for, load_config};

/// Exit code for bad usage or config.
pub const EXIT_USAGE: u8 = 2;

/// Success or failure, as the process exits.
fn exit_code(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Some(Command::Demo {
            ref scenario,
            seed,
            rollback_window,
            write_delay,
        }) => demo(&cli, scenario, seed, rollback_window, write_delay).await,
        Some(Command::Sim { ref command }) => sim(command).await,
        None => cockpit(&cli).await,
        Some(Command::Status { json }) => status(&cli, json).await,
        Some(Command::Set { share, yes }) => write_cmd(&cli, WriteCmd::Set(share), yes).await,
        Some(Command::Step { yes }) => write_cmd(&cli, WriteCmd::Step, yes).await,
        Some(Command::Back) => write_cmd(&cli, WriteCmd::Back, false).await,
        Some(Command::Rollback { to }) => write_cmd(&cli, WriteCmd::Rollback(to), false).await,
        Some(Command::Check) => check(&cli).await,
        Some(Command::Journal { ref since, format }) => timeline(&cli, since.as_deref(), format),
    }
}

#[derive(Clone, Copy, Debug)]
enum WriteCmd {
    Set(u8),
    Step,
    Back,
    /// All traffic to the rollback target, or to the env given with `--to`.
    Rollback(Option<Env>),
}

async fn write_cmd(cli: &Cli, cmd: WriteCmd, yes: bool) -> anyhow::Result<ExitCode> {
    let config = load_config(cli)?;
    if cli.read_only {
        eprintln!("cutover: --read-only: not writing");
        return Ok(ExitCode::FAILURE);
    }
    let journal = match journal_for(cli, Some(&config), &config.name) {
        Ok(j) => Some(j),
        // Fail closed forward, open for a rollback: it goes ahead and says so.
        Err(e) if matches!(cmd, WriteCmd::Rollback(_)) => {
            eprintln!("cutover: ROLLBACK NOT JOURNALED: {e:#}");
            None
        }
        Err(e) => {
            eprintln!("cutover: not writing: {e:#}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let (backend, sources) = connect(&config).await?;
    let who = Who::current();
    if let WriteCmd::Rollback(to) = cmd {
        // Never gated: no lease round trip before the write.
        return rollback_cli(&config, journal.as_ref(), &backend, &who, to).await;
    }
    let journal = journal.expect("a forward write has its journal");
    // Forward writes go through the driver lease, and fail closed without it.
    let me = Me::new(&who.user, config.lease_ttl.as_millis() as u64);
    match tokio::time::timeout(
        config.poll_timeout,
        lease::acquire(backend.as_ref(), &me, lease::wall_ms()),
    )
    .await
    {
        Ok(Ok(Standing::Mine(_))) => {}
        Ok(Ok(Standing::Theirs(l))) => {
            eprintln!(
                "cutover: not writing: {} drives this cutover since {} (lease at {}, renewed until {}); ask them, or take over in the cockpit with T. `cutover rollback` is never refused.",
                l.holder,
                crate::app::words::hhmm(l.since),
                backend.lease_place(),
                crate::app::words::hhmm(l.expires)
            );
            return Ok(ExitCode::FAILURE);
        }
        Ok(Ok(Standing::Free)) => {
            eprintln!("cutover: not writing: the driver lease could not be taken");
            return Ok(ExitCode::FAILURE);
        }
        Ok(Err(e)) => {
            eprintln!(
                "cutover: not writing: the driver lease could not be taken at {}: {e}. `cutover rollback` still works.",
                backend.lease_place()
            );
            return Ok(ExitCode::FAILURE);
        }
        Err(_) => {
            eprintln!(
                "cutover: not writing: the driver lease at {} did not answer within {:.1} s. `cutover rollback` still works.",
                backend.lease_place(),
                config.poll_timeout.as_secs_f64()
            );
            return Ok(ExitCode::FAILURE);
        }
    }
    let code = write_held(&config, &journal, &backend, &sources, &who, &me, (cmd, yes)).await;
    let _ = tokio::time::timeout(config.poll_timeout, lease::release(backend.as_ref(), &me)).await;
    code
}

/// `cutover rollback`: reads only what names the target (weights and record, at once),
/// says where traffic goes, then writes. Exit 0 only when verified and journaled.
async fn rollback_cli(
    config: &Config,
    journal: Option<&Arc<Journal>>,
    backend: &Arc<dyn Switch>,
    who: &Who,
    to: Option<Env>,
) -> anyhow::Result<ExitCode> {
    let (read, record, lease) = futures::join!(
        tokio::time::timeout(config.poll_timeout, backend.read()),
        tokio::time::timeout(config.poll_timeout, backend.record()),
        tokio::time::timeout(config.poll_timeout, backend.lease()),
    );
    let before = read.ok().and_then(Result::ok);
    let record = match record {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            eprintln!("cutover: warning: the cutover record could not be read: {e}");
            None
        }
        Err(_) => {
            eprintln!("cutover: warning: the cutover record did not answer");
            None
        }
    };
    let driver = match lease {
        // Whoever holds it, the same user in the next terminal included: not this process.
        Ok(Ok(Some(l))) if !l.expired(lease::wall_ms()) => Some(l.holder),
        _ => None,
    };
    let resolved = match to {
        Some(env) => Some((env, "--to")),
        None => resolve_live(config.live, record.as_ref(), before, lease::wall_ms())
            .map(|(e, from)| (e, from.words())),
    };
    let Some((live, from)) = resolved else {
        let state = match before {
            Some(w) => format!("traffic is split ({w})"),
            None => "the backend's traffic state could not be read".to_string(),
        };
        eprintln!(
            "cutover: not rolling back: {state} and no cutover record names the live env; pass --to blue or --to green to say where ALL traffic goes"
        );
        return Ok(ExitCode::from(EXIT_USAGE));
    };
    if let Some(r) = &record
        && to.is_none()
        && config.live.is_some_and(|l| l != r.live)
    {
        eprintln!(
            "cutover: warning: the cutover record says {} is live (started by {}), but `live` in the config says {}: the config wins; pass --to to say otherwise",
            r.live, r.by, live
        );
    }
    if let Some(r) = &record
        && to.is_some_and(|t| t != r.live)
    {
        eprintln!(
            "cutover: warning: the cutover record says {} is live; --to {} overrides it",
            r.live, live
        );
    }
    let cand = live.other();
    // A forward write in flight may still land: a rollback is never "nothing to do" then.
    let in_flight = record
        .as_ref()
        .filter(|r| r.live == live)
        .and_then(|r| r.flight.as_ref())
        .filter(|f| f.share > 0);
    if let Some(f) = in_flight {
        println!(
            "a write of {cand} → {} % is in flight per the cutover record (since {}): rolling back so it cannot win",
            f.share,
            crate::app::words::hhmm(f.since)
        );
    }
    if before.and_then(|w| w.share_of(cand)) == Some(0) && to.is_none() && in_flight.is_none() {
        println!(
            "nothing to roll back: {live} already holds all the traffic ({}; live per {from}). Going back to {cand} is a new cutover the other way: `cutover rollback --to {cand}`",
            before.map(|w| w.to_string()).unwrap_or_default()
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!("rolling back: all traffic to {live} (rollback target per {from})");
    let order = WriteOrder {
        id: 1,
        share: 0,
        live,
        rollback: true,
        action: "rollback".into(),
        source: "cli".into(),
        before,
        candidate: CandidateSnapshot::default(),
        reason: None,
        driver: driver.clone(),
        window_ms: config.rollback_window.as_millis() as u64,
        lease_token: None,
    };
    let done = match journal {
        Some(j) => engine::apply(backend.as_ref(), j, who, &order).await,
        None => {
            let j = Journal::unwritable();
            engine::apply(backend.as_ref(), &j, who, &order).await
        }
    };
    notify_cli(config, who, &order, &done.result).await;
    let mut code = report_write(&order, before, &done.result);
    if let Some(d) = &driver {
        println!("{d} drives this cutover: they will see this rollback within one poll");
    }
    if let Some(e) = &done.journal_error {
        eprintln!("cutover: ROLLBACK NOT JOURNALED: {e}");
        code = ExitCode::FAILURE;
    }
    if let Some(e) = &done.record_error {
        eprintln!("cutover: warning: the cutover record was not updated: {e}");
    }
    Ok(code)
}

/// Prints how a CLI write ended; the exit code says it.
fn report_write(order: &WriteOrder, before: Option<Weights>, result: &WriteResult) -> ExitCode {
    let cand = order.live.other();
    let share = order.share;
    let from = before
        .and_then(|w| w.share_of(cand))
        .map_or_else(|| "?".into(), |s| s.to_string());
    match result {
        WriteResult::Verified { after, elapsed_ms } => {
            println!("{cand} {from} → {share} %: applied in {elapsed_ms} ms, verified ({after})");
            ExitCode::SUCCESS
        }
        WriteResult::Unverified { after, .. } => {
            eprintln!("cutover: {cand} → {share} % NOT verified: the backend reads {after}");
            ExitCode::FAILURE
        }
        WriteResult::Failed { error, after } => {
            let reread = after.map_or_else(
                || "could not be re-read".to_string(),
                |a| format!("re-read: {a}"),
            );
            eprintln!("cutover: {cand} → {share} % FAILED: {error}; backend {reread}");
            ExitCode::FAILURE
        }
        WriteResult::Unknown { error, after } => {
            let reread = after.map_or_else(
                || "could not be re-read".to_string(),
                |a| format!("reads {a} for now"),
            );
            eprintln!(
                "cutover: {cand} → {share} %: outcome UNKNOWN, it may still land: {error}; backend {reread}. Run `cutover status` to see where it stands."
            );
            ExitCode::FAILURE
        }
        WriteResult::Refused { reason } => {
            eprintln!("cutover: {cand} → {share} % {reason}; traffic untouched");
            ExitCode::FAILURE
        }
        WriteResult::Aborted => {
            eprintln!("cutover: {cand} → {share} % cancelled");
            ExitCode::FAILURE
        }
    }
}

/// A CLI forward write once the lease is ours.
async fn write_held(
    config: &Config,
    journal: &Arc<Journal>,
    backend: &Arc<dyn Switch>,
    sources: &[Arc<dyn SignalSource>],
    who: &Who,
    me: &Me,
    (cmd, yes): (WriteCmd, bool),
) -> anyhow::Result<ExitCode> {
    let snap = snapshot(config, backend.as_ref(), sources).await;
    let before = match snap.weights {
        Ok(w) => w,
        Err(e) => {
            eprintln!("cutover: cannot read the traffic state: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let Some((live, _)) = snap.live else {
        eprintln!(
            "cutover: live env unknown: traffic is split ({before}) and no cutover record names the live env; set `live` in the config"
        );
        return Ok(ExitCode::FAILURE);
    };
    let cand = live.other();
    let now = snap.clock.now();
    let interval = config.poll_interval.as_millis() as u64;
    let breach = any_breach(&config.guardrails.evaluate(
        snap.signals.get(cand),
        snap.signals.get(live),
        now,
        interval,
    ));
    // Signals that could not be read are as good as stale.
    let stale = !snap.poll_errors.is_empty();
    let candidate = snapshot_of(&snap.signals, cand);
    let mut cutover = cutover_for(config, live, backend.capabilities());
    cutover.share = before.share_of(cand);
    let (core_cmd, action) = match cmd {
        WriteCmd::Set(p) => (CoreCommand::Jump(p), "set"),
        WriteCmd::Step => (CoreCommand::StepForward, "step"),
        WriteCmd::Back => (CoreCommand::StepBack, "back"),
        WriteCmd::Rollback(_) => unreachable!("rollback_cli"),
    };
    let share = match cutover.decide(core_cmd, breach, stale) {
        Decision::Apply { share, .. } => share,
        Decision::Confirm { share, reasons } => {
            // The CLI's explicit `set N` is its own confirmation of a jump; promotion and
            // a breach still need --yes.
            let needs: Vec<_> = reasons
                .iter()
                .filter(|r| **r != crate::core::ConfirmReason::Jump)
                .map(|r| crate::app::words::reason_text(*r))
                .collect();
            if !needs.is_empty() && !yes {
                eprintln!(
                    "cutover: {action} to {share} % needs --yes: {}",
                    needs.join("; and ")
                );
                return Ok(ExitCode::from(EXIT_USAGE));
            }
            share
        }
        Decision::Refused(r) => {
            eprintln!(
                "cutover: nothing to do: {}",
                crate::app::words::refusal_text(r, cand, backend.kind())
            );
            return Ok(ExitCode::FAILURE);
        }
        Decision::Pause(_) => unreachable!("no pause from the CLI"),
    };
    let order = WriteOrder {
        id: 1,
        share,
        live,
        rollback: false,
        action: if share == 100 {
            "promote".into()
        } else {
            action.into()
        },
        source: "cli".into(),
        before: Some(before),
        candidate,
        reason: None,
        driver: None,
        window_ms: config.rollback_window.as_millis() as u64,
        lease_token: Some(me.token.clone()),
    };
    let done = engine::apply(backend.as_ref(), journal, who, &order).await;
    // Told after the write, never before it.
    notify_cli(config, who, &order, &done.result).await;
    let code = report_write(&order, Some(before), &done.result);
    if let Some(e) = &done.journal_error {
        eprintln!("cutover: warning: the result was not journaled: {e}");
    }
    if let Some(e) = &done.record_error {
        eprintln!("cutover: warning: the cutover record was not updated: {e}");
    }
    Ok(code)
}

async fn check(cli: &Cli) -> anyhow::Result<ExitCode> {
    let config = load_config(cli)?;
    println!(
        "✓ config: {} ({} backend, plan {})",
        config.name,
        config.backend.kind(),
        config.plan
    );
    let (backend, sources) = connect(&config).await?;
    let mut ok = true;
    let t = std::time::Instant::now();
    match tokio::time::timeout(config.poll_timeout, backend.read()).await {
        Ok(Ok(w)) => println!(
            "✓ backend {} {}: {w} ({} ms)",
            backend.kind(),
            backend.target(),
            t.elapsed().as_millis()
        ),
        Ok(Err(e)) => {
            ok = false;
            println!("✕ backend: {e}");
        }
        Err(_) => {
            ok = false;
            println!(
                "✕ backend {}: no answer within {:.1} s",
                backend.target(),
                config.poll_timeout.as_secs_f64()
            );
        }
    }
    // The write side, proven without changing traffic.
    match tokio::time::timeout(config.poll_timeout, backend.check_write()).await {
        Ok(WriteCheck::Proven(what)) => println!("✓ write side: {what}"),
        Ok(WriteCheck::Denied(why)) => {
            ok = false;
            println!("✕ write side: {why}");
        }
        Ok(WriteCheck::Unprovable(why)) => println!("? write side: {why}"),
        Err(_) => {
            ok = false;
            println!(
                "✕ write side: no answer within {:.1} s",
                config.poll_timeout.as_secs_f64()
            );
        }
    }
    match tokio::time::timeout(config.poll_timeout, backend.record()).await {
        Ok(Ok(Some(r))) => println!(
            "✓ cutover record: {} → {} started by {} at {} ({})",
            r.live,
            r.candidate(),
            r.by,
            crate::app::words::hhmm(r.at),
            backend.place(crate::backends::Slot::Record)
        ),
        Ok(Ok(None)) => println!(
            "✓ cutover record: none (no cutover in progress) at {}",
            backend.place(crate::backends::Slot::Record)
        ),
        Ok(Err(e)) => {
            ok = false;
            println!("✕ cutover record: {e}");
        }
        Err(_) => {
            ok = false;
            println!("✕ cutover record: no answer");
        }
    }
    for source in &sources {
        let t = std::time::Instant::now();
        match tokio::time::timeout(config.poll_timeout, source.poll()).await {
            Ok(Ok(p)) => {
                let h = |e: Env| {
                    p.get(e)
                        .health
                        .as_ref()
                        .map_or("unknown", |h| h.health.word())
                };
                println!(
                    "✓ signals {}: blue {}, green {} ({} ms)",
                    source.name(),
                    h(Env::Blue),
                    h(Env::Green),
                    t.elapsed().as_millis()
                );
            }
            Ok(Err(e)) => {
                ok = false;
                println!("✕ signals {}: {e}", source.name());
            }
            Err(_) => {
                ok = false;
                println!(
                    "✕ signals {}: no answer within {:.1} s",
                    source.name(),
                    config.poll_timeout.as_secs_f64()
                );
            }
        }
    }
    let journal = journal_for(cli, Some(&config), &config.name);
    match journal {
        Ok(j) => println!("✓ journal: {}", j.path().display()),
        Err(e) => {
            ok = false;
            println!("✕ journal: {e:#}");
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `cutover journal`: the journal as a timeline.
fn timeline(cli: &Cli, since: Option<&str>, format: TimelineFormat) -> anyhow::Result<ExitCode> {
    let path = match &cli.journal {
        Some(p) => p.clone(),
        None => {
            let config = load_config(cli)?;
            config
                .journal
                .clone()
                .unwrap_or_else(|| journal::default_path(&config.name))
        }
    };
    let cutoff = match since {
        None => None,
        Some(s) => Some(match humantime::parse_duration(s) {
            Ok(d) => chrono::Utc::now() - chrono::Duration::from_std(d).unwrap_or_default(),
            Err(_) => chrono::DateTime::parse_from_rfc3339(s)
                .map_err(|_| {
                    ConfigError::new(
                        "--since",
                        format!("value {s:?}: expected a duration such as \"2h\" or a time such as \"2026-11-23T14:00:00Z\""),
                    )
                })?
                .with_timezone(&chrono::Utc),
        }),
    };
    let entries = Journal::read_all(&path)
        .with_context(|| format!("cannot read the journal {}", path.display()))?;
    let entries: Vec<_> = entries
        .into_iter()
        .filter(|e| {
            cutoff.is_none_or(|c| {
                chrono::DateTime::parse_from_rfc3339(&e.ts)
                    .is_ok_and(|t| t.with_timezone(&chrono::Utc) >= c)
            })
        })
        .collect();
    let items = crate::app::timeline::build(&entries);
    match format {
        TimelineFormat::Text => print!("{}", crate::app::timeline::text(&items)),
        TimelineFormat::Markdown => print!("{}", crate::app::timeline::markdown(&items)),
        TimelineFormat::Json => println!("{}", serde_json::to_string_pretty(&items)?),
    }
    Ok(ExitCode::SUCCESS)
}

/// Tells the webhooks about a write made from the command line; failures are said on stderr.
async fn notify_cli(config: &Config, who: &Who, order: &WriteOrder, result: &WriteResult) {
    if config.hooks.is_empty() {
        return;
    }
    let cand = order.live.other();
    let outcome = match result {
        WriteResult::Verified { elapsed_ms, .. } => format!("applied in {elapsed_ms} ms, verified"),
        WriteResult::Unverified { after, .. } => format!("NOT verified: backend reads {after}"),
        WriteResult::Failed { error, .. } => format!("FAILED: {error}"),
        WriteResult::Unknown { error, .. } => format!("outcome UNKNOWN: {error}"),
        WriteResult::Refused { reason } => format!("REFUSED: {reason}"),
        WriteResult::Aborted => "cancelled".into(),
    };
    let notice = crate::app::notify::Notice {
        event: "write".into(),
        text: format!(
            "{} {cand} → {} % from the CLI: {outcome}",
            order.action, order.share
        ),
        cutover: config.name.clone(),
        who: who.user.clone(),
    };
    let http = reqwest::Client::new();
    let sends = config
        .hooks
        .iter()
        .map(|h| async { (h.name.clone(), h.send(&http, &notice).await) });
    for (name, r) in futures::future::join_all(sends).await {
        if let Err(e) = r {
            eprintln!("cutover: webhook {name} not told: {e}");
        }
    }
}
