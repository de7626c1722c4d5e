//! `cutover journal [--since WHEN] [--format F]`: the journal as an incident timeline, as
//! text, Markdown or JSON.

use super::wiring::load_config;
use crate::app::journal::{self, Journal};
use crate::app::timeline;
use crate::cli::{Cli, TimelineFormat};
use crate::config::ConfigError;
use anyhow::Context;
use chrono::{DateTime, Utc};
use std::process::ExitCode;

/// `cutover journal`: the journal as a timeline.
pub(super) fn timeline(
    cli: &Cli,
    since: Option<&str>,
    format: TimelineFormat,
) -> anyhow::Result<ExitCode> {
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
    let cutoff = since.map(|s| parse_since(s, Utc::now())).transpose()?;
    let entries = Journal::read_all(&path)
        .with_context(|| format!("cannot read the journal {}", path.display()))?;
    let entries: Vec<_> = entries
        .into_iter()
        .filter(|e| cutoff.is_none_or(|c| at_or_after(&e.ts, c)))
        .collect();
    let items = timeline::build(&entries);
    match format {
        TimelineFormat::Text => print!("{}", timeline::text(&items)),
        TimelineFormat::Markdown => print!("{}", timeline::markdown(&items)),
        TimelineFormat::Json => println!("{}", serde_json::to_string_pretty(&items)?),
    }
    Ok(ExitCode::SUCCESS)
}

/// `--since`: a duration back from `now` (`2h`), or a time (`2026-11-23T14:00:00Z`).
fn parse_since(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, ConfigError> {
    Ok(match humantime::parse_duration(s) {
        Ok(d) => now - chrono::Duration::from_std(d).unwrap_or_default(),
        Err(_) => DateTime::parse_from_rfc3339(s)
            .map_err(|_| {
                ConfigError::new(
                    "--since",
                    format!("value {s:?}: expected a duration such as \"2h\" or a time such as \"2026-11-23T14:00:00Z\""),
                )
            })?
            .with_timezone(&Utc),
    })
}

/// Whether a journal line's timestamp is at or after `cutoff`; an unreadable one is not.
fn at_or_after(ts: &str, cutoff: DateTime<Utc>) -> bool {
    DateTime::parse_from_rfc3339(ts).is_ok_and(|t| t.with_timezone(&Utc) >= cutoff)
}
