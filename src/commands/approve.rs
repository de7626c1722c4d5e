//! `cutover approve` and `cutover decline REASON`: answer another person's request for
//! approval (`[approval]`) from a shell. The request and the answer live in the cutover
//! record; only someone other than who asked may answer, once, before it expires.

use super::EXIT_USAGE;
use super::status::status_lines;
use super::wiring::{connect, journal_for, load_config};
use crate::app::engine::{self, WriteOrder};
use crate::app::journal::{Journal, Phase, Who};
use crate::app::lease::wall_ms;
use crate::app::words::hhmm;
use crate::backends::Switch;
use crate::cli::Cli;
use crate::core::approval::{Ask, may_answer};
use std::io::IsTerminal;
use std::process::ExitCode;

/// What the request asks, in words: "promote green → 100 %".
fn asked(a: &Ask, live: crate::core::Env) -> String {
    let head = match a.need {
        crate::core::approval::Need::Override => "override: ",
        crate::core::approval::Need::Promote => "",
    };
    let action = if a.share == 100 { "promote" } else { "set" };
    format!("{head}{action} {} → {} %", live.other(), a.share)
}

/// Approves (`reason` `None`, after `--yes` or a `y` at the terminal) or declines.
pub(super) async fn answer_cmd(
    cli: &Cli,
    reason: Option<&str>,
    yes: bool,
) -> anyhow::Result<ExitCode> {
    let config = load_config(cli)?;
    if cli.read_only {
        err!("cutover: --read-only: not answering");
        return Ok(ExitCode::FAILURE);
    }
    let approve = reason.is_none();
    if let Some(r) = reason
        && r.trim().is_empty()
    {
        err!("cutover: decline: the reason is empty; expected why, in a few words");
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    let (backend, sources) = connect(cli, &config).await?;
    let who = Who::current();
    // What the approver looks at: the whole status, with the candidate's signals.
    let (lines, snap) = status_lines(&config, backend.as_ref(), &sources).await;
    let record = match &snap.record {
        Ok(r) => r.clone(),
        Err(e) => {
            err!("cutover: the cutover record cannot be read: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let ask = record.as_ref().and_then(|r| r.ask.clone());
    let answer = record.as_ref().and_then(|r| r.answer.as_ref());
    if let Err(why) = may_answer(ask.as_ref(), answer, &who.user, wall_ms()) {
        err!("cutover: {why}");
        return Ok(ExitCode::FAILURE);
    }
    let (Some(ask), Some(rec)) = (ask, record) else {
        return Ok(ExitCode::FAILURE);
    };
    if approve && !asker_drives(backend.as_ref(), config.poll_timeout, &ask).await {
        return Ok(ExitCode::FAILURE);
    }
    let reason = reason.map(crate::shared::flat);
    let reason = reason.as_deref();
    let words = asked(&ask, rec.live);
    if approve {
        for line in &lines {
            out!("{line}");
        }
        out!("");
        out!(
            "{} asks you to approve: {words} (open until {})",
            ask.who,
            hhmm(ask.until)
        );
        if !yes && !confirmed_at_terminal()? {
            err!("cutover: not approved");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    }
    let result = tokio::time::timeout(
        config.poll_timeout,
        crate::app::record::answer(
            backend.as_ref(),
            Some(&ask),
            &who.user,
            (approve, reason),
            wall_ms(),
        ),
    )
    .await
    .unwrap_or_else(|_| {
        Err("the store did not answer in time: whether the answer was written is unknown".into())
    });
    if let Err(e) = result {
        err!("cutover: not answered: {e}");
        return Ok(ExitCode::FAILURE);
    }
    let (word, phase) = if approve {
        ("approved", Phase::Approved)
    } else {
        ("declined", Phase::Declined)
    };
    let why = reason.map_or_else(String::new, |r| format!(": {}", r.trim()));
    let note = format!("{} {word} {words}, asked by {}{why}", who.user, ask.who);
    journal_note(
        cli,
        &config,
        backend.as_ref(),
        &who,
        (rec.live, phase, &note),
    );
    out!(
        "{note}; {}",
        if approve {
            "their cockpit (or CLI) sends the move at its next read of the record"
        } else {
            "nothing is sent; their cockpit (or CLI) says so at its next read of the record"
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// Whether whoever asked still drives (said when not): else an approval would send
/// nothing. A lease store that does not answer says nothing either way.
async fn asker_drives(backend: &dyn Switch, limit: std::time::Duration, ask: &Ask) -> bool {
    let Ok(read) = tokio::time::timeout(limit, backend.lease()).await else {
        return true;
    };
    if read.is_err() {
        return true;
    }
    // As `status` sees it: a lease whose process is gone on this host is nobody's.
    let (driver, _) = super::status::driver_of(
        Some(read),
        wall_ms(),
        &super::status::who_host(),
        crate::app::lease::process_alive,
    );
    let drives = driver
        .as_ref()
        .is_some_and(|l| crate::core::approval::same_person(&l.holder, &ask.who));
    if !drives {
        err!(
            "cutover: {} asked, but does not drive now (their cockpit or shell is gone, or someone took over): approving it would send nothing; it lapses at {}",
            ask.who,
            hhmm(ask.until)
        );
    }
    drives
}

/// `y` at the terminal; a shell with no terminal needs `--yes`.
fn confirmed_at_terminal() -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        err!("cutover: approve asks at a terminal; with none, pass --yes");
        return Ok(false);
    }
    eprint!("approve? [y/N] ");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes"))
}

/// The answer in this person's journal; a journal that cannot be written is said, and
/// the answer (already in the record) stands.
fn journal_note(
    cli: &Cli,
    config: &crate::config::Config,
    backend: &dyn Switch,
    who: &Who,
    (live, phase, note): (crate::core::Env, Phase, &str),
) {
    let journal = match journal_for(cli, Some(config), &config.name) {
        Ok(j) => j,
        Err(e) => {
            err!("cutover: warning: the answer was not journaled: {e:#}");
            return;
        }
    };
    append_note(&journal, backend, who, (live, phase, note));
}

/// A note in `journal`, as the cockpit writes one; a journal that cannot be written is
/// said, and what it records stands.
fn append_note(
    journal: &Journal,
    backend: &dyn Switch,
    who: &Who,
    (live, phase, note): (crate::core::Env, Phase, &str),
) {
    let order = WriteOrder {
        reason: Some(note.to_string()),
        ..WriteOrder::note(live, &phase, "cli")
    };
    let mut e = engine::entry(&order, backend, phase, who);
    e.target = None;
    e.share_target = None;
    if let Err(err) = journal.append(&e) {
        err!("cutover: warning: the answer was not journaled: {err}");
    }
}

/// A CLI forward write that needs a second person: asks in the record, then waits for
/// the answer (reading it every second, the driver lease renewed meanwhile) until it is
/// approved (`Ok`), declined, withdrawn (Ctrl-C), replaced or expired (`Err`, said why;
/// nothing is sent).
pub(super) async fn wait_for_approval(
    config: &crate::config::Config,
    (backend, journal): (&dyn Switch, &Journal),
    (me, who): (&crate::app::lease::Me, &Who),
    (live, need, share, pos): (crate::core::Env, crate::core::approval::Need, u8, u8),
) -> Result<(), String> {
    use crate::app::record;
    let ttl = config
        .approval
        .as_ref()
        .map_or(crate::core::approval::Rules::DEFAULT_TTL_MS, |r| r.ttl_ms);
    let now = wall_ms();
    let until = now.saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX));
    let limit = config.poll_timeout;
    let rules = config
        .approval
        .as_ref()
        .map(|r| r.required_for.clone())
        .unwrap_or_default();
    let bounded = |r: Result<Result<(), String>, tokio::time::error::Elapsed>| {
        r.unwrap_or_else(|_| Err("the store did not answer in time".into()))
    };
    let stored = tokio::time::timeout(limit, async {
        record::ask(
            backend,
            live,
            (need, share, pos),
            (&who.user, &rules),
            (now, until),
        )
        .await
        .map(|_| ())
    })
    .await;
    bounded(stored)
        .map_err(|e| format!("the request for approval was not made: {e}; nothing sent"))?;
    let probe = Ask {
        need,
        share,
        who: who.user.clone(),
        until,
    };
    let words = asked(&probe, live);
    err!(
        "cutover: waiting for approval (another person): {words}, until {}: they run `cutover approve` or press a in their cockpit; Ctrl-C withdraws",
        hhmm(until)
    );
    let note = |phase: Phase, text: String| {
        append_note(journal, backend, who, (live, phase, &text));
    };
    note(
        Phase::ApprovalAsked,
        format!(
            "{} asked another person to approve {words} (until {})",
            who.user,
            hhmm(until)
        ),
    );
    // The same lines as the cockpit's: asked, then declined, expired or withdrawn (the
    // approval itself is journaled with the write).
    let result = await_answer(backend, me, (limit, until), &words).await;
    if let Err((phase, why)) = &result {
        note(phase.clone(), format!("{why} (asked by {})", who.user));
    }
    result.map_err(|(_, why)| why)
}

/// Reads the record every second until our request `until` is answered (`Ok`: approved),
/// declined, replaced, expired or withdrawn with Ctrl-C; the driver lease renewed meanwhile.
async fn await_answer(
    backend: &dyn Switch,
    me: &crate::app::lease::Me,
    (limit, until): (std::time::Duration, i64),
    words: &str,
) -> Result<(), (Phase, String)> {
    let withdrawn = |why: String| (Phase::ApprovalWithdrawn, why);
    use crate::app::record;
    let now = wall_ms();
    let withdraw = || async {
        let _ = tokio::time::timeout(limit, record::withdraw(backend, until)).await;
    };
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    // SIGTERM and SIGHUP (a dropped SSH) take the request back too.
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).ok();
    let mut hup = signal(SignalKind::hangup()).ok();
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    let renew_every = i64::try_from(me.ttl / 3).unwrap_or(i64::MAX).max(1_000);
    let (mut renewed, mut misses, mut said_error) = (now, 0u8, false);
    loop {
        tokio::select! {
            _ = &mut ctrl_c => {
                withdraw().await;
                return Err(withdrawn(format!("withdrawn (Ctrl-C): {words} not sent")));
            }
            Some(()) = async { match term.as_mut() { Some(t) => t.recv().await, None => std::future::pending().await } } => {
                withdraw().await;
                return Err(withdrawn(format!("withdrawn (SIGTERM): {words} not sent")));
            }
            Some(()) = async { match hup.as_mut() { Some(h) => h.recv().await, None => std::future::pending().await } } => {
                withdraw().await;
                return Err(withdrawn(format!("withdrawn (SIGHUP): {words} not sent")));
            }
            _ = tick.tick() => {}
        }
        let now = wall_ms();
        if now > until {
            withdraw().await;
            return Err((
                Phase::ApprovalExpired,
                format!(
                    "the request for approval of {words} expired unanswered at {}: nothing sent",
                    hhmm(until)
                ),
            ));
        }
        if now - renewed >= renew_every {
            renewed = now;
            let _ = tokio::time::timeout(limit, crate::app::lease::renew(backend, me, now)).await;
        }
        let read = match tokio::time::timeout(limit, record::stored(backend)).await {
            Ok(Ok((_, r))) => r,
            Ok(Err(e)) => {
                if !said_error {
                    said_error = true;
                    err!("cutover: the cutover record cannot be read ({e}); still waiting");
                }
                continue;
            }
            Err(_) => continue,
        };
        let ask = read
            .as_ref()
            .and_then(|r| r.ask.as_ref())
            .filter(|a| a.until == until);
        match (ask, read.as_ref().and_then(|r| r.answer.as_ref())) {
            (Some(_), Some(a)) if a.approved => {
                err!("cutover: {} approved {words}: sending", a.who);
                return Ok(());
            }
            (Some(_), Some(a)) => {
                return Err((
                    Phase::Declined,
                    format!(
                        "{} DECLINED {words}: {}; nothing sent",
                        a.who,
                        a.reason.as_deref().unwrap_or("no reason given")
                    ),
                ));
            }
            (Some(_), None) => misses = 0,
            (None, _) => {
                misses += 1;
                if misses >= 2 {
                    return Err(withdrawn(format!(
                        "the request for approval of {words} is gone from the cutover record (another write or request replaced it): nothing sent"
                    )));
                }
            }
        }
    }
}
