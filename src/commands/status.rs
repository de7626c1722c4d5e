//! `cutover status`: one look at the traffic, the cutover record, the driver lease and both
//! envs' signals, as text (here) or as JSON (`status_json.rs`). Exits non-zero when the
//! backend or a signal source could not be read.

use super::exit_code;
use super::snapshot::{Snapshot, snapshot};
use super::status_json::status_json;
use super::wiring::{connect, load_config};
use crate::app::journal::Who;
use crate::app::lease;
use crate::app::words::hhmm;
use crate::backends::{Backend, BackendError};
use crate::cli::Cli;
use crate::config::Config;
use crate::core::Lease;
use crate::core::guardrail::{RuleResult, any_breach};
use crate::core::stats::{Difference, two_proportion};
use crate::core::{Env, EnvSignals, LiveFrom, Millis, Reading, Record, RuleCheck, Series, Weights};
use std::process::ExitCode;

/// What `status` concludes from one snapshot and the lease.
pub(super) struct Facts {
    /// The snapshot clock's now, for the signals' ages.
    pub now: Millis,
    pub cand: Option<Env>,
    pub share: Option<u8>,
    /// `ok`, `breach` or `no-data`; `None` when live is unknown.
    pub guard_status: Option<&'static str>,
    pub breaches: Vec<String>,
    pub vs_live: Option<Difference>,
    /// Who holds a live lease (a lapsed one is nobody).
    pub driver: Option<Lease>,
    pub lease_error: Option<String>,
}

/// This machine's host name, as leases name it.
fn who_host() -> String {
    Who::current()
        .user
        .rsplit_once('@')
        .map_or_else(String::new, |(_, h)| h.to_string())
}

/// `cutover status [--json]`.
pub(super) async fn status(cli: &Cli, json: bool) -> anyhow::Result<ExitCode> {
    let config = load_config(cli)?;
    let (backend, sources) = connect(&config).await?;
    let snap = snapshot(&config, backend.as_ref(), &sources).await;
    let ok = snap.weights.is_ok() && snap.poll_errors.is_empty();
    // Who drives: the lease as stored beside the backend (a lapsed one is nobody).
    let lease_read = tokio::time::timeout(config.poll_timeout, backend.lease())
        .await
        .ok();
    let (driver, lease_error) = driver_of(
        lease_read,
        lease::wall_ms(),
        &who_host(),
        lease::process_alive,
    );
    let facts = facts(&config, &snap, driver, lease_error);
    if json {
        let v = status_json(&config, backend.as_ref(), &snap, &facts);
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        for line in text(&config, backend.as_ref(), &snap, &facts) {
            println!("{line}");
        }
    }
    Ok(exit_code(ok))
}

/// The candidate, its share, the guardrails (one look cannot tell how long a breach has
/// lasted: `for` is not applied here) and the error-rate test against live.
fn facts(
    config: &Config,
    snap: &Snapshot,
    driver: Option<Lease>,
    lease_error: Option<String>,
) -> Facts {
    let now = snap.clock.now();
    let cand = snap.live.map(|(l, _)| l.other());
    let share = cand.and_then(|c| snap.weights.as_ref().ok().and_then(|w| w.share_of(c)));
    let interval = config.poll_interval.as_millis() as u64;
    let guard = cand.map(|c| {
        config.guardrails.evaluate(
            snap.signals.get(c),
            snap.signals.get(c.other()),
            now,
            interval,
        )
    });
    let (guard_status, breaches) = guard_summary(guard.as_deref());
    let vs_live = cand.and_then(|c| vs_live(snap.signals.get(c), snap.signals.get(c.other())));
    Facts {
        now,
        cand,
        share,
        guard_status,
        breaches,
        vs_live,
        driver,
        lease_error,
    }
}

/// The guardrails' verdict (`breach`, `ok` or `no-data`) and the names of the rules in
/// breach; no verdict when there is no candidate to judge.
fn guard_summary(guard: Option<&[RuleResult]>) -> (Option<&'static str>, Vec<String>) {
    let breaches = guard
        .iter()
        .copied()
        .flatten()
        .filter(|r| r.check == RuleCheck::Breach)
        .map(|r| r.kind.name())
        .collect();
    let status = match guard {
        None => None,
        Some(g) if any_breach(g) => Some("breach"),
        Some(g) if g.iter().all(|r| r.check == RuleCheck::Ok) => Some("ok"),
        Some(_) => Some("no-data"),
    };
    (status, breaches)
}

/// The candidate's error rate against live's, when both have the counts to judge.
fn vs_live(cand: &EnvSignals, live: &EnvSignals) -> Option<Difference> {
    two_proportion(
        cand.errors.value()?,
        cand.requests.value()?,
        live.errors.value()?,
        live.requests.value()?,
    )
}

/// Who drives, from the lease as read (`None`: it did not answer): nobody when it lapsed or
/// its process on this host is gone; an error when it could not be read or runs longer
/// than any cutover writes.
fn driver_of(
    read: Option<Result<Option<Lease>, BackendError>>,
    now: i64,
    my_host: &str,
    alive: impl Fn(u32) -> bool,
) -> (Option<Lease>, Option<String>) {
    match read {
        Some(Ok(Some(l))) if l.expires > now.saturating_add(lease::LONGEST_MS) => (
            None,
            Some(format!(
                "{}'s lease runs longer than any cutover writes (lease-ttl is at most 1 h)",
                l.holder
            )),
        ),
        Some(Ok(Some(l))) if l.free_for(my_host, now, alive) => (None, None),
        Some(Ok(Some(l))) => (Some(l), None),
        Some(Ok(_)) => (None, None),
        Some(Err(e)) => (None, Some(e.to_string())),
        None => (None, Some("the lease store did not answer".to_string())),
    }
}

/// `status` as text, one line each.
fn text(config: &Config, backend: &dyn Backend, snap: &Snapshot, f: &Facts) -> Vec<String> {
    let mut lines = vec![format!(
        "{} · {} {}",
        config.name,
        backend.kind(),
        backend.target()
    )];
    lines.push(driver_line(
        f.driver.as_ref(),
        f.lease_error.as_deref(),
        &backend.lease_place(),
    ));
    lines.push(traffic_line(&snap.weights, snap.live, f.share));
    lines.extend(record_lines(&snap.record, lease::wall_ms()));
    for env in Env::ALL {
        lines.push(env_line(env, snap.signals.get(env)));
    }
    if let Some(d) = f.vs_live {
        lines.push(vs_live_line(&d));
    }
    for e in &snap.poll_errors {
        lines.push(format!("signals UNAVAILABLE: {e}"));
    }
    lines.extend(guard_line(f.guard_status, &f.breaches));
    lines
}

fn driver_line(driver: Option<&Lease>, lease_error: Option<&str>, lease_place: &str) -> String {
    match (driver, lease_error) {
        (Some(l), _) => format!(
            "driven by {} since {} ({lease_place})",
            l.holder,
            hhmm(l.since)
        ),
        (None, Some(e)) => format!("driver UNKNOWN: the lease could not be read: {e}"),
        (None, None) => "no driver holds the lease".to_string(),
    }
}

fn traffic_line(
    weights: &Result<Weights, String>,
    live: Option<(Env, LiveFrom)>,
    share: Option<u8>,
) -> String {
    match (weights, live, share) {
        (Ok(w), Some((live, from)), Some(share)) => format!(
            "live {live} ({}) · candidate {} · share {share} % ({w})",
            from.words(),
            live.other()
        ),
        (Ok(w), _, _) => format!(
            "traffic {w}: live UNKNOWN: split and no cutover record (set `live` in the config; `cutover rollback --to ENV` says where all traffic goes)"
        ),
        (Err(e), _, _) => format!("traffic UNKNOWN: {e}"),
    }
}

/// The cutover record and the write it has in flight, at unix ms `now`.
fn record_lines(record: &Result<Option<Record>, String>, now: i64) -> Vec<String> {
    let r = match record {
        Ok(Some(r)) => r,
        Ok(None) => return Vec::new(),
        Err(e) => return vec![format!("cutover record UNREADABLE: {e}")],
    };
    let mut lines = vec![format!(
        "cutover record: {} → {} started by {} at {}",
        r.live,
        r.candidate(),
        r.by,
        hhmm(r.at)
    )];
    if let Some(f) = &r.flight {
        lines.push(format!(
            "  write IN FLIGHT: {} → {} % since {} ({} s ago; outcome unknown until the backend reads so; the next write clears it)",
            r.candidate(),
            f.share,
            hhmm(f.since),
            (now - f.since).max(0) / 1000
        ));
    }
    lines
}

fn env_line(env: Env, s: &EnvSignals) -> String {
    format!(
        "{:<6} health {:<8} errors {:<9} p99 {:<9} rps {}",
        env.name(),
        s.health
            .as_ref()
            .map_or("unknown", |(h, _)| h.health.word()),
        cell(&s.error_rate, &|v| format!("{:.2} %", v * 100.0)),
        cell(&s.p99_ms, &|v| format!("{v:.0} ms")),
        cell(&s.rps, &|v| format!("{v:.0}")),
    )
}

/// One signal's latest reading: the value as `fmt` writes it, why there is no data (up to
/// the first `:`), `ERROR`, or `—` when never read.
fn cell(series: &Series, fmt: &dyn Fn(f64) -> String) -> String {
    match series.latest.as_ref().map(|x| &x.reading) {
        Some(Reading::Value(v)) => fmt(*v),
        Some(Reading::NoData(why)) => why.split(':').next().unwrap_or("no data").to_string(),
        Some(Reading::Error(_)) => "ERROR".to_string(),
        None => "—".to_string(),
    }
}

fn vs_live_line(d: &Difference) -> String {
    let verdict = if d.significant {
        format!("significant, p = {:.3}", d.p_value)
    } else {
        "not significant".into()
    };
    format!("candidate vs live: {:+.2} pp errors, {verdict}", d.diff_pp)
}

fn guard_line(status: Option<&str>, breaches: &[String]) -> Option<String> {
    match status {
        Some("breach") => Some(format!("guardrails: BREACH {}", breaches.join(", "))),
        Some(s) => Some(format!("guardrails: {}", s.to_uppercase())),
        None => None,
    }
}
