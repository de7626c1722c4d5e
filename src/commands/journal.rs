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
        None => match load_config(cli) {
            Ok(config) => config
                .journal
                .clone()
                .unwrap_or_else(|| journal::default_path(&config.name)),
            // The timeline needs only where the journal is: a config that does not load
            // whole (a secret's variable unset in this shell) still names it.
            Err(e) => match journal_named(cli) {
                Some(p) => {
                    err!(
                        "cutover: note: the config did not load ({e}); reading the journal it names"
                    );
                    p
                }
                None => return Err(e.into()),
            },
        },
    };
    let cutoff = since.map(|s| parse_since(s, Utc::now())).transpose()?;
    // A rotated journal holds the entries up to its rotation: with `--since`, each one
    // rotated after the cutoff is read first; without, they are named, never silently left.
    let rotated = rotated_files(&path);
    let (older, left): (Vec<_>, Vec<_>) = rotated
        .into_iter()
        .partition(|(stamp, _)| cutoff.is_some_and(|c| *stamp >= stamp_of(c)));
    if !left.is_empty() {
        let names: Vec<String> = left.iter().map(|(_, p)| p.display().to_string()).collect();
        err!(
            "cutover: {} older journal file{} not read (rotated{}): {}{}",
            left.len(),
            if left.len() == 1 { "" } else { "s" },
            if cutoff.is_some() {
                " before --since"
            } else {
                ""
            },
            names.join(", "),
            if cutoff.is_some() {
                ""
            } else {
                "; --since reads those rotated after it"
            }
        );
    }
    // Streamed: each item printed once no earlier write waits for its result, so memory
    // does not grow with the span read (a year of history is read a line at a time).
    let mut out = Printer::new(format);
    let mut merger = timeline::Merger::default();
    for file in older.iter().map(|(_, p)| p).chain(std::iter::once(&path)) {
        let skipped = Journal::scan(file, |e| {
            if cutoff.is_none_or(|c| at_or_after(&e.ts, c)) {
                merger.push(&e);
                out.items(merger.ready());
            }
        })
        .with_context(|| format!("cannot read the journal {}", file.display()))?;
        if skipped > 0 {
            err!(
                "cutover: {} unreadable line{} skipped in {} (not UTF-8 or not a journal entry)",
                skipped,
                if skipped == 1 { "" } else { "s" },
                file.display()
            );
        }
    }
    out.items(merger.finish());
    out.end()?;
    Ok(ExitCode::SUCCESS)
}

/// Prints timeline items as they come, in one format, escaped for the terminal: text and
/// Markdown a line at a time, JSON an array written an element at a time.
struct Printer {
    format: TimelineFormat,
    out: std::io::BufWriter<std::io::Stdout>,
    /// Items printed so far.
    n: usize,
    /// The first write error (stdout closed: `| head`), kept to say once.
    failed: Option<std::io::Error>,
}

impl Printer {
    fn new(format: TimelineFormat) -> Printer {
        Printer {
            format,
            out: std::io::BufWriter::new(std::io::stdout()),
            n: 0,
            failed: None,
        }
    }

    fn put(&mut self, text: &str) {
        use std::io::Write;
        if self.failed.is_none()
            && let Err(e) = self.out.write_all(text.as_bytes())
        {
            self.failed = Some(e);
        }
    }

    fn items(&mut self, items: Vec<timeline::Item>) {
        for i in items {
            let text = match self.format {
                TimelineFormat::Text => timeline::text_line(&i),
                TimelineFormat::Markdown => {
                    let row = timeline::markdown_row(&i);
                    if self.n == 0 {
                        format!("{}{row}", timeline::MARKDOWN_HEAD)
                    } else {
                        row
                    }
                }
                TimelineFormat::Json => {
                    let item = serde_json::to_string_pretty(&i)
                        .unwrap_or_default()
                        .replace('\n', "\n  ");
                    format!("{}  {item}", if self.n == 0 { "[\n" } else { ",\n" })
                }
            };
            let text = match self.format {
                TimelineFormat::Json => crate::shared::json_for_terminal(text),
                _ => crate::shared::printable(&text).into_owned(),
            };
            self.put(&text);
            self.n += 1;
        }
    }

    fn end(mut self) -> std::io::Result<()> {
        use std::io::Write;
        match self.format {
            TimelineFormat::Markdown if self.n == 0 => self.put(timeline::MARKDOWN_HEAD),
            TimelineFormat::Json if self.n == 0 => self.put("[]\n"),
            TimelineFormat::Json => self.put("\n]\n"),
            _ => {}
        }
        // A reader that stopped early (`| head`) is no failure of the timeline.
        let quiet = |r: std::io::Result<()>| match r {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other,
        };
        if let Some(e) = self.failed.take() {
            return quiet(Err(e));
        }
        quiet(self.out.flush())
    }
}

/// The journal the config file names (`journal`, else the default path for its `name`),
/// read from its TOML alone; `None` when the file is not TOML at all.
fn journal_named(cli: &Cli) -> Option<std::path::PathBuf> {
    let path = cli
        .config
        .clone()
        .unwrap_or_else(|| std::path::PathBuf::from("cutover.toml"));
    let text = crate::shared::read_small_file(&path, crate::shared::SMALL_FILE_MAX).ok()?;
    let v: toml::Table = toml::from_str(&text).ok()?;
    if let Some(j) = v.get("journal").and_then(toml::Value::as_str) {
        return Some(std::path::PathBuf::from(j));
    }
    let name = v
        .get("name")
        .and_then(toml::Value::as_str)
        .unwrap_or("cutover");
    Some(journal::default_path(name))
}

/// The journal files rotated away from `path` (`PATH.2026-11-26T14-44-38.123Z`), oldest
/// first, each with its rotation stamp.
fn rotated_files(path: &std::path::Path) -> Vec<(String, std::path::PathBuf)> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Vec::new();
    };
    let dir = if dir.as_os_str().is_empty() {
        std::path::Path::new(".")
    } else {
        dir
    };
    let prefix = format!("{}.", name.to_string_lossy());
    let Ok(list) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, std::path::PathBuf)> = list
        .filter_map(Result::ok)
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            let stamp = n.strip_prefix(&prefix)?.to_string();
            // Only a stamp: `2026-…T…Z`.
            let looks = stamp.len() >= 20
                && stamp.starts_with(|c: char| c.is_ascii_digit())
                && stamp.ends_with('Z');
            (looks && e.file_type().is_ok_and(|t| t.is_file())).then(|| (stamp, e.path()))
        })
        .collect();
    out.sort();
    out
}

/// `t` as a rotation stamp (the journal's time with `:` as `-`), to compare with one.
fn stamp_of(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H-%M-%S").to_string()
}

/// `--since`: a duration back from `now` (`2h`), or a time (`2026-11-23T14:00:00Z`).
fn parse_since(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, ConfigError> {
    Ok(match humantime::parse_duration(s) {
        // Further back than the calendar goes: everything.
        Ok(d) => chrono::Duration::from_std(d)
            .ok()
            .and_then(|d| now.checked_sub_signed(d))
            .unwrap_or(DateTime::<Utc>::MIN_UTC),
        Err(_) => DateTime::parse_from_rfc3339(s)
            .map_err(|_| {
                ConfigError::new(
                    "--since",
                    format!(
                        "value {:?}: expected a duration such as \"2h\" or a time such as \"2026-11-23T14:00:00Z\"",
                        crate::shared::one_line(s, 60)
                    ),
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
        let long = "x".repeat(5000);
        let e = parse_since(&long, now).unwrap_err().to_string();
        assert!(e.len() < 300, "{}", e.len());
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
