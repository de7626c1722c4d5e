//! `cutover check`: the config, then that the backend, its write side, the cutover record,
//! every signal source and the journal answer, one `✓`, `✕` or `?` line each, without
//! changing traffic. Exits non-zero when anything that must work does not.

use super::exit_code;
use super::wiring::{connect, journal_path, load_config};
use crate::app::journal::Journal;
use crate::backends::{Slot, Switch, WriteCheck};
use crate::cli::Cli;
use crate::config::Config;
use crate::core::{Env, EnvPair, Reading, Record};
use crate::signals::{EnvPoll, SignalSource};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// `cutover check`: every step runs, in order, whatever the one before found.
pub(super) async fn check(cli: &Cli) -> anyhow::Result<ExitCode> {
    let config = load_config(cli)?;
    // Everything the cockpit loads: a theme that would fail it fails here first.
    super::wiring::theme(cli, config.theme.as_deref())?;
    let (backend, sources) = connect(cli, &config).await?;
    // A flip-only backend has one step, whatever the config's plan says.
    let plan = if backend.capabilities().weighted {
        config.plan.to_string()
    } else {
        "0 → 100 (flip-only)".to_string()
    };
    say((
        true,
        format!(
            "✓ config: {} ({} backend, plan {plan})",
            config.name,
            config.backend.kind(),
        ),
    ));
    let mut ok = check_backend(&config, backend.as_ref()).await;
    if let Ok(Ok(advice)) = tokio::time::timeout(config.poll_timeout, backend.advice()).await {
        for a in advice {
            say((true, format!("! {a}")));
        }
    }
    ok &= say(write_side_line(
        tokio::time::timeout(config.poll_timeout, backend.check_write())
            .await
            .ok(),
        config.poll_timeout,
    ));
    ok &= check_record(&config, backend.as_ref()).await;
    for source in &sources {
        ok &= check_source(&config, source.as_ref()).await;
    }
    ok &= check_schema(&config, backend.as_ref()).await;
    for hook in &config.hooks {
        ok &= say(check_hook(hook, config.poll_timeout).await);
    }
    // Probed, not opened: `check` changes nothing (no rotation, no file made).
    let path = journal_path(cli, Some(&config), &config.name);
    ok &= say(match Journal::probe(&path) {
        Ok(None) => (true, format!("✓ journal: {}", path.display())),
        Ok(Some(why)) => (true, format!("? journal: {}: {why}", path.display())),
        Err(e) => (
            false,
            format!("✕ journal: cannot write {}: {e}", path.display()),
        ),
    });
    Ok(exit_code(ok))
}

/// `[schema]`: the history reads (one read-only query), each env's `schema-max` reads,
/// and what a rollback to the live env would meet: `✕` when a migration makes it unsafe,
/// `?` when that cannot be known.
async fn check_schema(config: &Config, backend: &dyn Switch) -> bool {
    let Some(feed) = super::wiring::schema_feed(config) else {
        return true;
    };
    let place = feed.reader.settings().place();
    let t0 = std::time::Instant::now();
    let ((read, max), record, weights) = futures::join!(
        feed.poll(),
        tokio::time::timeout(config.poll_timeout, backend.record()),
        tokio::time::timeout(config.poll_timeout, backend.read())
    );
    let ms = t0.elapsed().as_millis();
    let mut ok = say(match &read {
        Ok(r) => (
            true,
            format!(
                "✓ schema: {place}: {} migration{} read, newest {} ({ms} ms, read-only session)",
                r.migrations.len(),
                if r.migrations.len() == 1 { "" } else { "s" },
                r.head()
                    .map_or_else(|| "none".to_string(), crate::core::schema::Migration::label)
            ),
        ),
        Err(e) => (false, format!("✕ schema: {e}")),
    });
    for env in crate::core::Env::ALL {
        match max.get(env) {
            Some(Ok(v)) => {
                say((true, format!("✓ schema-max {env}: {v}")));
            }
            Some(Err(e)) => ok &= say((false, format!("✕ schema-max {env}: {e}"))),
            None => {}
        }
    }
    let record = record.ok().and_then(Result::ok).flatten();
    let weights = weights.ok().and_then(Result::ok);
    let now = crate::app::lease::wall_ms();
    let Some((target, _)) = crate::core::resolve_live(config.live, record.as_ref(), weights, now)
    else {
        say((
            true,
            "? rollback safety: who is live is not known".to_string(),
        ));
        return ok;
    };
    let j = crate::app::safety::judge_look(&crate::app::safety::Look {
        read: &read,
        max: &max,
        record: record.as_ref(),
        weights,
        target,
        target_version: config.envs.get(target).version.as_deref(),
        contract: &feed.reader.settings().contract.0,
        now,
    });
    let words = j.words(
        config.envs.get(target).version.as_deref(),
        &crate::app::words::hhmm,
    );
    ok & say(match j.safety.state() {
        "safe" => (true, format!("✓ rollback safety: {words}")),
        "unsafe" => (false, format!("✕ rollback safety: {words}")),
        _ => (true, format!("? rollback safety: {words}")),
    })
}

/// A webhook: its host answers a connection (nothing is posted: a check tells no one).
/// The URL is a secret: only its scheme and host are shown.
async fn check_hook(hook: &crate::app::notify::Webhook, timeout: Duration) -> (bool, String) {
    let Ok(u) = reqwest::Url::parse(&hook.url) else {
        return (false, format!("✕ notify ${}: not a URL", hook.name));
    };
    let host = u.host_str().unwrap_or_default().to_string();
    let port = u.port_or_known_default().unwrap_or(443);
    let shown = format!("{}://{host}:{port}/…", u.scheme());
    match tokio::time::timeout(
        timeout,
        tokio::net::TcpStream::connect((host.as_str(), port)),
    )
    .await
    {
        Ok(Ok(_)) => (
            true,
            format!(
                "✓ notify ${}: {shown} accepts connections (nothing sent)",
                hook.name
            ),
        ),
        Ok(Err(e)) => (
            false,
            format!("✕ notify ${}: {shown}: cannot connect: {e}", hook.name),
        ),
        Err(_) => (
            false,
            format!(
                "✕ notify ${}: {shown}: no connection within {} (poll-timeout)",
                hook.name,
                crate::shared::seconds_text(timeout.as_secs_f64())
            ),
        ),
    }
}

/// Prints a check's line; returns whether it passed.
fn say((ok, line): (bool, String)) -> bool {
    println!("{}", crate::shared::printable(&line));
    ok
}

/// The backend's weights, and how long reading them took.
async fn check_backend(config: &Config, backend: &dyn Switch) -> bool {
    let t = Instant::now();
    say(
        match tokio::time::timeout(config.poll_timeout, backend.read()).await {
            Ok(Ok(w)) => (
                true,
                format!(
                    "✓ backend {} {}: {w} ({} ms)",
                    backend.kind(),
                    backend.target(),
                    t.elapsed().as_millis()
                ),
            ),
            Ok(Err(e)) => (false, format!("✕ backend: {e}")),
            Err(_) => (
                false,
                format!(
                    "✕ backend {}: no answer within {} (poll-timeout: each read of a poll is cut there)",
                    backend.target(),
                    crate::shared::seconds_text(config.poll_timeout.as_secs_f64())
                ),
            ),
        },
    )
}

/// The write side, proven without changing traffic (`None`: no answer within `timeout`).
/// What cannot be proven without writing is said with `?` and does not fail the check.
fn write_side_line(check: Option<WriteCheck>, timeout: Duration) -> (bool, String) {
    match check {
        Some(WriteCheck::Proven(what)) => (true, format!("✓ write side: {what}")),
        Some(WriteCheck::Denied(why)) => (false, format!("✕ write side: {why}")),
        Some(WriteCheck::Unprovable(why)) => (true, format!("? write side: {why}")),
        None => (
            false,
            format!(
                "✕ write side: no answer within {} (poll-timeout)",
                crate::shared::seconds_text(timeout.as_secs_f64())
            ),
        ),
    }
}

/// The cutover record at the backend.
async fn check_record(config: &Config, backend: &dyn Switch) -> bool {
    let (read, weights) = futures::join!(
        tokio::time::timeout(config.poll_timeout, backend.record()),
        tokio::time::timeout(config.poll_timeout, backend.read()),
    );
    let place = backend.place(Slot::Record);
    let weights = weights.ok().and_then(Result::ok);
    say(match read {
        // One the traffic contradicts directs no rollback: a cutover on it cannot start.
        Ok(Ok(Some(r)))
            if let Some(w) = weights
                && !r.agrees_with(w, crate::app::lease::wall_ms()) =>
        {
            (
                false,
                format!(
                    "✕ cutover record: {} ({place}); `cutover rollback --to ENV` says where all traffic goes and replaces it",
                    r.disagreement(w)
                ),
            )
        }
        Ok(Ok(r)) => (true, record_line(r.as_ref(), &place)),
        Ok(Err(e)) => (false, format!("✕ cutover record: {e}")),
        Err(_) => (false, "✕ cutover record: no answer".to_string()),
    })
}

/// A record that was read: the cutover it names, or none.
fn record_line(record: Option<&Record>, place: &str) -> String {
    match record {
        Some(r) => format!(
            "✓ cutover record: {} ({place})",
            crate::app::words::record_words(r)
        ),
        None => format!("✓ cutover record: none (no cutover in progress) at {place}"),
    }
}

/// One signal source: it answers, how long the poll took, and both envs' health where it
/// gives it. An env it says is not up fails the check, with the probe's words: a cutover
/// needs both.
async fn check_source(config: &Config, source: &dyn SignalSource) -> bool {
    let t = Instant::now();
    say(
        match tokio::time::timeout(config.poll_timeout, source.poll()).await {
            Ok(Ok(p)) => source_line(&source.name(), &p, t.elapsed().as_millis()),
            Ok(Err(e)) => (false, format!("✕ signals {}: {e}", source.name())),
            Err(_) => (
                false,
                format!(
                    "✕ signals {}: no answer within {} (poll-timeout)",
                    source.name(),
                    crate::shared::seconds_text(config.poll_timeout.as_secs_f64())
                ),
            ),
        },
    )
}

/// A source's answer as a check line: `✓` when every env it gives health for is up (or it
/// gives none), `✕` naming each env that is not, with why.
fn source_line(name: &str, poll: &EnvPair<EnvPoll>, ms: u128) -> (bool, String) {
    use crate::core::Health;
    let mut ok = true;
    let mut unsure = false;
    let words: Vec<String> = Env::ALL
        .into_iter()
        .map(|e| match &poll.get(e).health {
            None => format!("{e} health not given"),
            Some(h) if h.health == Health::Up => format!("{e} up"),
            // Not said up or down (HAProxy with no check on the server): told, not failed.
            Some(h) if h.health == Health::Unknown => {
                unsure = true;
                format!("{e} unknown ({})", h.detail)
            }
            Some(h) => {
                ok = false;
                format!("{e} {} ({})", h.health.word().to_uppercase(), h.detail)
            }
        })
        .collect();
    let mark = match (ok, unsure) {
        (false, _) => "✕",
        (true, true) => "?",
        (true, false) => "✓",
    };
    // A query the source refused or an answer it could not read is a failed check: the
    // cockpit would show ERROR where a number should be.
    let unread: Vec<String> = Env::ALL
        .into_iter()
        .flat_map(|e| {
            let p = poll.get(e);
            p.read_errors()
                .into_iter()
                .chain(p.invalid())
                .map(move |why| format!("{e} {why}"))
        })
        .collect();
    // Every query answered, and every answer empty for both envs: not a failure (no
    // traffic yet is possible) but never a ✓ either, as a label that matches nothing looks
    // exactly like this.
    let all_empty = Env::ALL.iter().all(|e| {
        let p = poll.get(*e);
        let readings: Vec<&Reading> = [&p.error_rate, &p.p99_ms, &p.rps, &p.requests, &p.errors]
            .into_iter()
            .flatten()
            .chain(p.metrics.iter().map(|(_, r)| r))
            .collect();
        !readings.is_empty() && readings.iter().all(|r| matches!(r, Reading::NoData(_)))
    });
    let mark = match (unread.is_empty(), all_empty) {
        (false, _) => "✕",
        (true, true) if mark == "✓" => "?",
        _ => mark,
    };
    let ok = ok && unread.is_empty();
    let mut said = if Env::ALL.iter().all(|e| poll.get(*e).health.is_none()) {
        "answers (no health from this source)".to_string()
    } else {
        words.join(", ")
    };
    if !unread.is_empty() {
        said = format!("{said}; could not read {}", unread.join("; "));
    }
    if all_empty {
        // Only a query language has labels and metric names to get wrong.
        let why = if name.starts_with("prometheus") {
            "no traffic yet, or a label or metric name that matches nothing: try a query in Prometheus"
        } else {
            "no traffic yet"
        };
        said = format!("{said}; every reading was empty for both envs ({why})");
    }
    (ok, format!("{mark} signals {name}: {said} ({ms} ms)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every query empty for both envs is `?` with why, never ✓; one env with a number is ✓.
    #[test]
    fn a_source_whose_every_answer_is_empty_is_not_a_tick() {
        let empty = || EnvPoll {
            error_rate: Some(Reading::NoData("empty".into())),
            p99_ms: Some(Reading::NoData("empty".into())),
            ..EnvPoll::default()
        };
        let (ok, line) = source_line("prometheus", &EnvPair::new(empty(), empty()), 3);
        assert!(ok, "{line}");
        assert!(
            line.starts_with("? signals prometheus:")
                && line.contains("every reading was empty for both envs")
                && line.contains("try a query in Prometheus"),
            "{line}"
        );
        // HAProxy's stats, the simulator's: no query to get wrong.
        let (_, line) = source_line(
            "haproxy stats 127.0.0.1:9999",
            &EnvPair::new(empty(), empty()),
            3,
        );
        assert!(
            line.contains("(no traffic yet)") && !line.contains("Prometheus"),
            "{line}"
        );
        let mut blue = empty();
        blue.error_rate = Some(Reading::Value(0.001));
        let (ok, line) = source_line("prometheus", &EnvPair::new(blue, empty()), 3);
        assert!(ok && line.starts_with("✓ signals"), "{line}");
        // No readings at all (a health-only source): not "empty".
        let (_, line) = source_line("health", &EnvPair::default(), 3);
        assert!(!line.contains("empty"), "{line}");
    }

    #[test]
    fn a_write_side_that_cannot_be_proven_is_said_but_does_not_fail() {
        let t = Duration::from_secs(3);
        assert_eq!(
            write_side_line(Some(WriteCheck::Proven("admin socket".into())), t),
            (true, "✓ write side: admin socket".into())
        );
        assert_eq!(
            write_side_line(Some(WriteCheck::Denied("no permission".into())), t),
            (false, "✕ write side: no permission".into())
        );
        assert_eq!(
            write_side_line(Some(WriteCheck::Unprovable("only by writing".into())), t),
            (true, "? write side: only by writing".into())
        );
        assert_eq!(
            write_side_line(None, t),
            (
                false,
                "✕ write side: no answer within 3.0 s (poll-timeout)".into()
            )
        );
    }

    #[test]
    fn a_record_line_names_the_cutover_and_where_the_record_is() {
        assert_eq!(
            record_line(None, "/var/lib/cutover/record"),
            "✓ cutover record: none (no cutover in progress) at /var/lib/cutover/record"
        );
        let r = Record::new(Env::Green, "alice@h", 0);
        let line = record_line(Some(&r), "tag cutover-record");
        assert!(
            line.starts_with("✓ cutover record: green → blue started by alice@h at "),
            "{line}"
        );
        assert!(line.ends_with(" (tag cutover-record)"), "{line}");
    }
}
