//! `cutover rollback [--to ENV]`: all traffic to the rollback target, now, in one backend
//! call. Never gated: no lease round trip, no guardrail, no dialog; a journal that cannot
//! be written is said (`ROLLBACK NOT JOURNALED`) and exits non-zero, but does not stop it.
//! The target is never guessed from a split (see the invariants in ARCHITECTURE.md).

use super::EXIT_USAGE;
use super::report::{notify_cli, report_write, say_tail};
use crate::app::engine::{self, WriteOrder};
use crate::app::journal::{CandidateSnapshot, Journal, Who, WriteAction};
use crate::app::lease;
use crate::app::words::hhmm;
use crate::backends::Switch;
use crate::config::Config;
use crate::core::{Env, Flight, Record, Weights, resolve_live};
use std::process::ExitCode;
use std::sync::Arc;

/// What a rollback reads before it writes: the weights, the record and who drives.
struct Before {
    weights: Option<Weights>,
    record: Option<Record>,
    /// Whoever holds a live lease, the same user in the next terminal included: not this
    /// process.
    driver: Option<String>,
}

/// `cutover rollback`: reads only what names the target (weights and record, at once),
/// says where traffic goes, then writes. Exit 0 only when verified and journaled.
pub(super) async fn rollback_cli(
    config: &Config,
    journal: Option<&Arc<Journal>>,
    backend: &Arc<dyn Switch>,
    who: &Who,
    to: Option<Env>,
) -> anyhow::Result<ExitCode> {
    let read = read_before(config, backend.as_ref()).await;
    let before = read.weights;
    let record = read.record.as_ref();
    let (live, from) = match rollback_target(to, config.live, record, before, lease::wall_ms()) {
        Ok(target) => target,
        Err(why) => {
            err!("cutover: not rolling back: {why}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    for w in target_warnings(record, config.live, to, live) {
        err!("cutover: warning: {w}");
    }
    let cand = live.other();
    // A forward write in flight may still land: a rollback is never "nothing to do" then.
    let in_flight = in_flight(record, live);
    if let Some(f) = in_flight {
        out!(
            "a write of {cand} → {} % is in flight per the cutover record (since {}): rolling back so it cannot win",
            f.share,
            hhmm(f.since)
        );
    }
    if to.is_none()
        && in_flight.is_none()
        && let Some(said) = nothing_to_roll_back(before, live, from)
    {
        out!("{said}");
        // The window ran out with nobody completing it: nothing judged the release since
        // (a cockpit holds the window on a failing one; none was open).
        if let Some(r) = record
            .filter(|r| r.candidate() == live && r.window_over(lease::wall_ms()))
            .filter(|r| r.end.is_some())
        {
            out!(
                "the rollback window ran out at {} and no cockpit completed it: nothing judged {live} at its end. If it is failing, `cutover rollback --to {}` sends all traffic back to {}",
                hhmm(r.end.unwrap_or_default()),
                r.live,
                r.live
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    out!("rolling back: all traffic to {live} (rollback target per {from})");
    // Only an explicit --to over what the record says rewrites the record (after the
    // read-back), or a record the traffic contradicted before this rollback; a config's
    // `live` may be stale and never rewrites one that agreed.
    let contradicted = record
        .zip(before)
        .is_some_and(|(r, w)| !r.agrees_with(w, lease::wall_ms()));
    let chosen = record.is_some_and(|r| r.live != live) && (to.is_some() || contradicted);
    let order = rollback_order(config, live, before, read.driver.clone(), chosen);
    // The result is said the moment it reads back, before the journal's fsync and the
    // record's update (whose failures are said after it), and before the webhooks are
    // told: nothing slow delays the word that traffic moved.
    let mut said = None;
    let tell = |a: &engine::Applied| said = Some(report_write(&order, before, &a.result));
    let done = match journal {
        Some(j) => engine::apply_reporting(backend.as_ref(), j, who, &order, tell).await,
        None => {
            let j = Journal::unwritable();
            engine::apply_reporting(backend.as_ref(), &j, who, &order, tell).await
        }
    };
    let mut code = said.unwrap_or_else(|| report_write(&order, before, &done.result));
    say_tail(backend.as_ref(), &done.result);
    notify_cli(config, who, &order, &done.result).await;
    if let Some(d) = &read.driver {
        out!("{d} drives this cutover: they will see this rollback within one poll");
    }
    if let Some(e) = &done.journal_error {
        // With no journal at all, the word was said when it could not be opened.
        if journal.is_some() {
            err!("cutover: ROLLBACK NOT JOURNALED: {e}");
        }
        code = ExitCode::FAILURE;
    }
    if let Some(e) = &done.record_error {
        err!("cutover: warning: the cutover record was not updated: {e}");
    }
    Ok(code)
}

/// The weights, the record and the lease, read at once; a record that cannot be read is
/// said and taken as none.
async fn read_before(config: &Config, backend: &dyn Switch) -> Before {
    let (read, slots) = futures::join!(
        tokio::time::timeout(config.poll_timeout, backend.read()),
        tokio::time::timeout(config.poll_timeout, backend.record_and_lease()),
    );
    let weights = read.ok().and_then(Result::ok);
    let Ok((record, lease)) = slots else {
        err!("cutover: warning: the cutover record did not answer");
        return Before {
            weights,
            record: None,
            driver: None,
        };
    };
    let record = record.unwrap_or_else(|e| {
        err!("cutover: warning: the cutover record could not be read: {e}");
        None
    });
    let driver = match lease {
        Ok(Some(l)) if !l.expired(lease::wall_ms()) => Some(l.holder),
        _ => None,
    };
    // The weights were read at the same time as the record: a write landing in between
    // (its record update follows its read-back) is read again before anyone is told
    // the record does not agree.
    let weights = match (&record, weights) {
        (Some(r), Some(w)) if !r.agrees_with(w, lease::wall_ms()) => {
            match tokio::time::timeout(config.poll_timeout, backend.read()).await {
                Ok(Ok(again)) => Some(again),
                _ => Some(w),
            }
        }
        _ => weights,
    };
    Before {
        weights,
        record,
        driver,
    }
}

/// Where all traffic goes, and what says so: `--to`, else `live` in the config, else the
/// record, else the env already holding all the traffic. A split with no record names no
/// target: the error says why and asks for `--to`.
fn rollback_target(
    to: Option<Env>,
    configured: Option<Env>,
    record: Option<&Record>,
    before: Option<Weights>,
    now_unix_ms: i64,
) -> Result<(Env, &'static str), String> {
    let resolved = match to {
        Some(env) => Some((env, "--to")),
        None => {
            resolve_live(configured, record, before, now_unix_ms).map(|(e, from)| (e, from.words()))
        }
    };
    resolved.ok_or_else(|| {
        if let (Some(r), Some(w)) = (record, before) {
            return format!(
                "{}; pass --to blue or --to green to say where ALL traffic goes (the record is replaced once it reads back)",
                r.disagreement(w)
            );
        }
        let state = match before {
            Some(w) => format!("traffic is {} ({w})", w.split_words()),
            None => "the backend's traffic state could not be read".to_string(),
        };
        format!(
            "{state} and no cutover record names the live env; pass --to blue or --to green to say where ALL traffic goes"
        )
    })
}

/// Where the record disagrees with the target chosen: the config or `--to` wins, and says
/// so.
fn target_warnings(
    record: Option<&Record>,
    configured: Option<Env>,
    to: Option<Env>,
    live: Env,
) -> Vec<String> {
    let mut warnings = Vec::new();
    let Some(r) = record else {
        return warnings;
    };
    if to.is_none() && configured.is_some_and(|l| l != r.live) {
        warnings.push(format!(
            "the cutover record says {} is live (started by {}), but `live` in the config says {}: the config wins; pass --to to say otherwise",
            r.live, r.by, live
        ));
    }
    if to.is_some_and(|t| t != r.live) {
        warnings.push(format!(
            "the cutover record says {} is live; --to {} overrides it: once the rollback reads back, the record names {} as live",
            r.live, live, live
        ));
    }
    warnings
}

/// The forward write the record has in flight towards `live`'s candidate, if any.
fn in_flight(record: Option<&Record>, live: Env) -> Option<&Flight> {
    record
        .filter(|r| r.live == live)
        .and_then(|r| r.flight.as_ref())
        .filter(|f| f.share > 0)
}

/// When `live` already holds all the traffic, what to say instead of writing.
fn nothing_to_roll_back(before: Option<Weights>, live: Env, from: &str) -> Option<String> {
    let cand = live.other();
    (before.and_then(|w| w.share_of(cand)) == Some(0)).then(|| {
        format!(
            "nothing to roll back: {live} already holds all the traffic ({}; live per {from}). Going back to {cand} is a new cutover the other way: `cutover rollback --to {cand}`",
            before.map(|w| w.to_string()).unwrap_or_default()
        )
    })
}

/// The rollback as the engine takes it: the candidate to 0, with no lease to check.
fn rollback_order(
    config: &Config,
    live: Env,
    before: Option<Weights>,
    driver: Option<String>,
    target_chosen: bool,
) -> WriteOrder {
    WriteOrder {
        id: 1,
        share: 0,
        live,
        rollback: true,
        action: WriteAction::Rollback,
        source: "cli".into(),
        before,
        candidate: CandidateSnapshot::default(),
        reason: None,
        driver,
        window_ms: config.rollback_window.as_millis() as u64,
        lease_token: None,
        target_chosen,
        expect: None,
        notes: Vec::new(),
        schema: None,
        approval: None,
        rules: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_000_000;

    fn record(live: Env) -> Record {
        Record::new(live, "alice@h", NOW - 60_000)
    }

    #[test]
    fn the_target_is_to_else_config_else_record_else_all_the_traffic() {
        let split = Some(Weights::new(50, 50));
        let rec = Record {
            pos: 50,
            ..record(Env::Green)
        };
        assert_eq!(
            rollback_target(Some(Env::Blue), Some(Env::Green), Some(&rec), split, NOW),
            Ok((Env::Blue, "--to"))
        );
        assert_eq!(
            rollback_target(None, Some(Env::Blue), Some(&rec), split, NOW),
            Ok((Env::Blue, "`live` in the config"))
        );
        assert_eq!(
            rollback_target(None, None, Some(&rec), split, NOW),
            Ok((Env::Green, "the cutover record at the backend"))
        );
        assert_eq!(
            rollback_target(None, None, None, Some(Weights::new(0, 100)), NOW),
            Ok((Env::Green, "it holds all the traffic"))
        );
    }

    #[test]
    fn a_record_the_traffic_contradicts_names_no_target() {
        // Rewritten to say green is live at 50 % after a rollback put everything on blue.
        let forged = Record {
            pos: 50,
            ..record(Env::Green)
        };
        let all_blue = Some(Weights::new(100, 0));
        let said = rollback_target(None, None, Some(&forged), all_blue, NOW).unwrap_err();
        assert!(
            said.starts_with(
                "the cutover record says green is live with blue at 50 % (started by alice@h), but the backend reads blue at 100 % (blue 100 / green 0): the record does not agree with the traffic and is not followed; pass --to blue or --to green"
            ),
            "{said}"
        );
        assert_eq!(
            rollback_target(Some(Env::Blue), None, Some(&forged), all_blue, NOW),
            Ok((Env::Blue, "--to"))
        );
    }

    #[test]
    fn a_split_with_no_record_is_never_guessed() {
        // Not even with a clear majority.
        assert_eq!(
            rollback_target(None, None, None, Some(Weights::new(90, 10)), NOW),
            Err("traffic is split (blue 90 / green 10) and no cutover record names the live env; pass --to blue or --to green to say where ALL traffic goes".into())
        );
        assert_eq!(
            rollback_target(None, None, None, None, NOW),
            Err("the backend's traffic state could not be read and no cutover record names the live env; pass --to blue or --to green to say where ALL traffic goes".into())
        );
    }

    #[test]
    fn a_record_that_disagrees_is_warned_about() {
        let rec = record(Env::Green);
        assert!(target_warnings(None, Some(Env::Blue), Some(Env::Blue), Env::Blue).is_empty());
        assert!(target_warnings(Some(&rec), Some(Env::Green), None, Env::Green).is_empty());
        assert!(target_warnings(Some(&rec), None, Some(Env::Green), Env::Green).is_empty());
        assert_eq!(
            target_warnings(Some(&rec), Some(Env::Blue), None, Env::Blue),
            [
                "the cutover record says green is live (started by alice@h), but `live` in the config says blue: the config wins; pass --to to say otherwise"
            ]
        );
        // With --to, only the override is said, whatever the config says.
        assert_eq!(
            target_warnings(Some(&rec), Some(Env::Blue), Some(Env::Blue), Env::Blue),
            [
                "the cutover record says green is live; --to blue overrides it: once the rollback reads back, the record names blue as live"
            ]
        );
    }

    #[test]
    fn a_forward_write_in_flight_is_one_towards_the_targets_candidate() {
        let stepping = record(Env::Blue).with_flight("9-1", 50, "a@h", "step", NOW);
        let f = in_flight(Some(&stepping), Env::Blue).expect("in flight");
        assert_eq!(f.share, 50);
        assert!(in_flight(Some(&stepping), Env::Green).is_none());
        let back_to_zero = record(Env::Blue).with_flight("9-2", 0, "a@h", "back", NOW);
        assert!(in_flight(Some(&back_to_zero), Env::Blue).is_none());
        assert!(in_flight(Some(&record(Env::Blue)), Env::Blue).is_none());
        assert!(in_flight(None, Env::Blue).is_none());
    }

    #[test]
    fn nothing_to_roll_back_only_when_live_holds_everything() {
        let said = nothing_to_roll_back(
            Some(Weights::new(100, 0)),
            Env::Blue,
            "`live` in the config",
        );
        assert_eq!(
            said.as_deref(),
            Some(
                "nothing to roll back: blue already holds all the traffic (blue 100 / green 0; live per `live` in the config). Going back to green is a new cutover the other way: `cutover rollback --to green`"
            )
        );
        assert_eq!(
            nothing_to_roll_back(Some(Weights::new(99, 1)), Env::Blue, "x"),
            None
        );
        assert_eq!(
            nothing_to_roll_back(Some(Weights::new(0, 100)), Env::Blue, "x"),
            None
        );
        assert_eq!(nothing_to_roll_back(None, Env::Blue, "x"), None);
    }

    #[test]
    fn the_rollback_order_sends_the_candidate_to_zero_without_a_lease() {
        let text =
            "rollback-window = \"2m\"\n[backend]\nkind = \"sim\"\ncontrol = \"in-process\"\n";
        let config = Config::parse(text, "test").unwrap();
        let before = Some(Weights::new(40, 60));
        let o = rollback_order(&config, Env::Green, before, Some("alice@h".into()), false);
        assert_eq!((o.live, o.share, o.rollback), (Env::Green, 0, true));
        assert_eq!((o.action.as_str(), o.source.as_str()), ("rollback", "cli"));
        assert_eq!(o.before, before);
        assert_eq!(o.driver.as_deref(), Some("alice@h"));
        assert_eq!(o.window_ms, 120_000);
        assert_eq!(
            o.lease_token, None,
            "a rollback is never gated by the lease"
        );
    }
}
