//! `cutover set N`, `step`, `back` and `rollback`: the CLI's writes. Forward writes fail
//! closed (no journal, no lease, unknown live: no write) and ask for `--yes` where the
//! cockpit would ask; a rollback goes to `rollback.rs` and is never gated.

use super::EXIT_USAGE;
use super::report::{notify_cli, report_write};
use super::rollback::rollback_cli;
use super::snapshot::{snapshot, snapshot_of};
use super::wiring::{connect, cutover_for, journal_for, load_config};
use crate::app::engine::{self, WriteOrder};
use crate::app::journal::{CandidateSnapshot, Journal, Who};
use crate::app::lease::{self, Me, Standing};
use crate::app::words::{hhmm, reason_text, refusal_text};
use crate::backends::{BackendError, Switch};
use crate::cli::Cli;
use crate::config::Config;
use crate::core::guardrail::any_breach;
use crate::core::{Command as CoreCommand, ConfirmReason, Cutover, Decision, Env, Weights};
use crate::signals::SignalSource;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum WriteCmd {
    Set(u8),
    Step,
    Back,
    /// All traffic to the rollback target, or to the env given with `--to`.
    Rollback(Option<Env>),
}

/// Why a forward write does not go ahead: what stderr says, and whether it was the
/// command line's fault (exit 2) rather than the world's (exit 1).
#[derive(Debug, PartialEq, Eq)]
struct NotWriting {
    text: String,
    usage: bool,
}

impl NotWriting {
    fn failure(text: String) -> NotWriting {
        NotWriting { text, usage: false }
    }

    fn exit(self) -> ExitCode {
        eprintln!("cutover: {}", self.text);
        if self.usage {
            ExitCode::from(EXIT_USAGE)
        } else {
            ExitCode::FAILURE
        }
    }
}

/// Runs one CLI write: the journal, the backend, then the rollback or (under the driver
/// lease, released after) the forward write.
pub(super) async fn write_cmd(cli: &Cli, cmd: WriteCmd, yes: bool) -> anyhow::Result<ExitCode> {
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
    let standing = tokio::time::timeout(
        config.poll_timeout,
        lease::acquire(backend.as_ref(), &me, lease::wall_ms()),
    )
    .await
    .ok();
    if let Some(refused) = lease_refusal(standing, &backend.lease_place(), config.poll_timeout) {
        return Ok(refused.exit());
    }
    let code = write_held(&config, &journal, &backend, &sources, &who, &me, (cmd, yes)).await;
    let _ = tokio::time::timeout(config.poll_timeout, lease::release(backend.as_ref(), &me)).await;
    code
}

/// Why the driver lease as taken (`None`: it did not answer within `timeout`) refuses a
/// forward write; `None` when it is ours.
fn lease_refusal(
    standing: Option<Result<Standing, BackendError>>,
    place: &str,
    timeout: Duration,
) -> Option<NotWriting> {
    let text = match standing {
        Some(Ok(Standing::Mine(_))) => return None,
        Some(Ok(Standing::Theirs(l))) => format!(
            "not writing: {} drives this cutover since {} (lease at {place}, renewed until {}); ask them, or take over in the cockpit with T. `cutover rollback` is never refused.",
            l.holder,
            hhmm(l.since),
            hhmm(l.expires)
        ),
        Some(Ok(Standing::Free)) => "not writing: the driver lease could not be taken".into(),
        Some(Err(e)) => format!(
            "not writing: the driver lease could not be taken at {place}: {e}. `cutover rollback` still works."
        ),
        None => format!(
            "not writing: the driver lease at {place} did not answer within {:.1} s. `cutover rollback` still works.",
            timeout.as_secs_f64()
        ),
    };
    Some(NotWriting::failure(text))
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
    let interval = config.poll_interval.as_millis() as u64;
    let breach = any_breach(&config.guardrails.evaluate(
        snap.signals.get(cand),
        snap.signals.get(live),
        snap.clock.now(),
        interval,
    ));
    // Signals that could not be read are as good as stale.
    let stale = !snap.poll_errors.is_empty();
    let mut cutover = cutover_for(config, live, backend.capabilities());
    cutover.share = before.share_of(cand);
    let (share, action) = match choose_share(&cutover, cmd, (breach, stale), yes, backend.kind()) {
        Ok(chosen) => chosen,
        Err(refused) => return Ok(refused.exit()),
    };
    let candidate = snapshot_of(&snap.signals, cand);
    let order = forward_order(config, me, before, candidate, (live, share, action));
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

/// The share `cmd` moves the candidate to, and the action's name, as the cutover decides
/// it with the guardrails' `breach` and the signals' staleness. The CLI's explicit `set N`
/// is its own confirmation of a jump; a promotion and a breach still need `--yes` (exit
/// 2 without it). A refusal (nothing to step to, flip-only) exits 1.
fn choose_share(
    cutover: &Cutover,
    cmd: WriteCmd,
    (breach, stale): (bool, bool),
    yes: bool,
    backend_kind: &str,
) -> Result<(u8, &'static str), NotWriting> {
    let (core_cmd, action) = match cmd {
        WriteCmd::Set(p) => (CoreCommand::Jump(p), "set"),
        WriteCmd::Step => (CoreCommand::StepForward, "step"),
        WriteCmd::Back => (CoreCommand::StepBack, "back"),
        WriteCmd::Rollback(_) => unreachable!("rollback_cli"),
    };
    let share = match cutover.decide(core_cmd, breach, stale) {
        Decision::Apply { share, .. } => share,
        Decision::Confirm { share, reasons } => {
            let needs: Vec<_> = reasons
                .iter()
                .filter(|r| **r != ConfirmReason::Jump)
                .map(|r| reason_text(*r))
                .collect();
            if !needs.is_empty() && !yes {
                return Err(NotWriting {
                    text: format!(
                        "{action} to {share} % needs --yes: {}",
                        needs.join("; and ")
                    ),
                    usage: true,
                });
            }
            share
        }
        Decision::Refused(r) => {
            return Err(NotWriting::failure(format!(
                "nothing to do: {}",
                refusal_text(r, cutover.candidate(), backend_kind)
            )));
        }
        Decision::Pause(_) => unreachable!("no pause from the CLI"),
    };
    Ok((share, action))
}

/// The forward write as the engine takes it, made under this process's lease; a move to
/// 100 % is a promotion.
fn forward_order(
    config: &Config,
    me: &Me,
    before: Weights,
    candidate: CandidateSnapshot,
    (live, share, action): (Env, u8, &str),
) -> WriteOrder {
    WriteOrder {
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
    }
}
