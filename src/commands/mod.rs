//! What each command does. The TUI and the CLI share the engine, journal and verification.

use crate::app::Clock;
use crate::app::engine::{self, WriteOrder, WriteResult};
use crate::app::journal::{self, CandidateSnapshot, Journal, Who};
use crate::app::lease::{self, Me, Standing};
use crate::backends::{Backend, Switch, WriteCheck};
use crate::cli::{Cli, Command, TimelineFormat};
use crate::config::{Config, ConfigError};
use crate::core::Series;
use crate::core::guardrail::any_breach;
use crate::core::stats::two_proportion;
use crate::core::{
    Command as CoreCommand, Decision, Env, EnvPair, EnvSignals, LiveFrom, Reading, Record,
    RuleCheck, Weights, resolve_live,
};
use crate::signals::SignalSource;
use anyhow::Context;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

mod cockpit;
mod sim;
mod wiring;

use cockpit::{cockpit, demo};
use sim::sim;
use wiring::{connect, cutover_for, journal_for, load_config};

/// This machine's host name, as leases name it.
fn who_host() -> String {
    Who::current()
        .user
        .rsplit_once('@')
        .map_or_else(String::new, |(_, h)| h.to_string())
}

/// Exit code for bad usage or config.
pub const EXIT_USAGE: u8 = 2;

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

/// One read of the backend and every signal source, as a `status` would show.
struct Snapshot {
    weights: Result<Weights, String>,
    record: Result<Option<Record>, String>,
    live: Option<(Env, LiveFrom)>,
    signals: EnvPair<EnvSignals>,
    poll_errors: Vec<String>,
    clock: Clock,
}

async fn timed<T>(
    timeout: Duration,
    what: &str,
    f: impl Future<Output = Result<T, String>>,
) -> Result<T, String> {
    match tokio::time::timeout(timeout, f).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "{what} did not answer within {:.1} s",
            timeout.as_secs_f64()
        )),
    }
}

/// One read; live resolved as [`resolve_live`] says (config, record, all the traffic; never
/// a split's majority). The backend, the record and the sources are read concurrently.
async fn snapshot(
    config: &Config,
    backend: &dyn Backend,
    sources: &[Arc<dyn SignalSource>],
) -> Snapshot {
    let clock = Clock::start();
    let timeout = config.poll_timeout;
    let target = backend.target();
    let place = backend.place(crate::backends::Slot::Record);
    let read = timed(timeout, &target, async {
        backend.read().await.map_err(|e| e.to_string())
    });
    let record = timed(timeout, &place, async {
        backend.record().await.map_err(|e| e.to_string())
    });
    let polls = futures::future::join_all(sources.iter().map(|s| async move {
        let r = timed(timeout, &s.name(), s.poll()).await;
        (s.name(), r, clock.now())
    }));
    let (weights, record, polls) = futures::join!(read, record, polls);
    let live = resolve_live(
        config.live,
        record.as_ref().ok().and_then(Option::as_ref),
        weights.as_ref().ok().copied(),
        lease::wall_ms(),
    );
    let mut signals = EnvPair::<EnvSignals>::default();
    signals.blue.version = config.envs.blue.version.clone();
    signals.green.version = config.envs.green.version.clone();
    let mut poll_errors = Vec::new();
    for (name, r, at) in polls {
        match r {
            Ok(pair) => {
                let EnvPair { blue, green } = pair;
                blue.apply_to(&mut signals.blue, at);
                green.apply_to(&mut signals.green, at);
            }
            Err(e) => poll_errors.push(format!("{name}: {e}")),
        }
    }
    Snapshot {
        weights,
        record,
        live,
        signals,
        poll_errors,
        clock,
    }
}

fn snapshot_of(signals: &EnvPair<EnvSignals>, cand: Env) -> CandidateSnapshot {
    let s = signals.get(cand);
    CandidateSnapshot {
        env: Some(cand),
        health: s.health.as_ref().map(|(h, _)| h.health.word().to_string()),
        error_rate: s.error_rate.value(),
        p99_ms: s.p99_ms.value(),
        rps: s.rps.value(),
        stale: false,
    }
}

/// One env as `status --json` shows it: values (`null` when unknown), their ages, and why a
/// value is missing.
fn env_json(s: &EnvSignals, now: u64) -> serde_json::Value {
    let series: [(&str, &Series); 5] = [
        ("error_rate", &s.error_rate),
        ("p99_ms", &s.p99_ms),
        ("rps", &s.rps),
        ("requests", &s.requests),
        ("errors", &s.errors),
    ];
    let mut v = serde_json::json!({
        "health": s.health.as_ref().map(|(h, _)| h.health.word()),
        "version": s.version,
    });
    let mut ages = serde_json::Map::new();
    let mut notes = serde_json::Map::new();
    ages.insert(
        "health".into(),
        s.health
            .as_ref()
            .map(|(_, at)| now.saturating_sub(*at))
            .into(),
    );
    for (name, series) in series {
        v[name] = series.value().into();
        ages.insert(name.into(), series.age(now).into());
        match series.latest.as_ref().map(|x| &x.reading) {
            Some(Reading::NoData(why)) | Some(Reading::Error(why)) => {
                notes.insert(name.into(), why.clone().into());
            }
            _ => {}
        }
    }
    let mut metrics = serde_json::Map::new();
    for (name, series) in &s.metrics {
        metrics.insert(name.clone(), series.value().into());
        ages.insert(name.clone(), series.age(now).into());
    }
    v["metrics"] = metrics.into();
    v["age_ms"] = ages.into();
    v["notes"] = notes.into();
    v
}

async fn status(cli: &Cli, json: bool) -> anyhow::Result<ExitCode> {
    let config = load_config(cli)?;
    let (backend, sources) = connect(&config).await?;
    let snap = snapshot(&config, backend.as_ref(), &sources).await;
    let now = snap.clock.now();
    let cand = snap.live.map(|(l, _)| l.other());
    let share = cand.and_then(|c| snap.weights.as_ref().ok().and_then(|w| w.share_of(c)));
    let interval = config.poll_interval.as_millis() as u64;
    // One look cannot tell how long a breach has lasted: `for` is not applied here.
    let guard = cand.map(|c| {
        config.guardrails.evaluate(
            snap.signals.get(c),
            snap.signals.get(c.other()),
            now,
            interval,
        )
    });
    let breaches: Vec<String> = guard
        .iter()
        .flatten()
        .filter(|r| r.check == RuleCheck::Breach)
        .map(|r| r.kind.name())
        .collect();
    let guard_status = match &guard {
        None => None,
        Some(g) if any_breach(g) => Some("breach"),
        Some(g) if g.iter().all(|r| r.check == RuleCheck::Ok) => Some("ok"),
        Some(_) => Some("no-data"),
    };
    let vs_live = cand.and_then(|c| {
        let (cs, ls) = (snap.signals.get(c), snap.signals.get(c.other()));
        two_proportion(
            cs.errors.value()?,
            cs.requests.value()?,
            ls.errors.value()?,
            ls.requests.value()?,
        )
    });
    let ok = snap.weights.is_ok() && snap.poll_errors.is_empty();
    // Who drives: the lease as stored beside the backend (a lapsed one is nobody).
    let (driver, lease_error) =
        match tokio::time::timeout(config.poll_timeout, backend.lease()).await {
            Ok(Ok(Some(l))) if l.expires > lease::wall_ms().saturating_add(lease::LONGEST_MS) => (
                None,
                Some(format!(
                    "{}'s lease runs longer than any cutover writes (lease-ttl is at most 1 h)",
                    l.holder
                )),
            ),
            Ok(Ok(Some(l))) if l.free_for(&who_host(), lease::wall_ms(), lease::process_alive) => {
                (None, None)
            }
            Ok(Ok(Some(l))) => (Some(l), None),
            Ok(Ok(_)) => (None, None),
            Ok(Err(e)) => (None, Some(e.to_string())),
            Err(_) => (None, Some("the lease store did not answer".to_string())),
        };
    if json {
        let v = serde_json::json!({
            "name": config.name,
            "backend": backend.kind(),
            "target": backend.target(),
            "live": snap.live.map(|(l, _)| l),
            "live_from": snap.live.map(|(_, f)| match f {
                LiveFrom::Config => "config",
                LiveFrom::Record => "record",
                LiveFrom::AllTraffic => "all-traffic",
                LiveFrom::Chosen => "chosen",
            }),
            "record": match &snap.record {
                Ok(Some(r)) => serde_json::json!({
                    "live": r.live,
                    "candidate": r.candidate(),
                    "started_by": r.by,
                    "started": chrono::DateTime::from_timestamp_millis(r.at).map(|t| t.to_rfc3339()),
                    "share": r.pos,
                    "in_flight": r.flight.as_ref().map(|f| serde_json::json!({
                        "write": f.id, "share": f.share,
                        "since": chrono::DateTime::from_timestamp_millis(f.since).map(|t| t.to_rfc3339()),
                    })),
                    "last_write": r.last.as_ref().map(|l| serde_json::json!({
                        "by": l.who, "action": l.action,
                        "at": chrono::DateTime::from_timestamp_millis(l.at).map(|t| t.to_rfc3339()),
                    })),
                    "window_end": r.end.and_then(chrono::DateTime::from_timestamp_millis).map(|t| t.to_rfc3339()),
                }),
                _ => serde_json::Value::Null,
            },
            "candidate": cand,
            "share": share,
            "weights": snap.weights.as_ref().ok(),
            "envs": {
                "blue": env_json(&snap.signals.blue, now),
                "green": env_json(&snap.signals.green, now),
            },
            "vs_live": vs_live.map(|d| serde_json::json!({
                "error_rate_pp": d.diff_pp, "p_value": d.p_value, "significant": d.significant,
            })),
            "guardrails": {"status": guard_status, "breaches": breaches},
            "driver": driver.as_ref().map(|l| serde_json::json!({
                "holder": l.holder,
                "since": chrono::DateTime::from_timestamp_millis(l.since).map(|t| t.to_rfc3339()),
                "expires": chrono::DateTime::from_timestamp_millis(l.expires).map(|t| t.to_rfc3339()),
            })),
            "errors": {
                "lease": lease_error,
                "backend": snap.weights.as_ref().err(),
                "record": snap.record.as_ref().err(),
                "signals": snap.poll_errors,
            },
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("{} · {} {}", config.name, backend.kind(), backend.target());
        match &driver {
            Some(l) => println!(
                "driven by {} since {} ({})",
                l.holder,
                crate::app::words::hhmm(l.since),
                backend.lease_place()
            ),
            None => match &lease_error {
                Some(e) => println!("driver UNKNOWN: the lease could not be read: {e}"),
                None => println!("no driver holds the lease"),
            },
        }
        match (&snap.weights, snap.live, share) {
            (Ok(w), Some((live, from)), Some(share)) => println!(
                "live {live} ({}) · candidate {} · share {share} % ({w})",
                from.words(),
                live.other()
            ),
            (Ok(w), _, _) => println!(
                "traffic {w}: live UNKNOWN: split and no cutover record (set `live` in the config; `cutover rollback --to ENV` says where all traffic goes)"
            ),
            (Err(e), _, _) => println!("traffic UNKNOWN: {e}"),
        }
        match &snap.record {
            Ok(Some(r)) => {
                println!(
                    "cutover record: {} → {} started by {} at {}",
                    r.live,
                    r.candidate(),
                    r.by,
                    crate::app::words::hhmm(r.at)
                );
                if let Some(f) = &r.flight {
                    println!(
                        "  write IN FLIGHT: {} → {} % since {} ({} s ago; outcome unknown until the backend reads so; the next write clears it)",
                        r.candidate(),
                        f.share,
                        crate::app::words::hhmm(f.since),
                        (lease::wall_ms() - f.since).max(0) / 1000
                    );
                }
            }
            Ok(None) => {}
            Err(e) => println!("cutover record UNREADABLE: {e}"),
        }
        for env in Env::ALL {
            let s = snap.signals.get(env);
            let f = |series: &Series, fmt: &dyn Fn(f64) -> String| match series
                .latest
                .as_ref()
                .map(|x| &x.reading)
            {
                Some(Reading::Value(v)) => fmt(*v),
                Some(Reading::NoData(why)) => {
                    why.split(':').next().unwrap_or("no data").to_string()
                }
                Some(Reading::Error(_)) => "ERROR".to_string(),
                None => "—".to_string(),
            };
            println!(
                "{:<6} health {:<8} errors {:<9} p99 {:<9} rps {}",
                env.name(),
                s.health
                    .as_ref()
                    .map_or("unknown", |(h, _)| h.health.word()),
                f(&s.error_rate, &|v| format!("{:.2} %", v * 100.0)),
                f(&s.p99_ms, &|v| format!("{v:.0} ms")),
                f(&s.rps, &|v| format!("{v:.0}")),
            );
        }
        if let Some(d) = vs_live {
            let verdict = if d.significant {
                format!("significant, p = {:.3}", d.p_value)
            } else {
                "not significant".into()
            };
            println!("candidate vs live: {:+.2} pp errors, {verdict}", d.diff_pp);
        }
        for e in &snap.poll_errors {
            println!("signals UNAVAILABLE: {e}");
        }
        match guard_status {
            Some("breach") => println!("guardrails: BREACH {}", breaches.join(", ")),
            Some(s) => println!("guardrails: {}", s.to_uppercase()),
            None => {}
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
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
