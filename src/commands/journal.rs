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
    let read = Journal::read(&path, |e| cutoff.is_none_or(|c| at_or_after(&e.ts, c)))
        .with_context(|| format!("cannot read the journal {}", path.display()))?;
    if read.skipped > 0 {
        err!(
            "cutover: {} unreadable line{} skipped in {} (not UTF-8 or not a journal entry)",
            read.skipped,
            if read.skipped == 1 { "" } else { "s" },
            path.display()
        );
    }
    let entries = read.entries;
    let items = timeline::build(&entries);
    match format {
        TimelineFormat::Text => print!("{}", crate::shared::printable(&timeline::text(&items))),
        TimelineFormat::Markdown => {
            print!("{}", crate::shared::printable(&timeline::markdown(&items)));
        }
        TimelineFormat::Json => println!(
            "{}",
            crate::shared::json_for_terminal(serde_json::to_string_pretty(&items)?)
        ),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn since_is_a_duration_back_or_a_time() {
        let now = utc("2026-11-23T16:00:00Z");
        assert_eq!(parse_since("2h", now).unwrap(), utc("2026-11-23T14:00:00Z"));
        assert_eq!(
            parse_since("90s", now).unwrap(),
            utc("2026-11-23T15:58:30Z")
        );
        assert_eq!(
            parse_since("2026-11-23T14:00:00+01:00", now).unwrap(),
            utc("2026-11-23T13:00:00Z")
        );
        let e = parse_since("yesterday", now).unwrap_err().to_string();
        assert!(e.contains("--since"), "{e}");
        assert!(
            e.contains("value \"yesterday\": expected a duration such as \"2h\""),
            "{e}"
        );
    }

    #[test]
    fn lines_before_the_cutoff_or_without_a_readable_time_are_left_out() {
        let cutoff = utc("2026-11-23T14:00:00Z");
        assert!(at_or_after("2026-11-23T14:00:00Z", cutoff));
        assert!(at_or_after("2026-11-23T15:30:00+01:00", cutoff));
        assert!(!at_or_after("2026-11-23T14:59:59+01:00", cutoff));
        assert!(!at_or_after("not a time", cutoff));
    }
}
