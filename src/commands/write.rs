//! `cutover set N`, `step`, `back` and `rollback`: the CLI's writes. Forward writes fail
//! closed (no journal, no lease, unknown live: no write) and ask for `--yes` where the
//! cockpit would ask; a rollback goes to `rollback.rs` and is never gated.

use super::EXIT_USAGE;
use super::report::{notify_cli, report_write, say_tail};
use super::rollback::rollback_cli;
use super::snapshot::{snapshot, snapshot_of};
use super::wiring::{connect, cutover_for, journal_for, load_config};
use crate::app::engine::{self, WriteOrder};
use crate::app::journal::{CandidateSnapshot, Journal, Who, WriteAction};
use crate::app::lease::{self, Me, Standing};
use crate::app::words::{hhmm, reason_text, refusal_text, rule_text};
use crate::backends::{BackendError, Switch};
use crate::cli::Cli;
use crate::config::Config;
use crate::core::guardrail::{RuleResult, any_breach};
use crate::core::{
    Command as CoreCommand, ConfirmReason, Cutover, Decision, Doubts, Env, RuleCheck, Weights,
};
use crate::signals::SignalSource;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum WriteCmd {
    Set(u8),
    Step,
    Back,
    /// All traffic to the rollback target, or to the env given with `--to`.
    Rollback(Option<Env>),
}

/// Why a forward write does not go ahead: what stderr says, and whether it was the
/// command line's fault (exit 2) rather than the world's (exit 1).
#[derive(Debug, PartialEq, Eq)]
struct NotWriting {
    text: String,
    usage: bool,
}

impl NotWriting {
    fn failure(text: String) -> NotWriting {
        NotWriting { text, usage: false }
    }

    fn exit(self) -> ExitCode {
        err!("cutover: {}", self.text);
        if self.usage {
            ExitCode::from(EXIT_USAGE)
        } else {
            ExitCode::FAILURE
        }
    }
}

/// Runs one CLI write: the journal, the backend, then the rollback or (under the driver
/// lease, released after) the forward write.
pub(super) async fn write_cmd(cli: &Cli, cmd: WriteCmd, yes: bool) -> anyhow::Result<ExitCode> {
    let config = load_config(cli)?;
    if cli.read_only {
        err!("cutover: --read-only: not writing");
        return Ok(ExitCode::FAILURE);
    }
    let journal = match journal_for(cli, Some(&config), &config.name) {
        Ok(j) => Some(j),
        // Fail closed forward, open for a rollback: it goes ahead and says so.
        Err(e) if matches!(cmd, WriteCmd::Rollback(_)) => {
            err!("cutover: ROLLBACK NOT JOURNALED: {e:#}");
            None
        }
        Err(e) => {
            err!("cutover: not writing: {e:#}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let (backend, sources) = connect(cli, &config).await?;
    let who = Who::current();
    if let WriteCmd::Rollback(to) = cmd {
        // Never gated: no lease round trip before the write.
        return rollback_cli(&config, journal.as_ref(), &backend, &who, to).await;
    }
    let journal = journal.expect("a forward write has its journal");
    // Forward writes go through the driver lease, and fail closed without it.
    let me = Me::new(&who.user, config.lease_ttl.as_millis() as u64);
    let standing = tokio::time::timeout(
        config.poll_timeout,
        lease::acquire(backend.as_ref(), &me, lease::wall_ms()),
    )
    .await
    .ok();
    if let Some(refused) = lease_refusal(standing, &backend.lease_place(), config.poll_timeout) {
        return Ok(refused.exit());
    }
    let code = write_held(&config, &journal, &backend, &sources, &who, &me, (cmd, yes)).await;
    let _ = tokio::time::timeout(config.poll_timeout, lease::release(backend.as_ref(), &me)).await;
    code
}

/// Why the driver lease as taken (`None`: it did not answer within `timeout`) refuses a
/// forward write; `None` when it is ours.
fn lease_refusal(
    standing: Option<Result<Standing, BackendError>>,
    place: &str,
    timeout: Duration,
) -> Option<NotWriting> {
    let text = match standing {
        Some(Ok(Standing::Mine(_))) => return None,
        Some(Ok(Standing::Theirs(l))) => format!(
            "not writing: {} drives this cutover since {} (lease at {place}, renewed until {}); ask them, or take over in the cockpit with T. `cutover rollback` is never refused.",
            l.holder,
            hhmm(l.since),
            hhmm(l.expires)
        ),
        Some(Ok(Standing::Free)) => "not writing: the driver lease could not be taken".into(),
        Some(Err(e)) => format!(
            "not writing: the driver lease could not be taken at {place}: {e}. `cutover rollback` still works."
        ),
        None => format!(
            "not writing: the driver lease at {place} did not answer within {}. `cutover rollback` still works.",
            crate::shared::seconds_text(timeout.as_secs_f64())
        ),
    };
    Some(NotWriting::failure(text))
}

/// A CLI forward write once the lease is ours.
/// Why no env is live by what was read: a record the traffic contradicts, or a split
/// nothing names.
fn live_unknown(snap: &super::snapshot::Snapshot, before: Weights) -> String {
    match snap.record.as_ref().ok().and_then(Option::as_ref) {
        Some(r) => format!(
            "{}; nothing moves forward on it (`cutover rollback --to ENV` says where all traffic goes and replaces it)",
            r.disagreement(before)
        ),
        None => format!(
            "traffic is {} ({before}) and no cutover record names the live env; set `live` in the config",
            before.split_words()
        ),
    }
}

async fn write_held(
    config: &Config,
    journal: &Arc<Journal>,
    backend: &Arc<dyn Switch>,
    sources: &[Arc<dyn SignalSource>],
    who: &Who,
    me: &Me,
    (cmd, yes): (WriteCmd, bool),
) -> anyhow::Result<ExitCode> {
    // `set 0` takes traffic off the candidate: nothing the feeds say could hold it back, so
    // none is asked (the write goes out one poll sooner).
    let sources = if cmd == WriteCmd::Set(0) {
        &[]
    } else {
        sources
    };
    let mut snap = snapshot(config, backend.as_ref(), sources).await;
    let before = match &snap.weights {
        Ok(w) => *w,
        Err(e) => {
            err!("cutover: cannot read the traffic state: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let Some((live, _)) = snap.live else {
        err!("cutover: live env unknown: {}", live_unknown(&snap, before));
        return Ok(ExitCode::FAILURE);
    };
    let cand = live.other();
    let interval = config.poll_interval.as_millis() as u64;
    let provided = crate::core::Provided::any(sources.iter().map(|s| s.provides()));
    // At 0 % nothing can have judged the candidate on traffic: then only feeds that do not
    // answer leave it unjudged (the cockpit's pre-flight item).
    let serving = before.share_of(cand).is_some_and(|s| s > 0);
    let judge = |snap: &super::snapshot::Snapshot| {
        let at = crate::core::Judging {
            now: snap.clock.now(),
            interval,
            provided,
        };
        let mut results =
            config
                .guardrails
                .evaluate(snap.signals.get(cand), snap.signals.get(live), at);
        super::snapshot::settle_look(config, snap, &mut results, (cand, at, serving));
        results
    };
    let mut results = judge(&snap);
    if snap.short_look && serving && waits_for_evidence(&results) {
        match sample_until_told(config, (backend, me), sources, &mut snap, &judge, cand).await {
            Ok(told) => results = told,
            Err(refused) => return Ok(refused.exit()),
        }
    }
    let at = crate::core::Judging {
        now: snap.clock.now(),
        interval,
        provided,
    };
    let now = snap.clock.now();
    let unjudged = if serving {
        crate::core::judged::unjudged(&results, cand)
    } else {
        crate::core::judged::not_judgeable(
            snap.signals.get(cand),
            at.provided,
            (now, interval),
            cand,
        )
    };
    let mut doubted = Doubted::of(&results, unjudged, &snap.poll_errors);
    doubted.doubts.hold = bake_hold(config, &snap, before.share_of(cand));
    // The first step away from 0 % has the cockpit's pre-flight: smoke, both envs up.
    if before.share_of(cand) == Some(0) && leaves_zero(cmd) {
        doubted.preflight = preflight_cli(config, &snap, sources, (cand, live)).await;
    }
    let mut cutover = cutover_for(config, live, backend.capabilities());
    cutover.share = before.share_of(cand);
    let (share, action, overrode) = match choose_share(&cutover, cmd, &doubted, yes, backend.kind())
    {
        Ok(chosen) => chosen,
        Err(refused) => return Ok(refused.exit()),
    };
    let mut candidate = snapshot_of(&snap.signals, cand, (snap.clock.now(), interval));
    candidate.stale |= doubted.doubts.stale;
    let mut order = forward_order(config, me, before, candidate, (live, share, action));
    // The schema the live env serves on: recorded if this write begins a cutover.
    order.schema = snap.schema_baseline();
    // A --yes over a breach, stale data or a candidate nothing judged is an override: the
    // journal's intent and result lines say what it overrode.
    order.reason = overrode.map(|over| {
        let from = before
            .share_of(cand)
            .map_or_else(|| "?".to_string(), |b| b.to_string());
        format!(
            "{} overrode the guardrails with --yes to {} {cand} {from} → {share} %: {over}",
            who.user, order.action
        )
    });
    if let Err(refused) = approval_first(
        config,
        (backend.as_ref(), journal),
        (me, who),
        &snap,
        &mut order,
    )
    .await
    {
        return Ok(refused.exit());
    }
    Ok(apply_and_say(config, (journal, backend.as_ref()), who, &order, before).await)
}

/// The write, then what became of it: on the terminal first, then the webhooks.
async fn apply_and_say(
    config: &Config,
    (journal, backend): (&Journal, &dyn Switch),
    who: &Who,
    order: &WriteOrder,
    before: Weights,
) -> ExitCode {
    let done = engine::apply(backend, journal, who, order).await;
    // Told after the write, never before it; said on the terminal first.
    let code = report_write(order, Some(before), &done.result);
    say_tail(backend, &done.result);
    notify_cli(config, who, order, &done.result).await;
    if let Some(e) = &done.journal_error {
        err!("cutover: warning: the result was not journaled: {e}");
    }
    if let Some(e) = &done.record_error {
        err!("cutover: warning: the cutover record was not updated: {e}");
    }
    code
}

/// A second person (`[approval]`, this config's or the record's): asked in the record and
/// waited for; the engine checks it again where the write begins.
async fn approval_first(
    config: &Config,
    (backend, journal): (&dyn Switch, &Journal),
    (me, who): (&Me, &Who),
    snap: &super::snapshot::Snapshot,
    order: &mut WriteOrder,
) -> Result<(), NotWriting> {
    let live = order.live;
    let recorded = match &snap.record {
        Ok(Some(r)) if r.live == live => r.rules.clone(),
        _ => Vec::new(),
    };
    let overrides = order.reason.is_some();
    let Some(need) = crate::core::approval::Rules::need(
        config.approval.as_ref(),
        &recorded,
        order.share,
        overrides,
    ) else {
        return Ok(());
    };
    let pos = order.expect.unwrap_or(0);
    super::approve::wait_for_approval(
        config,
        (backend, journal),
        (me, who),
        (live, need, order.share, pos),
    )
    .await
    .map_err(NotWriting::failure)?;
    order.approval = Some(need);
    Ok(())
}

/// `min-bake` from the last move recorded at the backend, whoever made it, while the
/// candidate serves a share short of 100 %.
fn bake_hold(
    config: &Config,
    snap: &super::snapshot::Snapshot,
    share: Option<u8>,
) -> Option<crate::core::Hold> {
    match (config.min_bake, super::snapshot::since_last_write(snap)) {
        (Some(bake), Some(ago)) if share.is_some_and(|s| s > 0 && s < 100) => {
            let left = (bake.as_millis() as u64).saturating_sub(ago);
            (left > 0).then_some(crate::core::Hold::Bake { left })
        }
        _ => None,
    }
}

/// A short look (HAProxy's counters a poll apart) that cannot yet tell the candidate's
/// error rate samples on, up to the window the cockpit judges over: never a verdict on a
/// second of traffic. The lease is held while sampling: renewed every third of its life,
/// as the cockpit does, so a sample longer than the lease never loses the seat.
async fn sample_until_told(
    config: &Config,
    (backend, me): (&Arc<dyn Switch>, &Me),
    sources: &[Arc<dyn SignalSource>],
    snap: &mut super::snapshot::Snapshot,
    judge: &dyn Fn(&super::snapshot::Snapshot) -> Vec<RuleResult>,
    cand: Env,
) -> Result<Vec<RuleResult>, NotWriting> {
    let mut results = judge(snap);
    let bound = super::wiring::signal_window(config);
    let t0 = std::time::Instant::now();
    err!(
        "cutover: {cand}'s error rate cannot be told yet ({}): sampling its counters for up to {} …",
        words_of_rules(&results),
        crate::shared::seconds_text(bound.as_secs_f64())
    );
    let renew_every = config.lease_ttl / 3;
    let mut renewed = std::time::Instant::now();
    while waits_for_evidence(&results) && t0.elapsed() + config.poll_interval <= bound {
        super::snapshot::resample(config, sources, snap).await;
        results = judge(snap);
        if renewed.elapsed() >= renew_every {
            let standing = tokio::time::timeout(
                config.poll_timeout,
                lease::acquire(backend.as_ref(), me, lease::wall_ms()),
            )
            .await
            .ok();
            if let Some(refused) =
                lease_refusal(standing, &backend.lease_place(), config.poll_timeout)
            {
                return Err(refused);
            }
            renewed = std::time::Instant::now();
        }
    }
    Ok(results)
}

/// Whether the error-rate rule waits for requests that would tell (too few to show OK, or
/// to be sure of a breach).
fn waits_for_evidence(results: &[RuleResult]) -> bool {
    results.iter().any(|r| {
        r.kind == crate::core::RuleKind::ErrorRate && matches!(r.check, RuleCheck::Waiting { .. })
    })
}

/// The waiting rules in words: "errors 0.00 % on 20 requests, 454 needed to tell".
fn words_of_rules(results: &[RuleResult]) -> String {
    results
        .iter()
        .filter_map(|r| match r.check {
            RuleCheck::Waiting { n, min } => Some(format!(
                "{} {} on {n} requests, {min} needed to tell",
                r.kind.name(),
                r.value
                    .map_or_else(|| "—".to_string(), |v| format!("{:.2} %", v * 100.0))
            )),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether `cmd` moves the candidate off 0 % when it is there.
fn leaves_zero(cmd: WriteCmd) -> bool {
    matches!(cmd, WriteCmd::Step | WriteCmd::Set(1..))
}

/// The pre-flight of a CLI step away from 0 %, as the cockpit's: the candidate up, a smoke
/// run passing now (when smoke checks or a source that smokes are configured), live up to
/// take the traffic back. (Fresh error & p99 data is the `unjudged` doubt.) The failing
/// items' words, `", "`-joined; empty when all hold. Said on stderr as it runs.
async fn preflight_cli(
    config: &Config,
    snap: &super::snapshot::Snapshot,
    sources: &[Arc<dyn SignalSource>],
    (cand, live): (Env, Env),
) -> String {
    use crate::core::Health;
    let interval = config.poll_interval.as_millis() as u64;
    let now = snap.clock.now();
    let health = |env: Env| {
        let h = snap.signals.get(env).health(now, interval);
        let detail = snap
            .signals
            .get(env)
            .health
            .as_ref()
            .map(|(s, _)| s.detail.clone());
        (h, detail.unwrap_or_else(|| "no health source".into()))
    };
    let mut failed = Vec::new();
    for (env, word) in [(cand, "healthy"), (live, "warm")] {
        match health(env) {
            (Health::Up, _) => {}
            (h, detail) => failed.push(format!("{env} not {word} ({}: {detail})", h.word())),
        }
    }
    // Straight back onto a release just rolled back (by anyone, as the record says).
    let window = super::wiring::signal_window(config).as_millis() as u64;
    let last = snap
        .record
        .as_ref()
        .ok()
        .and_then(Option::as_ref)
        .and_then(|r| r.last.as_ref());
    if let (Some(last), Some(ago)) = (last, super::snapshot::since_last_write(snap))
        && ago < window
        && WriteAction::from(last.action.as_str()).is_rollback()
    {
        failed.push(format!(
            "{} rolled back {} ago: the numbers from before still settle",
            last.who,
            crate::app::words::clock(ago)
        ));
    }
    let checks = (!config.smoke.is_empty())
        .then(|| crate::signals::smoke::HttpSmoke::new(config.smoke.clone()));
    if checks.is_some() || sources.iter().any(|s| s.can_smoke()) {
        err!("cutover: pre-flight: smoke checks against {cand} …");
        let report = crate::signals::smoke::smoke_now(checks.as_ref(), sources, cand).await;
        err!(
            "cutover: pre-flight: smoke {}: {}",
            if report.passed { "passed" } else { "FAILED" },
            report.summary
        );
        if !report.passed {
            failed.push(format!("smoke failed ({})", report.summary));
        }
    }
    failed.join(", ")
}

/// The doubts over a forward write, each with its words: what a `--yes` would override.
#[derive(Clone, Debug, Default, PartialEq)]
struct Doubted {
    doubts: Doubts,
    /// The pre-flight items that fail, on a step away from 0 % (empty: none, or not one).
    preflight: String,
    /// The rules in breach and their values ("errors 10.00 % > 1 %").
    breach: String,
    /// The signal sources that could not be read.
    stale: String,
    /// Why nothing has judged the candidate.
    unjudged: String,
}

impl Doubted {
    /// The doubts of one look: the guardrails' `results`, why nothing judged the candidate
    /// (if so), and the sources that could not be read (as good as stale).
    fn of(results: &[RuleResult], unjudged: Option<String>, poll_errors: &[String]) -> Doubted {
        let breaches: Vec<String> = results
            .iter()
            .filter(|r| r.check == RuleCheck::Breach)
            .map(rule_text)
            .collect();
        Doubted {
            doubts: Doubts {
                breach: any_breach(results),
                stale: !poll_errors.is_empty(),
                unjudged: unjudged.is_some(),
                hold: None,
            },
            preflight: String::new(),
            breach: breaches.join(", "),
            stale: poll_errors.join("; "),
            unjudged: unjudged.unwrap_or_default(),
        }
    }

    /// What `r` is about, when it is a doubt (a breach, stale data, nothing judged).
    fn detail(&self, r: ConfirmReason) -> Option<&str> {
        match r {
            ConfirmReason::Breach => Some(&self.breach),
            ConfirmReason::Stale => Some(&self.stale),
            ConfirmReason::Unjudged => Some(&self.unjudged),
            ConfirmReason::Preflight => Some(&self.preflight),
            _ => None,
        }
    }
}

/// The share `cmd` moves the candidate to, the action's name, and what a `--yes` overrode
/// (a breach, stale data, a candidate nothing judged: `None` when none), as the cutover
/// decides it with the `doubted` look. The CLI's explicit `set N` is its own confirmation
/// of a jump; a promotion and every doubt still need `--yes` (exit 2 without it, saying
/// which). A refusal (nothing to step to, flip-only) exits 1.
fn choose_share(
    cutover: &Cutover,
    cmd: WriteCmd,
    doubted: &Doubted,
    yes: bool,
    backend_kind: &str,
) -> Result<(u8, WriteAction, Option<String>), NotWriting> {
    let (core_cmd, action) = match cmd {
        WriteCmd::Set(p) => (CoreCommand::Jump(p), WriteAction::Set),
        WriteCmd::Step => (CoreCommand::StepForward, WriteAction::Step),
        WriteCmd::Back => (CoreCommand::StepBack, WriteAction::Back),
        WriteCmd::Rollback(_) => unreachable!("rollback_cli"),
    };
    let with = |r: ConfirmReason, detail: Option<&str>| match detail {
        Some(d) if !d.is_empty() => format!("{}: {d}", reason_text(r)),
        _ => reason_text(r).to_string(),
    };
    let mut decision = cutover.decide(core_cmd, doubted.doubts);
    // A failed pre-flight turns a move off 0 % into a confirm, as in the cockpit.
    if !doubted.preflight.is_empty() {
        decision = decision.asking_first(ConfirmReason::Preflight);
    }
    match decision {
        Decision::Apply { share, .. } => Ok((share, action, None)),
        Decision::Confirm { share, reasons } => {
            let needs: Vec<_> = reasons
                .iter()
                .filter(|r| **r != ConfirmReason::Jump)
                .map(|r| with(*r, doubted.detail(*r)))
                .collect();
            if !needs.is_empty() && !yes {
                return Err(NotWriting {
                    text: format!(
                        "{action} to {share} % needs --yes: {}",
                        needs.join("; and ")
                    ),
                    usage: true,
                });
            }
            let over: Vec<_> = reasons
                .iter()
                .filter_map(|r| doubted.detail(*r).map(|d| with(*r, Some(d))))
                .collect();
            Ok((share, action, (!over.is_empty()).then(|| over.join("; "))))
        }
        Decision::Refused(r) => Err(NotWriting::failure(format!(
            "nothing to do: {}",
            refusal_text(r, cutover.candidate(), backend_kind)
        ))),
        Decision::Pause(_) => unreachable!("no pause from the CLI"),
    }
}

/// The forward write as the engine takes it, made under this process's lease; a move to
/// 100 % is a promotion.
fn forward_order(
    config: &Config,
    me: &Me,
    before: Weights,
    candidate: CandidateSnapshot,
    (live, share, action): (Env, u8, WriteAction),
) -> WriteOrder {
    WriteOrder {
        id: 1,
        share,
        live,
        rollback: false,
        action: if share == 100 {
            WriteAction::Promote
        } else {
            action
        },
        source: "cli".into(),
        before: Some(before),
        candidate,
        reason: None,
        driver: None,
        window_ms: config.rollback_window.as_millis() as u64,
        lease_token: Some(me.token.clone()),
        target_chosen: false,
        expect: before.share_of(live.other()),
        notes: Vec::new(),
        schema: None,
        approval: None,
        rules: config
            .approval
            .as_ref()
            .map(|r| r.required_for.clone())
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Lease, Plan};

    /// Blue live, green at `share`, on the default plan (10, 50, 100).
    fn at(share: Option<u8>) -> Cutover {
        let mut c = Cutover::new(Env::Blue, Plan::default(), 60_000);
        c.share = share;
        c
    }

    type Chosen = Result<(u8, WriteAction, Option<String>), NotWriting>;

    fn refused(text: &str) -> Chosen {
        Err(NotWriting::failure(text.into()))
    }

    fn needs_yes(text: &str) -> Chosen {
        Err(NotWriting {
            text: text.into(),
            usage: true,
        })
    }

    fn calm() -> Doubted {
        Doubted::default()
    }

    fn doubts(breach: bool, stale: bool) -> Doubted {
        Doubted {
            doubts: Doubts {
                breach,
                stale,
                ..Doubts::default()
            },
            ..Doubted::default()
        }
    }

    #[test]
    fn step_back_and_set_follow_the_plan() {
        assert_eq!(
            choose_share(&at(Some(0)), WriteCmd::Step, &calm(), false, "sim"),
            Ok((10, WriteAction::Step, None))
        );
        assert_eq!(
            choose_share(&at(Some(50)), WriteCmd::Back, &calm(), false, "sim"),
            Ok((10, WriteAction::Back, None))
        );
        // `set N` is its own confirmation of a jump, up or down, and overrides nothing.
        assert_eq!(
            choose_share(&at(Some(0)), WriteCmd::Set(30), &calm(), false, "sim"),
            Ok((30, WriteAction::Set, None))
        );
        assert_eq!(
            choose_share(&at(Some(50)), WriteCmd::Set(5), &calm(), false, "sim"),
            Ok((5, WriteAction::Set, None))
        );
    }

    #[test]
    fn promotion_and_a_breach_need_yes_and_are_usage_errors_without() {
        let promote = "set to 100 % needs --yes: sends ALL traffic to the candidate and starts the rollback window";
        assert_eq!(
            choose_share(&at(Some(50)), WriteCmd::Set(100), &calm(), false, "sim"),
            needs_yes(promote)
        );
        // A confirmed promotion over calm signals is no override.
        assert_eq!(
            choose_share(&at(Some(50)), WriteCmd::Set(100), &calm(), true, "sim"),
            Ok((100, WriteAction::Set, None))
        );
        let both = doubts(true, true);
        assert_eq!(
            choose_share(&at(Some(0)), WriteCmd::Step, &both, false, "sim"),
            needs_yes(
                "step to 10 % needs --yes: the candidate is BREACHING a guardrail; and the candidate's data is STALE: this step would be taken blind"
            )
        );
        assert_eq!(
            choose_share(
                &at(Some(0)),
                WriteCmd::Step,
                &doubts(true, false),
                true,
                "sim"
            ),
            Ok((
                10,
                WriteAction::Step,
                Some("the candidate is BREACHING a guardrail".into())
            ))
        );
        let exit = needs_yes("x").unwrap_err().exit();
        assert_eq!(
            format!("{exit:?}"),
            format!("{:?}", ExitCode::from(EXIT_USAGE))
        );
    }

    #[test]
    fn the_refusal_and_the_override_name_the_breach_and_the_unread_sources() {
        let results = [
            RuleResult {
                kind: crate::core::RuleKind::ErrorRate,
                check: RuleCheck::Breach,
                value: Some(0.036),
                limit: 0.01,
            },
            RuleResult {
                kind: crate::core::RuleKind::P99,
                check: RuleCheck::NoData,
                value: None,
                limit: 2000.0,
            },
        ];
        let errors = ["prometheus: timed out".to_string()];
        let doubted = Doubted::of(&results, None, &errors);
        assert!(doubted.doubts.breach && doubted.doubts.stale && !doubted.doubts.unjudged);
        let said = "the candidate is BREACHING a guardrail: errors 3.60 % > 1 %; and the candidate's data is STALE: this step would be taken blind: prometheus: timed out";
        assert_eq!(
            choose_share(&at(Some(50)), WriteCmd::Set(90), &doubted, false, "haproxy"),
            needs_yes(&format!("set to 90 % needs --yes: {said}"))
        );
        assert_eq!(
            choose_share(&at(Some(50)), WriteCmd::Set(90), &doubted, true, "haproxy"),
            Ok((90, WriteAction::Set, Some(said.replace("; and ", "; "))))
        );
        // Calm: nothing to override.
        let ok = [RuleResult {
            check: RuleCheck::Ok,
            ..results[0].clone()
        }];
        assert_eq!(Doubted::of(&ok, None, &[]), calm());
    }

    #[test]
    fn a_candidate_nothing_judged_needs_yes_and_says_why() {
        let why = "no error or latency data for green: nothing has judged it";
        let unjudged = Doubted {
            doubts: Doubts {
                unjudged: true,
                ..Doubts::default()
            },
            unjudged: why.into(),
            ..Doubted::default()
        };
        let said =
            format!("NOTHING HAS JUDGED the candidate: stepping on is a journaled override: {why}");
        assert_eq!(
            choose_share(&at(Some(0)), WriteCmd::Set(50), &unjudged, false, "nginx"),
            needs_yes(&format!("set to 50 % needs --yes: {said}"))
        );
        assert_eq!(
            choose_share(&at(Some(0)), WriteCmd::Set(50), &unjudged, true, "nginx"),
            Ok((50, WriteAction::Set, Some(said)))
        );
    }

    #[test]
    fn nothing_to_do_is_a_failure_not_a_usage_error() {
        assert_eq!(
            choose_share(&at(Some(0)), WriteCmd::Back, &calm(), false, "sim"),
            refused("nothing to do: green already at 0 %")
        );
        assert_eq!(
            choose_share(&at(Some(100)), WriteCmd::Step, &calm(), false, "sim"),
            refused("nothing to do: green already at 100 %: nothing to step to")
        );
        assert_eq!(
            choose_share(&at(None), WriteCmd::Step, &calm(), false, "sim"),
            refused("nothing to do: share unknown: waiting for the backend to answer")
        );
        let flip = at(Some(0)).flip_only();
        assert_eq!(
            choose_share(&flip, WriteCmd::Set(50), &calm(), true, "alb"),
            refused(
                "nothing to do: 50 % refused: alb switches all traffic at once, so steps are not available; promote to 100 % or roll back to 0 %"
            )
        );
        let exit = refused("x").unwrap_err().exit();
        assert_eq!(format!("{exit:?}"), format!("{:?}", ExitCode::FAILURE));
    }

    #[test]
    fn only_our_own_lease_lets_a_forward_write_through() {
        let place = "haproxy 127.0.0.1:9999";
        let t = Duration::from_millis(2_500);
        let mine = Lease::new("me@here", "tok", 0, 60_000);
        assert_eq!(
            lease_refusal(Some(Ok(Standing::Mine(mine))), place, t),
            None
        );
        let theirs = Lease::new("alice@bastion", "tok", 0, 60_000);
        let said = lease_refusal(Some(Ok(Standing::Theirs(theirs))), place, t).unwrap();
        assert!(!said.usage);
        assert!(
            said.text
                .starts_with("not writing: alice@bastion drives this cutover since "),
            "{}",
            said.text
        );
        assert!(
            said.text
                .contains("(lease at haproxy 127.0.0.1:9999, renewed until ")
        );
        assert!(said.text.ends_with("`cutover rollback` is never refused."));
        assert_eq!(
            lease_refusal(Some(Ok(Standing::Free)), place, t),
            Some(NotWriting::failure(
                "not writing: the driver lease could not be taken".into()
            ))
        );
        let e = BackendError::Rejected {
            target: "haproxy".into(),
            message: "permission denied".into(),
        };
        assert_eq!(
            lease_refusal(Some(Err(e)), place, t).map(|n| n.text),
            Some("not writing: the driver lease could not be taken at haproxy 127.0.0.1:9999: haproxy refused: permission denied. `cutover rollback` still works.".into())
        );
        assert_eq!(
            lease_refusal(None, place, t).map(|n| n.text),
            Some("not writing: the driver lease at haproxy 127.0.0.1:9999 did not answer within 2.5 s. `cutover rollback` still works.".into())
        );
    }

    #[test]
    fn a_forward_order_carries_our_lease_and_names_a_promotion() {
        let text =
            "rollback-window = \"5m\"\n[backend]\nkind = \"sim\"\ncontrol = \"in-process\"\n";
        let config = Config::parse(text, "test").unwrap();
        let me = Me::new("me@here", 60_000);
        let before = Weights::new(50, 50);
        let o = forward_order(
            &config,
            &me,
            before,
            CandidateSnapshot::default(),
            (Env::Blue, 50, WriteAction::Set),
        );
        assert_eq!((o.share, o.live, o.rollback), (50, Env::Blue, false));
        assert_eq!(o.action, WriteAction::Set);
        assert_eq!(o.before, Some(before));
        assert_eq!(o.lease_token.as_deref(), Some(me.token.as_str()));
        assert_eq!(o.window_ms, 300_000);
        let o = forward_order(
            &config,
            &me,
            before,
            CandidateSnapshot::default(),
            (Env::Blue, 100, WriteAction::Step),
        );
        assert_eq!(o.action, WriteAction::Promote);
    }
}
