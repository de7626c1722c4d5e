//! The runner's hands: each `Effect` of an update turned into a task or a call — a write
//! handed to the writer, a webhook, a smoke run, a change of the cutover record, a journal
//! line for what is not a write (the window's end, a change made elsewhere, a note).

use crate::app::engine;
use crate::app::journal::Phase;
use crate::app::notify::Notice;
use crate::app::runner::Setup;
use crate::app::state::State;
use crate::app::update::{ApprovalDone, Effect, Event, RecordOp};
use tokio::sync::mpsc;

/// Runs the effects of one update.
pub(super) fn run_effects(
    setup: &Setup,
    effects: Vec<Effect>,
    writer: Option<&mpsc::UnboundedSender<engine::WriteOrder>>,
    take_over: &mpsc::UnboundedSender<()>,
    notifier: &mpsc::UnboundedSender<Notice>,
    tx: &mpsc::Sender<Event>,
    state: &State,
) {
    for effect in effects {
        match effect {
            Effect::Notify { event, text } => {
                if !setup.hooks.is_empty() {
                    let _ = notifier.send(Notice {
                        event,
                        text,
                        cutover: state.settings.name.clone(),
                        who: setup.who.user.clone(),
                    });
                }
            }
            Effect::Write(order) => match writer {
                Some(w) => {
                    if w.send(order).is_err() {
                        log::error!("writer stopped");
                    }
                }
                None => log::error!("read-only: write #{} not sent", order.id),
            },
            Effect::TakeOver => {
                let _ = take_over.send(());
            }
            Effect::Smoke(env) => spawn_smoke(setup, env, tx),
            Effect::Record(op) => record_op(setup, op, tx),
            Effect::JournalLate {
                write,
                after,
                reason,
            } => {
                journal_event_of(
                    setup,
                    state,
                    write,
                    Phase::Late,
                    state.live(),
                    None,
                    Some(after),
                    Some(reason),
                );
            }
            Effect::JournalComplete { new_live } => {
                journal_event(
                    setup,
                    state,
                    Phase::Complete,
                    new_live,
                    state.traffic.weights,
                    None,
                    None,
                );
            }
            Effect::JournalExternal { before, after } => {
                journal_event(
                    setup,
                    state,
                    Phase::External,
                    state.live(),
                    before,
                    Some(after),
                    None,
                );
            }
            Effect::JournalNote { phase, reason } => {
                journal_event(
                    setup,
                    state,
                    phase,
                    state.live(),
                    state.traffic.weights,
                    state.traffic.weights,
                    Some(reason),
                );
            }
        }
    }
}

/// Journals something that is not a write of this cutover: the end of the rollback window
/// (`complete`) or a change made behind its back (`external`).
pub(super) fn journal_event(
    setup: &Setup,
    state: &State,
    phase: Phase,
    live: crate::core::Env,
    before: Option<crate::core::Weights>,
    after: Option<crate::core::Weights>,
    reason: Option<String>,
) {
    journal_event_of(setup, state, 0, phase, live, before, after, reason);
}

/// The same, about write number `id` of this cutover (a late landing names its write).
#[allow(clippy::too_many_arguments)]
fn journal_event_of(
    setup: &Setup,
    state: &State,
    id: u64,
    phase: Phase,
    live: crate::core::Env,
    before: Option<crate::core::Weights>,
    after: Option<crate::core::Weights>,
    reason: Option<String>,
) {
    // The signals of the env that matters now: the new live one when a window completes.
    let snapshot = if phase == Phase::Complete {
        state.snapshot_of(live)
    } else {
        state.candidate_snapshot()
    };
    let source = if phase == Phase::External {
        "backend"
    } else {
        "tui"
    };
    let order = engine::WriteOrder {
        id,
        before,
        candidate: snapshot,
        reason,
        ..engine::WriteOrder::note(live, &phase, source)
    };
    let mut e = engine::entry(&order, setup.backend.as_ref(), phase, &setup.who);
    e.target = None;
    e.share_target = None;
    e.after = after;
    e.share_after = after.and_then(|w| w.share_of(live.other()));
    if let Err(err) = setup.journal.append(&e) {
        log::error!("journal: {err}");
    }
}

/// Runs a change of the cutover record in its own task; a failure comes back as an event.
fn record_op(setup: &Setup, op: RecordOp, tx: &mpsc::Sender<Event>) {
    let Some(sw) = setup.switch.clone() else {
        return;
    };
    if matches!(
        op,
        RecordOp::Ask { .. } | RecordOp::Answer { .. } | RecordOp::Withdraw { .. }
    ) {
        approval_op(setup, sw, op, tx);
        return;
    }
    let (t, clock, timeout) = (tx.clone(), setup.clock, setup.poll_timeout);
    tokio::spawn(async move {
        let run = async {
            match &op {
                RecordOp::Complete { old_live } => {
                    super::record::complete(sw.as_ref(), *old_live).await
                }
                RecordOp::WindowEnd { live, end } => {
                    super::record::set_end(sw.as_ref(), *live, *end).await
                }
                RecordOp::Restore(r) => sw
                    .swap(crate::backends::Slot::Record, None, Some(&r.encode()))
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
                RecordOp::Ask { .. } | RecordOp::Answer { .. } | RecordOp::Withdraw { .. } => {
                    Ok(())
                }
            }
        };
        let result = match tokio::time::timeout(timeout, run).await {
            Ok(Ok(())) => return,
            Ok(Err(e)) => e,
            Err(_) => "no answer".to_string(),
        };
        let _ = t
            .send(Event::RecordRead {
                now: clock.now(),
                result: Err(format!("not updated ({op:?}): {result}")),
            })
            .await;
    });
}

/// A change of the record for a second person, in its own task; what became of it comes
/// back as an event, whatever it was.
fn approval_op(
    setup: &Setup,
    sw: std::sync::Arc<dyn crate::backends::Switch>,
    op: RecordOp,
    tx: &mpsc::Sender<Event>,
) {
    let (t, clock, timeout) = (tx.clone(), setup.clock, setup.poll_timeout);
    let who = setup.who.user.clone();
    tokio::spawn(async move {
        let now = super::lease::wall_ms();
        let bounded = |r: Result<Result<(), String>, tokio::time::error::Elapsed>| {
            r.unwrap_or_else(|_| {
                Err("the store did not answer in time: whether it was written is unknown".into())
            })
        };
        let done = match op {
            RecordOp::Ask {
                live,
                need,
                share,
                pos,
                until,
                rules,
            } => {
                let run = super::record::ask(
                    sw.as_ref(),
                    live,
                    (need, share, pos),
                    (&who, &rules),
                    (now, until),
                );
                let result =
                    bounded(tokio::time::timeout(timeout, async { run.await.map(|_| ()) }).await);
                ApprovalDone::Asked { until, result }
            }
            RecordOp::Answer {
                seen,
                approve,
                reason,
            } => {
                let run = super::record::answer(
                    sw.as_ref(),
                    Some(&seen),
                    &who,
                    (approve, reason.as_deref()),
                    now,
                );
                let result =
                    bounded(tokio::time::timeout(timeout, async { run.await.map(|_| ()) }).await);
                ApprovalDone::Answered {
                    approve,
                    ask: seen,
                    reason,
                    result,
                }
            }
            RecordOp::Withdraw { until } => {
                let result = bounded(
                    tokio::time::timeout(timeout, super::record::withdraw(sw.as_ref(), until))
                        .await,
                );
                ApprovalDone::Withdrawn { result }
            }
            _ => return,
        };
        let _ = t
            .send(Event::Approval {
                now: clock.now(),
                done,
            })
            .await;
    });
}

/// Smoke checks against `env` in their own task: the `[[smoke]]` checks, else a source that
/// can smoke; the report comes back as an event.
fn spawn_smoke(setup: &Setup, env: crate::core::Env, tx: &mpsc::Sender<Event>) {
    let (t, clock) = (tx.clone(), setup.clock);
    let (checks, sources) = (setup.smoke.clone(), setup.sources.clone());
    tokio::spawn(async move {
        let report = crate::signals::smoke::smoke_now(checks.as_deref(), &sources, env).await;
        let _ = t
            .send(Event::SmokeDone {
                now: clock.now(),
                report,
            })
            .await;
    });
}
