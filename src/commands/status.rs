//! `cutover status`: one look at the traffic, the cutover record, the driver lease and both
//! envs' signals, and what follows from it (the candidate, the guardrails, the error-rate
//! test, who drives), printed as text (`status_text.rs`) or JSON (`status_json.rs`). Exits
//! non-zero when the backend or a signal source could not be read.

use super::exit_code;
use super::snapshot::{Snapshot, snapshot};
use super::status_json::status_json;
use super::status_text::text;
use super::wiring::{connect, load_config};
use crate::app::journal::Who;
use crate::app::lease;
use crate::backends::BackendError;
use crate::cli::Cli;
use crate::config::Config;
use crate::core::Lease;
use crate::core::guardrail::{RuleResult, any_breach};
use crate::core::stats::{Difference, two_proportion};
use crate::core::{Env, EnvSignals, Judging, Millis, Provided, RuleCheck};
use std::process::ExitCode;

/// What `status` concludes from one snapshot and the lease.
pub(super) struct Facts {
    /// The snapshot clock's now, for the signals' ages.
    pub now: Millis,
    pub cand: Option<Env>,
    pub share: Option<u8>,
    /// `breach`, `invalid`, `stale`, `no-data`, `waiting` or `ok` (the worst rule's);
    /// `None` when live is unknown.
    pub guard_status: Option<&'static str>,
    pub breaches: Vec<String>,
    /// Every guardrail's verdict on the candidate, with its value and limit.
    pub rules: Vec<RuleResult>,
    pub vs_live: Option<Difference>,
    /// Who holds a live lease (a lapsed one is nobody).
    pub driver: Option<Lease>,
    pub lease_error: Option<String>,
}

/// This machine's host name, as leases name it.
pub(super) fn who_host() -> String {
    Who::current()
        .user
        .rsplit_once('@')
        .map_or_else(String::new, |(_, h)| h.to_string())
}

/// `cutover status [--json]`.
/// `status` as text lines, with the look it was made from: what `approve` shows before
/// it asks.
pub(super) async fn status_lines(
    config: &Config,
    backend: &dyn crate::backends::Backend,
    sources: &[std::sync::Arc<dyn crate::core::SignalSource>],
) -> (Vec<String>, Snapshot) {
    let (snap, lease_read) = futures::join!(
        snapshot(config, backend, sources),
        tokio::time::timeout(config.poll_timeout, backend.lease())
    );
    let (driver, lease_error) = driver_of(
        lease_read.ok(),
        lease::wall_ms(),
        &who_host(),
        lease::process_alive,
    );
    let provided = Provided::any(sources.iter().map(|s| s.provides()));
    let facts = facts(config, &snap, provided, (driver, lease_error));
    (text(config, backend, &snap, &facts), snap)
}

pub(super) async fn status(cli: &Cli, json: bool) -> anyhow::Result<ExitCode> {
    let config = load_config(cli)?;
    let (backend, sources) = connect(cli, &config).await?;
    // Who drives: the lease as stored beside the backend (a lapsed one is nobody), read
    // alongside everything else, so a backend that hangs costs one timeout, not two.
    let (snap, lease_read) = futures::join!(
        snapshot(&config, backend.as_ref(), &sources),
        tokio::time::timeout(config.poll_timeout, backend.lease())
    );
    let lease_read = lease_read.ok();
    // A database that did not answer is a feed that did not: said, and not a success.
    let schema_ok = snap.schema.as_ref().is_none_or(|(r, _)| r.is_ok());
    let ok = snap.weights.is_ok() && snap.poll_errors.is_empty() && schema_ok;
    let (driver, lease_error) = driver_of(
        lease_read,
        lease::wall_ms(),
        &who_host(),
        lease::process_alive,
    );
    let provided = Provided::any(sources.iter().map(|s| s.provides()));
    let facts = facts(&config, &snap, provided, (driver, lease_error));
    if json {
        let v = status_json(&config, backend.as_ref(), &snap, &facts);
        println!(
            "{}",
            crate::shared::json_for_terminal(serde_json::to_string_pretty(&v)?)
        );
    } else {
        for line in text(&config, backend.as_ref(), &snap, &facts) {
            println!("{}", crate::shared::printable(&line));
        }
    }
    Ok(exit_code(ok))
}

/// The facts `wait` judges by: as `status` has them, without who drives.
pub(super) fn facts_of(
    config: &Config,
    snap: &Snapshot,
    sources: &[std::sync::Arc<dyn crate::core::SignalSource>],
) -> Facts {
    let provided = Provided::any(sources.iter().map(|s| s.provides()));
    facts(config, snap, provided, (None, None))
}

/// The candidate, its share, the guardrails (one look cannot tell how long a breach has
/// lasted: `for` is not applied here) and the error-rate test against live.
fn facts(
    config: &Config,
    snap: &Snapshot,
    provided: Provided,
    (driver, lease_error): (Option<Lease>, Option<String>),
) -> Facts {
    let now = snap.clock.now();
    let cand = snap.live.map(|(l, _)| l.other());
    let share = cand.and_then(|c| snap.weights.as_ref().ok().and_then(|w| w.share_of(c)));
    let at = Judging {
        now,
        interval: config.poll_interval.as_millis() as u64,
        provided,
    };
    let guard = cand.map(|c| {
        let mut results =
            config
                .guardrails
                .evaluate(snap.signals.get(c), snap.signals.get(c.other()), at);
        let serving = share.is_some_and(|s| s > 0);
        super::snapshot::settle_look(config, snap, &mut results, (c, at, serving));
        results
    });
    let (guard_status, breaches) = guard_summary(guard.as_deref());
    let rules = guard.unwrap_or_default();
    let vs_live = cand.and_then(|c| vs_live(snap.signals.get(c), snap.signals.get(c.other())));
    Facts {
        now,
        cand,
        share,
        guard_status,
        breaches,
        rules,
        vs_live,
        driver,
        lease_error,
    }
}

/// The guardrails' verdict, the worst rule's (`breach`, `invalid`, `stale`, `no-data`,
/// `waiting`, else `ok`), and the names of the rules in breach; no verdict when there is
/// no candidate to judge.
fn guard_summary(guard: Option<&[RuleResult]>) -> (Option<&'static str>, Vec<String>) {
    let breaches = guard
        .iter()
        .copied()
        .flatten()
        .filter(|r| r.check == RuleCheck::Breach)
        .map(|r| r.kind.name())
        .collect();
    let status = guard.map(|g| {
        if any_breach(g) {
            return "breach";
        }
        match g.iter().map(|r| &r.check).max_by_key(|c| c.severity()) {
            Some(RuleCheck::Invalid(_)) => "invalid",
            Some(RuleCheck::Stale) => "stale",
            Some(RuleCheck::NoData | RuleCheck::NoSource(_)) => "no-data",
            Some(RuleCheck::Waiting { .. }) => "waiting",
            // Windowed values still hold traffic from before the last move: no verdict.
            Some(RuleCheck::Settling { .. }) => "settling",
            Some(RuleCheck::Pending { .. }) => "pending",
            _ => "ok",
        }
    });
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
pub(super) fn driver_of(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Reading;
    use crate::core::RuleKind;

    fn rule(kind: RuleKind, check: RuleCheck) -> RuleResult {
        RuleResult {
            kind,
            check,
            value: None,
            limit: 1.0,
        }
    }

    #[test]
    fn guardrails_breach_before_no_data_before_ok() {
        assert_eq!(guard_summary(None), (None, vec![]));
        let ok = [rule(RuleKind::ErrorRate, RuleCheck::Ok)];
        assert_eq!(guard_summary(Some(&ok)), (Some("ok"), vec![]));
        let quiet = [
            rule(RuleKind::ErrorRate, RuleCheck::Ok),
            rule(RuleKind::P99, RuleCheck::NoData),
        ];
        assert_eq!(guard_summary(Some(&quiet)), (Some("no-data"), vec![]));
        let bad = [
            rule(RuleKind::ErrorRate, RuleCheck::Breach),
            rule(RuleKind::P99, RuleCheck::Stale),
            rule(RuleKind::HealthFailures, RuleCheck::Breach),
        ];
        let (status, breaches) = guard_summary(Some(&bad));
        assert_eq!(status, Some("breach"));
        assert_eq!(breaches, ["error-rate", "health"]);
        // Without a breach, the worst verdict names the status.
        let cases = [
            (RuleCheck::Invalid("NaN".into()), "invalid"),
            (RuleCheck::Stale, "stale"),
            (RuleCheck::NoSource("p99"), "no-data"),
            (RuleCheck::Waiting { n: 1, min: 9 }, "waiting"),
        ];
        for (check, want) in cases {
            let g = [
                rule(RuleKind::ErrorRate, RuleCheck::Ok),
                rule(RuleKind::P99, check),
            ];
            assert_eq!(guard_summary(Some(&g)).0, Some(want));
        }
    }

    #[test]
    fn the_driver_is_whoever_holds_a_live_lease() {
        let now = 1_000_000;
        let alive = |_| true;
        let theirs = Lease::with_pid("alice@bastion", "t", now - 5_000, 60_000, Some(7));
        let (driver, error) = driver_of(Some(Ok(Some(theirs.clone()))), now, "here", alive);
        assert_eq!((driver, error), (Some(theirs.clone()), None));
        // Lapsed: nobody.
        let (driver, error) =
            driver_of(Some(Ok(Some(theirs.clone()))), now + 60_000, "here", alive);
        assert_eq!((driver, error), (None, None));
        // Its process on this host is gone: nobody.
        let dead = |_| false;
        let (driver, error) = driver_of(Some(Ok(Some(theirs))), now, "bastion", dead);
        assert_eq!((driver, error), (None, None));
        assert_eq!(driver_of(Some(Ok(None)), now, "here", alive), (None, None));
    }

    #[test]
    fn a_lease_that_cannot_be_read_or_believed_is_an_error() {
        let now = 1_000_000;
        let alive = |_| true;
        let forever = Lease::new("mallory@x", "t", now, 2 * lease::LONGEST_MS as u64);
        let (driver, error) = driver_of(Some(Ok(Some(forever))), now, "here", alive);
        assert_eq!(driver, None);
        assert_eq!(
            error.as_deref(),
            Some(
                "mallory@x's lease runs longer than any cutover writes (lease-ttl is at most 1 h)"
            )
        );
        let e = BackendError::Unreachable {
            target: "kube".into(),
            message: "no route".into(),
        };
        let (_, error) = driver_of(Some(Err(e)), now, "here", alive);
        assert_eq!(error.as_deref(), Some("cannot reach kube: no route"));
        let (_, error) = driver_of(None, now, "here", alive);
        assert_eq!(error.as_deref(), Some("the lease store did not answer"));
    }

    #[test]
    fn the_error_rate_test_needs_counts_on_both_sides() {
        let mut cand = EnvSignals::default();
        let mut live = EnvSignals::default();
        assert_eq!(vs_live(&cand, &live), None);
        cand.requests.push(Reading::Value(10_000.0), 1);
        cand.errors.push(Reading::Value(500.0), 1);
        assert_eq!(vs_live(&cand, &live), None, "live has no counts");
        live.requests.push(Reading::Value(10_000.0), 1);
        live.errors.push(Reading::Value(100.0), 1);
        let d = vs_live(&cand, &live).expect("enough to judge");
        assert!((d.diff_pp - 4.0).abs() < 1e-9, "{}", d.diff_pp);
        assert!(d.significant);
    }
}
