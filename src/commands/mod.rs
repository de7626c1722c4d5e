//! What each command does. The TUI and the CLI share the engine, journal and verification.

use crate::app::journal::{self, Journal};
use crate::backends::WriteCheck;
use crate::cli::{Cli, Command, TimelineFormat};
use crate::config::ConfigError;
use crate::core::Env;
use anyhow::Context;
use std::process::ExitCode;

mod cockpit;
mod report;
mod rollback;
mod sim;
mod snapshot;
mod status;
mod status_json;
mod wiring;
mod write;

use cockpit::{cockpit, demo};
use sim::sim;
use status::status;
use wiring::{connect, journal_for, load_config};
use write::{WriteCmd, write_cmd};

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
